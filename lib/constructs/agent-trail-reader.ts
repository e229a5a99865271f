/**
 * AgentTrailReader (`agentTrail.bucketName` set): an agent's ledger complete from its first
 * action, in every account and region an (organization) trail logs (docs/agents.md, "Across the
 * organization").
 *
 *   trail bucket --ObjectCreated--> queue <-- Principal Watched (agents) on the domain bus
 *   queue --> reader (lambdas/trail-reader) --the watched principals' calls--> capture queue
 *
 * The bucket usually belongs to another account (the log archive): its owner adds the event
 * notification to this queue, or subscribes the queue to the trail's SNS topic
 * (`notificationTopicArn`); the queue policy lets only that bucket (and that account) or that
 * topic send. The reader reads the trail's log files under `<prefix>/AWSLogs/` only, and decrypts
 * with the trail's key only through S3.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../../lambdas/core/events';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { TRAIL_READER_ENVIRONMENT, TRAIL_READER_SERVICE } from '../../lambdas/trail-reader/environment';
import type { AgentTrailConfig } from '../config';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import { houseQueue } from './house-queue';
import type { AiInventoryTable } from './inventory-table';
import { nagPartition } from './nag';

export interface AgentTrailReaderProps extends HouseFunctionOptions {
  readonly encryptionKey: kms.Key;
  readonly inventory: AiInventoryTable;
  readonly domainEvents: events.IEventBus;
  /** The classifier's capture queue: the reader sends the calls it keeps there. */
  readonly captureQueue: sqs.IQueue;
  readonly trail: AgentTrailConfig & { readonly bucketName: string };
  /** The organization trail's organization id, when it is one. */
  readonly organizationId?: string;
  /** Deliveries before a message goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

/** A log file is up to tens of MB expanded; a look-back reads up to a few hundred of them. */
const TIMEOUT = Duration.minutes(5);
/** What a log file, or what it expands to, may hold. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

export class AgentTrailReader extends Construct {
  readonly function: AiVisibilityFunction;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: AgentTrailReaderProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { trail } = props;
    const bucketArn = `arn:${stack.partition}:s3:::${trail.bucketName}`;
    const bucketAccount = trail.bucketAccount ?? stack.account;

    this.deadLetterQueue = houseQueue(this, 'DeadLetterQueue', props.encryptionKey);
    this.queue = houseQueue(this, 'Queue', props.encryptionKey, {
      visibilityTimeout: Duration.seconds(TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    // Delivery notifications: from the trail's bucket in its account (S3 User Guide, "Granting
    // permissions to publish event notification messages to a destination"), or its SNS topic.
    const s3Service = new iam.ServicePrincipal('s3.amazonaws.com');
    const fromBucket = { ArnEquals: { 'aws:SourceArn': bucketArn }, StringEquals: { 'aws:SourceAccount': bucketAccount } };
    this.queue.addToResourcePolicy(new iam.PolicyStatement({ sid: 'TrailBucketNotifications', principals: [s3Service], actions: ['sqs:SendMessage'], resources: [this.queue.queueArn], conditions: fromBucket }));
    // The queue is encrypted with the capture key: S3 needs it to send (and to test the configuration).
    props.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({ sid: 'TrailBucketNotifications', principals: [s3Service], actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: ['*'], conditions: fromBucket }));
    if (trail.notificationTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'TrailTopic', trail.notificationTopicArn);
      topic.addSubscription(new subscriptions.SqsSubscription(this.queue, { rawMessageDelivery: true }));
      props.encryptionKey.addToResourcePolicy(
        new iam.PolicyStatement({ sid: 'TrailTopicNotifications', principals: [new iam.ServicePrincipal('sns.amazonaws.com')], actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: ['*'], conditions: { ArnEquals: { 'aws:SourceArn': trail.notificationTopicArn } } }),
      );
    }
    // An agent newly identified: a look-back over the files already delivered (candidates get none).
    new events.Rule(this, 'OnAgentWatched', {
      description: 'ai-visibility: look back in the trail for the calls of a newly identified agent',
      eventBus: props.domainEvents,
      eventPattern: { source: [DOMAIN_EVENT_SOURCE], detailType: [DETAIL_TYPES.principalWatched], detail: { reason: ['agent'] } },
      targets: [new targets.SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });

    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: handlerEntry('trail-reader'),
      description: "ai-visibility: reads the trail's log files for the calls of watched principals (agents), the look-back included",
      timeout: TIMEOUT,
      memorySize: 1024,
      ...houseOptions(props),
      environment: environmentFor(TRAIL_READER_ENVIRONMENT, {
        ...houseEnvironment(TRAIL_READER_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        CAPTURE_QUEUE_URL: props.captureQueue.queueUrl,
        TRAIL_BUCKET: trail.bucketName,
        TRAIL_PREFIX: trail.keyPrefix,
        TRAIL_ORGANIZATION_ID: props.organizationId ?? '',
        LOOK_BACK_MINUTES: String(trail.lookBackMinutes),
        MAX_FILE_BYTES: String(MAX_FILE_BYTES),
      }),
    });
    grantTrailReading(this, this.function, props);
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }));
  }
}

/**
 * What reading the trail takes, for the reader and the history import alike: the watched
 * principals, sending to the KMS-encrypted capture queue (exactly the KMS actions that takes,
 * only through SQS), the log files under the trail's AWSLogs/ folder, and their key through S3.
 */
/**
 * Exactly what sending to the KMS-encrypted capture queue takes (not grantSendMessages'
 * kms:GenerateDataKey* wildcard), the key only through SQS.
 */
export function grantCaptureQueueSend(fn: AiVisibilityFunction, props: { readonly captureQueue: sqs.IQueue; readonly encryptionKey: kms.IKey }): void {
  const stack = Stack.of(fn);
  fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'SendToCaptureQueue', actions: ['sqs:SendMessage'], resources: [props.captureQueue.queueArn] }));
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid: 'CaptureQueueKey', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.encryptionKey.keyArn], conditions: { StringEquals: { 'kms:ViaService': `sqs.${stack.region}.${stack.urlSuffix}` } } }),
  );
}

export function grantTrailReading(scope: Construct, fn: AiVisibilityFunction, props: Pick<AgentTrailReaderProps, 'inventory' | 'captureQueue' | 'encryptionKey' | 'trail'>): void {
  const stack = Stack.of(scope);
  const { trail } = props;
  const bucketArn = `arn:${stack.partition}:s3:::${trail.bucketName}`;
  const logs = `${trail.keyPrefix ? `${trail.keyPrefix}/` : ''}AWSLogs/`;
  props.inventory.grantWatchedRead(fn);
  grantCaptureQueueSend(fn, props);
  fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadTrailLogFiles', actions: ['s3:GetObject'], resources: [`${bucketArn}/${logs}*`] }));
  fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'ListTrailLogFiles', actions: ['s3:ListBucket'], resources: [bucketArn], conditions: { StringLike: { 's3:prefix': [`${logs}*`] } } }));
  Validations.of(fn.role!).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(scope)}:s3:::${trail.bucketName}/${logs}*]`,
    reason: "The trail's log files: one object per delivery, named by account, region and time; only under the trail's AWSLogs/ folder.",
  });
  if (trail.kmsKeyArn) {
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'DecryptTrailLogFiles', actions: ['kms:Decrypt'], resources: [trail.kmsKeyArn], conditions: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } } }));
  }
}
