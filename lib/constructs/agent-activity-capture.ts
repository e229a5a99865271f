/**
 * AgentActivityCapture: keeps EventBridge rules that bring in every CloudTrail call of the
 * watched principals (AI agents and model callers that may be agents), whatever the service.
 *
 * The classifier marks a principal as watched; the change feed publishes `Principal Watched`
 * on the domain event bus, and a rule there queues a sync request on a FIFO queue with one
 * message group, which the sync function drains one batch at a time (so two runs never race on
 * the same rules, with no reserved concurrency); an hourly request repairs drift. The sync
 * rewrites this deployment's rules (named `<stack>-agents-*`) from the whole watched set
 * (lambdas/shared/agent-capture.ts), sized for the account's event-pattern quota. A custom
 * resource removes them when the stack is deleted. The rules deliver to the same capture queue
 * as the static rules.
 */
import { ArnFormat, CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { houseQueue } from './house-queue';
import { Construct } from 'constructs';
import { AGENT_CAPTURE_SYNC_ENVIRONMENT, AGENT_CAPTURE_SYNC_SERVICE } from '../../lambdas/agent-capture-sync/environment';
import { createHash } from 'node:crypto';
import { AGENT_RULE_SUFFIX_CHARS, DEFAULT_PATTERN_QUOTA, MAX_RULE_NAME } from '../../lambdas/core/constants';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../../lambdas/core/events';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { ruleResourceName, type AiActivityCapture } from './ai-activity-capture';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import { nagArn } from './nag';
import type { AiInventoryTable } from './inventory-table';

export interface AgentActivityCaptureProps extends HouseFunctionOptions {
  readonly inventory: AiInventoryTable;
  /** The capture rules and queue: agent rules live on the same bus and deliver to the same queue. */
  readonly capture: AiActivityCapture;
  /** The bus the change feed publishes domain events on: `Principal Watched` starts a sync. */
  readonly domainEvents: events.IEventBus;
  /** How often the rules are rebuilt from scratch, besides on every new watched principal. @default 1 hour */
  readonly repairEvery?: Duration;
  /** The account's EventBridge event-pattern size quota (2,048 unless raised, at most 4,096). @default 2,048 */
  readonly eventPatternQuota?: number;
  /** Deliveries of a sync request before it goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

/**
 * The rule-name prefix of one deployment: its stack name, so two stacks in one account and
 * region never touch each other's rules. Names longer than a rule name allows are cut and given
 * a hash of the whole name, so they stay distinct.
 */
export function agentRulePrefix(stackName: string): string {
  const clean = stackName.replace(/[^A-Za-z0-9_.-]/g, '-');
  const room = MAX_RULE_NAME - AGENT_RULE_SUFFIX_CHARS - '-agents-'.length;
  const base = clean.length <= room ? clean : `${clean.slice(0, room - 9)}-${createHash('sha256').update(stackName).digest('hex').slice(0, 8)}`;
  return `${base}-agents-`;
}

/** The one message group of the sync queue: every request waits for the run before it. */
export const SYNC_MESSAGE_GROUP = 'agent-capture-sync';

export class AgentActivityCapture extends Construct {
  readonly function: AiVisibilityFunction;
  /** Sync requests, one at a time. */
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Name prefix of this deployment's agent rules. */
  readonly rulePrefix: string;
  /** The hourly repair request (on the default bus). */
  readonly repairRule: events.Rule;

  constructor(scope: Construct, id: string, props: AgentActivityCaptureProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const table = props.inventory.table;
    this.rulePrefix = agentRulePrefix(stack.stackName);
    const timeout = Duration.minutes(2);
    this.deadLetterQueue = houseQueue(this, 'SyncDeadLetterQueue', props.encryptionKey, { fifo: true });
    this.queue = houseQueue(this, 'SyncQueue', props.encryptionKey, {
      fifo: true,
      // Each EventBridge event has its own id, so content-based deduplication never drops a distinct request.
      contentBasedDeduplication: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
    this.function = new AiVisibilityFunction(this, 'SyncFunction', {
      entry: handlerEntry('agent-capture-sync'),
      description: 'ai-visibility: keeps the agent capture rules in step with the watched principals',
      timeout,
      memorySize: 256,
      ...houseOptions(props),
      environment: environmentFor(AGENT_CAPTURE_SYNC_ENVIRONMENT, {
        ...houseEnvironment(AGENT_CAPTURE_SYNC_SERVICE),
        TABLE_NAME: table.tableName,
        EVENT_BUS_NAME: props.capture.eventBus.eventBusName,
        CAPTURE_QUEUE_ARN: props.capture.queue.queueArn,
        CAPTURE_DLQ_ARN: props.capture.deadLetterQueue.queueArn,
        AGENT_RULE_PREFIX: this.rulePrefix,
        EVENT_PATTERN_QUOTA: String(props.eventPatternQuota ?? DEFAULT_PATTERN_QUOTA),
      }),
    });

    props.inventory.grantWatchedRead(this.function);
    const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleResourceName(props.capture.eventBus, `${this.rulePrefix}*`), arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:PutRule', 'events:RemoveTargets', 'events:DeleteRule', 'events:ListTargetsByRule'], resources: [ruleArn] }));
    // Its rules may target the capture queue and nothing else (events:TargetArn, EventBridge condition keys).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['events:PutTargets'], resources: [ruleArn], conditions: { ArnEquals: { 'events:TargetArn': [props.capture.queue.queueArn] } } }),
    );
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:ListRules'], resources: ['*'] }));
    props.capture.allowRulesNamed(`${this.rulePrefix}*`);

    const syncRequests = new targets.SqsQueue(this.queue, { messageGroupId: SYNC_MESSAGE_GROUP, retryAttempts: 185, maxEventAge: Duration.hours(24), deadLetterQueue: props.capture.deadLetterQueue });
    new events.Rule(this, 'OnPrincipalWatched', {
      description: 'ai-visibility: sync the agent capture rules when a principal is first watched',
      eventBus: props.domainEvents,
      eventPattern: { source: [DOMAIN_EVENT_SOURCE], detailType: [DETAIL_TYPES.principalWatched] },
      targets: [syncRequests],
    });
    this.repairRule = new events.Rule(this, 'Repair', {
      description: 'ai-visibility: rebuild the agent capture rules from the watched principals',
      schedule: events.Schedule.rate(props.repairEvery ?? Duration.hours(1)),
      targets: [syncRequests],
    });

    // Removes this deployment's rules on stack deletion. The queue's mapping depends on it, so
    // CloudFormation deletes the mapping first: no sync run recreates a rule after the removal.
    const cleanup = new CustomResource(this, 'RuleCleanup', { serviceToken: this.function.functionArn, resourceType: 'Custom::AgentCaptureRules', properties: { RulePrefix: this.rulePrefix } });
    const mapping = new lambda.EventSourceMapping(this, 'SyncRequests', { target: this.function, eventSourceArn: this.queue.queueArn, batchSize: 10 });
    this.queue.grantConsumeMessages(this.function);
    mapping.node.addDependency(cleanup);

    Validations.of(this.function.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(this, 'events', `rule/${ruleResourceName(props.capture.eventBus, `${this.rulePrefix}*`)}`)}]`,
      reason: 'The function owns every rule named with this prefix: it creates and deletes them as agents are discovered, so their names are not known at deploy time.',
    });
    Validations.of(this.function.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'events:ListRules and the X-Ray write actions support no resource-level permissions.',
    });
  }
}
