/**
 * LineagePropagation: the FIFO queue of lineage work and the function that drains it, carrying
 * data sensitivity down the lineage graph one node per message (lambdas/lineage-propagator).
 *
 * The classifier records edges and sends the nodes they touch here; the propagator sends on
 * whatever a change reaches. FIFO, grouped by node, so one node's recomputations never overlap.
 * The propagator reads bucket tags (s3:GetBucketTagging) to learn a bucket's classification;
 * buckets in other accounts answer AccessDenied, which is recorded on the node, not retried.
 */
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { houseQueue } from './house-queue';
import { grantTagLookups } from './permissions';
import { Construct } from 'constructs';
import { CLASSIFICATION_DEFAULTS } from '../../lambdas/core/defaults';
import { LINEAGE_PROPAGATOR_ENVIRONMENT, LINEAGE_PROPAGATOR_SERVICE } from '../../lambdas/lineage-propagator/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import type { AiInventoryTable } from './inventory-table';

const PROPAGATOR_TIMEOUT = Duration.seconds(60);

/** The data classification scheme read from bucket tags (docs/lineage.md). */
export interface ClassificationProps {
  /** The bucket tag whose value is the data's classification. @default "data-classification" */
  readonly tagKey?: string;
  /** The levels, lowest first (matched case-insensitively). @default public, internal, confidential, restricted */
  readonly levels?: readonly string[];
  /** The lowest level that raises lineage findings. @default "confidential" */
  readonly sensitiveFrom?: string;
}

export interface LineagePropagationProps extends HouseFunctionOptions {
  readonly inventory: AiInventoryTable;
  /** Deliveries before a message goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default the defaults of ClassificationProps */
  readonly classification?: ClassificationProps;
  /** Organization mode: look up member accounts' tags through each member role. @default this account only */
  readonly organizationId?: string;
}

export class LineagePropagation extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly function: AiVisibilityFunction;
  /** The tag that classifies data: the classifier reads it from the events too. */
  readonly classificationTagKey: string;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: LineagePropagationProps) {
    super(scope, id);
    this.key = props.encryptionKey;
    this.classificationTagKey = props.classification?.tagKey ?? CLASSIFICATION_DEFAULTS.tagKey;
    this.deadLetterQueue = houseQueue(this, 'DeadLetterQueue', props.encryptionKey, { fifo: true });
    this.queue = houseQueue(this, 'Queue', props.encryptionKey, {
      fifo: true,
      // Deduplication ids are set per message (a hash of it), not from the content.
      contentBasedDeduplication: false,
      // Ordering matters within one node only: let groups run in parallel at full throughput.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(PROPAGATOR_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: handlerEntry('lineage-propagator'),
      description: 'ai-visibility: carries data sensitivity down the lineage graph, one node per message',
      timeout: PROPAGATOR_TIMEOUT,
      memorySize: 512,
      ...houseOptions(props),
      environment: environmentFor(LINEAGE_PROPAGATOR_ENVIRONMENT, {
        ...houseEnvironment(LINEAGE_PROPAGATOR_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        LINEAGE_QUEUE_URL: this.queue.queueUrl,
        CLASSIFICATION_TAG_KEY: this.classificationTagKey,
        CLASSIFICATION_LEVELS: (props.classification?.levels ?? CLASSIFICATION_DEFAULTS.levels).join(','),
        SENSITIVE_FROM_LEVEL: props.classification?.sensitiveFrom ?? CLASSIFICATION_DEFAULTS.sensitiveFrom,
        RESOURCE_TAG_LOOKUPS: 'true',
        ORGANIZATION_MODE: props.organizationId ? 'true' : 'false',
      }),
    });
    props.inventory.grantClassifierWrites(this.function);
    this.grantSend(this.function);
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetBucketTagging'], resources: [`arn:${Stack.of(this).partition}:s3:::*`] }));
    Validations.of(this.function.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${Token.isUnresolved(Stack.of(this).partition) ? '<AWS::Partition>' : Stack.of(this).partition}:s3:::*]`,
      reason: 'Any bucket can become training data, a knowledge-base source or a log store after deployment; reading its tags (its data classification) is the only S3 action granted.',
    });
    // The classification tag of the other taggable nodes (a knowledge base, a SageMaker model, a
    // log group), for tags set before the deploy; cached in the table with the change feed's lookups.
    grantTagLookups(this, this.function.role!, props.organizationId);
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));
  }

  /** Let a producer (the classifier) send lineage work. */
  grantSend(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], resourceArns: [this.queue.queueArn] });
    // Exactly what sending to a KMS-encrypted queue takes (not the kms:GenerateDataKey* wildcard of grantSendMessages), and only through SQS.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(this).region}.${Stack.of(this).urlSuffix}` } },
    });
  }
}
