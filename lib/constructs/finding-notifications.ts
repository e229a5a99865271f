/**
 * FindingNotifications: findings reach people. A rule on the domain event bus takes `Finding
 * Recorded` events at or above the severity floor (filtered in the pattern, so the rest cost
 * nothing) into a queue; the notifier (lambdas/notifier) publishes one message per new finding to
 * the findings topic (SNS, KMS-encrypted, separate from the operations topic), deduplicated per
 * rule, resource and principal within a window, with the owner in its attributes.
 *
 * Subscriptions come from the configuration: each email address with optional severities,
 * accounts, owners and rules, made SNS subscription filter policies on the message attributes
 * (at most 5 keys and 150 combinations each: SNS Developer Guide, "Subscription filter policy
 * constraints"; these use 4 keys at most and the configuration refuses more combinations). Chat
 * channels subscribe through Amazon Q Developer in chat applications: the topic's default body is
 * its custom-notification JSON.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { OWN_ROLE_PATH } from '../../lambdas/core/constants';
import { DIGEST_ENVIRONMENT, DIGEST_SERVICE } from '../../lambdas/digest/environment';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BEDROCK_API_KEY_MAX_AGE_DAYS } from '../../lambdas/core/defaults';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../../lambdas/core/events';
import { SEVERITIES, type Severity } from '../../lambdas/core/model';
import { filterPolicyOf, type SubscriptionFilter } from '../../lambdas/core/notifications';
import { NOTIFIER_ENVIRONMENT, NOTIFIER_SERVICE, OWNER_TAG_KEY } from '../../lambdas/notifier/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import { domainEventQueue, houseQueue } from './house-queue';
import { nagAttribute } from './nag';
import type { AiInventoryTable } from './inventory-table';

/** An email subscription and what it receives (every key optional: nothing set, everything). */
export interface EmailSubscriptionProps extends SubscriptionFilter {
  readonly email: string;
}

export interface FindingNotificationsProps extends HouseFunctionOptions {
  readonly inventory: AiInventoryTable;
  /** The bus the change feed publishes `Finding Recorded` on. */
  readonly domainEvents: events.IEventBus;
  /** The least severe finding sent. @default "medium" */
  readonly minSeverity?: Severity;
  /** Hours within which one rule, resource and principal send one message. @default 24 */
  readonly dedupWindowHours?: number;
  /** @default none */
  readonly subscriptions?: readonly EmailSubscriptionProps[];
  /** Account id to owner, the last fallback of owner routing. @default none */
  readonly accountOwners?: Readonly<Record<string, string>>;
  /** The tag whose value is an owner. @default "ai-visibility:owner" */
  readonly ownerTagKey?: string;
  /** Deliveries before a message goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Send the daily digest. @default true when there is a subscription */
  readonly digest?: boolean;
  /** When the digest runs (EventBridge Scheduler, UTC). @default "cron(0 8 * * ? *)" */
  readonly digestSchedule?: string;
  /** Long-term Bedrock API keys older than this many days are listed in the digest. @default 90 */
  readonly digestApiKeyMaxAgeDays?: number;
  /** The dead-letter queues whose depth the digest reports, by name. @default none */
  readonly deadLetterQueues?: Readonly<Record<string, sqs.IQueue>>;
}

/** When the digest runs by default: 08:00 UTC every day. */
export const DEFAULT_DIGEST_SCHEDULE = 'cron(0 8 * * ? *)';

export class FindingNotifications extends Construct {
  readonly topic: sns.Topic;
  readonly function: AiVisibilityFunction;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The daily digest, when it is sent. */
  readonly digestFunction?: AiVisibilityFunction;
  readonly digestScheduleDeadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: FindingNotificationsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const minSeverity = props.minSeverity ?? 'medium';
    const timeout = Duration.seconds(60);

    this.topic = new sns.Topic(this, 'Topic', { displayName: `ai-visibility findings (${stack.stackName})`, masterKey: props.encryptionKey, enforceSSL: true });
    for (const s of props.subscriptions ?? []) {
      const { policy, combinations } = filterPolicyOf(s);
      if (combinations > 150) throw new Error(`the subscription of ${s.email} makes ${combinations} filter combinations; SNS allows 150`);
      const filterPolicy = Object.fromEntries(Object.entries(policy).map(([k, values]) => [k, sns.SubscriptionFilter.stringFilter({ allowlist: values })]));
      // No key set: no filter policy at all (it receives everything).
      this.topic.addSubscription(new subscriptions.EmailSubscription(s.email, Object.keys(filterPolicy).length ? { filterPolicy } : {}));
    }

    const atOrAbove = SEVERITIES.slice(0, SEVERITIES.indexOf(minSeverity) + 1);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = domainEventQueue(this, {
      ...props,
      ruleId: 'OnFindingRecorded',
      description: `ai-visibility: notify findings of severity ${minSeverity} or above`,
      eventPattern: { source: [DOMAIN_EVENT_SOURCE], detailType: [DETAIL_TYPES.findingRecorded], detail: { finding: { severity: [...atOrAbove] } } },
      consumerTimeout: timeout,
    }));

    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: handlerEntry('notifier'),
      description: 'ai-visibility: sends findings to the findings topic, deduplicated and routed by owner',
      timeout,
      memorySize: 256,
      ...houseOptions(props),
      environment: environmentFor(NOTIFIER_ENVIRONMENT, {
        ...houseEnvironment(NOTIFIER_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        FINDINGS_TOPIC_ARN: this.topic.topicArn,
        MIN_SEVERITY: minSeverity,
        DEDUP_WINDOW_HOURS: String(props.dedupWindowHours ?? 24),
        ACCOUNT_OWNERS: JSON.stringify(props.accountOwners ?? {}),
        OWNER_TAG_KEY: props.ownerTagKey ?? OWNER_TAG_KEY,
      }),
    });
    props.inventory.grantClassifierWrites(this.function);
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    // Publishing to a topic encrypted with a customer-managed key needs the key, through SNS only.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.${stack.urlSuffix}` } },
      }),
    );
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));

    if (props.digest ?? (props.subscriptions ?? []).length > 0) this.addDigest(props, stack);
  }

  private addDigest(props: FindingNotificationsProps, stack: Stack): void {
    const queues: Record<string, sqs.IQueue> = { notifications: this.deadLetterQueue, ...(props.deadLetterQueues ?? {}) };
    const fn = new AiVisibilityFunction(this, 'DigestFunction', {
      entry: handlerEntry('digest'),
      description: 'ai-visibility: the daily digest of new AI resources, findings, agents, idle GPUs and pipeline health',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      ...houseOptions(props),
      environment: environmentFor(DIGEST_ENVIRONMENT, {
        ...houseEnvironment(DIGEST_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        FINDINGS_TOPIC_ARN: this.topic.topicArn,
        PERIOD_HOURS: '24',
        API_KEY_MAX_AGE_DAYS: String(props.digestApiKeyMaxAgeDays ?? BEDROCK_API_KEY_MAX_AGE_DAYS),
        DEAD_LETTER_QUEUES: stack.toJsonString(Object.fromEntries(Object.entries(queues).map(([name, q]) => [name, q.queueUrl]))),
        ACCOUNT_OWNERS: JSON.stringify(props.accountOwners ?? {}),
        OWNER_TAG_KEY: props.ownerTagKey ?? OWNER_TAG_KEY,
      }),
    });
    // One Scan of the base table a day (no index), decrypted through DynamoDB only.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: [props.inventory.table.tableArn] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.inventory.key.keyArn], conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.${stack.urlSuffix}` } } }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.encryptionKey.keyArn], conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.${stack.urlSuffix}` } } }));
    const queueArns = Object.values(queues).map((q) => q.queueArn);
    if (queueArns.length) fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: queueArns }));

    const role = new iam.Role(this, 'DigestSchedulerRole', {
      path: OWN_ROLE_PATH,
      assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('scheduler.amazonaws.com'), {
        StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }) },
      }),
      description: 'Role EventBridge Scheduler starts the ai-visibility digest with',
    });
    const dlq = houseQueue(this, 'DigestScheduleDeadLetterQueue', props.encryptionKey);
    Validations.of(dlq).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the digest schedule.' });
    props.encryptionKey.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    new scheduler.Schedule(this, 'DigestSchedule', {
      description: 'ai-visibility: send the daily digest',
      schedule: scheduler.ScheduleExpression.expression(props.digestSchedule ?? DEFAULT_DIGEST_SCHEDULE),
      target: new schedulerTargets.LambdaInvoke(fn, { role, deadLetterQueue: dlq, retryAttempts: 3, maxEventAge: Duration.hours(2) }),
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagAttribute(fn)}:*]`,
      reason: 'Scheduler invokes the digest function by any version or alias of it (the grant CDK makes for LambdaInvoke); this function only.',
    });
    Object.assign(this, { digestFunction: fn, digestScheduleDeadLetterQueue: dlq });
  }
}
