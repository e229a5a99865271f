/**
 * AgentActivityCapture: keeps EventBridge rules that bring in every CloudTrail call of the
 * watched principals (AI agents and model callers that may be agents), whatever the service.
 *
 * The classifier marks a principal as watched; the change feed publishes `Principal Watched`
 * on the domain event bus, and a rule there invokes the sync function, which rewrites the
 * `ai-visibility-agents-*` rules from the whole watched set (lambdas/shared/agent-capture.ts);
 * an hourly run repairs drift.
 * The rules deliver to the same capture queue as the static rules.
 */
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { AGENT_CAPTURE_SYNC_ENVIRONMENT, AGENT_CAPTURE_SYNC_SERVICE } from '../../lambdas/agent-capture-sync/environment';
import { AGENT_RULE_PREFIX } from '../../lambdas/core/constants';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../../lambdas/core/events';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { ruleResourceName, type AiActivityCapture } from './ai-activity-capture';
import { AiVisibilityFunction, type HouseFunctionOptions } from './house-function';
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
}

export class AgentActivityCapture extends Construct {
  readonly function: AiVisibilityFunction;

  constructor(scope: Construct, id: string, props: AgentActivityCaptureProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const table = props.inventory.table;
    this.function = new AiVisibilityFunction(this, 'SyncFunction', {
      entry: join(__dirname, '..', '..', 'lambdas', 'agent-capture-sync', 'handler.ts'),
      description: 'ai-visibility: keeps the agent capture rules in step with the watched principals',
      timeout: Duration.minutes(2),
      memorySize: 256,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      encryptionKey: props.encryptionKey,
      environment: environmentFor(AGENT_CAPTURE_SYNC_ENVIRONMENT, {
        ...houseEnvironment(AGENT_CAPTURE_SYNC_SERVICE),
        TABLE_NAME: table.tableName,
        EVENT_BUS_NAME: props.capture.eventBus.eventBusName,
        CAPTURE_QUEUE_ARN: props.capture.queue.queueArn,
        CAPTURE_DLQ_ARN: props.capture.deadLetterQueue.queueArn,
      }),
    });
    // Only one run at a time: two would race on the same rules.
    (this.function.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = 1;

    props.inventory.grantWatchedRead(this.function);
    const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleResourceName(props.capture.eventBus, `${AGENT_RULE_PREFIX}*`), arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['events:PutRule', 'events:PutTargets', 'events:RemoveTargets', 'events:DeleteRule', 'events:ListTargetsByRule'], resources: [ruleArn] }),
    );
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:ListRules'], resources: ['*'] }));
    props.capture.allowRulesNamed(`${AGENT_RULE_PREFIX}*`);

    new events.Rule(this, 'OnPrincipalWatched', {
      description: 'ai-visibility: sync the agent capture rules when a principal is first watched',
      eventBus: props.domainEvents,
      eventPattern: { source: [DOMAIN_EVENT_SOURCE], detailType: [DETAIL_TYPES.principalWatched] },
      // An event EventBridge cannot deliver within six hours is covered by the hourly repair run.
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 4, maxEventAge: Duration.hours(6) })],
    });
    new events.Rule(this, 'Repair', {
      description: 'ai-visibility: rebuild the agent capture rules from the watched principals',
      schedule: events.Schedule.rate(props.repairEvery ?? Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2 })],
    });

    Validations.of(this.function.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(this, 'events', `rule/${ruleResourceName(props.capture.eventBus, `${AGENT_RULE_PREFIX}*`)}`)}]`,
      reason: 'The function owns every rule named with this prefix: it creates and deletes them as agents are discovered, so their names are not known at deploy time.',
    });
    Validations.of(this.function.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'events:ListRules and the X-Ray write actions support no resource-level permissions.',
    });
  }
}
