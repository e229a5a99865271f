/**
 * AiActivityClassifier: the Lambda that drains the capture queue, classifies each event and
 * writes the inventory. Partial batch responses let one bad message fail alone.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { CLASSIFIER_ENVIRONMENT } from '../../lambdas/classifier/environment';
import { environmentFor } from '../../lambdas/shared/environment';
import { AiVisibilityFunction } from './house-function';
import type { AiInventoryTable } from './inventory-table';

/** The classifier's timeout; the capture queue's visibility timeout must be six times it. */
export const CLASSIFIER_TIMEOUT = Duration.seconds(60);

export interface AiActivityClassifierProps {
  readonly queue: sqs.IQueue;
  readonly inventory: AiInventoryTable;
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly encryptionKey: kms.IKey;
  /** @default 'AiVisibility' */
  readonly metricsNamespace?: string;
}

export class AiActivityClassifier extends Construct {
  readonly function: AiVisibilityFunction;

  constructor(scope: Construct, id: string, props: AiActivityClassifierProps) {
    super(scope, id);
    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: join(__dirname, '..', '..', 'lambdas', 'classifier', 'handler.ts'),
      description: 'ai-visibility: classifies captured CloudTrail activity into the AI inventory',
      timeout: CLASSIFIER_TIMEOUT,
      memorySize: 1024,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      encryptionKey: props.encryptionKey,
      environment: environmentFor(CLASSIFIER_ENVIRONMENT, {
        TABLE_NAME: props.inventory.table.tableName,
        POWERTOOLS_SERVICE_NAME: 'ai-visibility-classifier',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'AiVisibility',
      }),
    });
    props.inventory.grantClassifierWrites(this.function);
    this.function.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize,
        maxBatchingWindow: props.batchSize > 10 ? props.maxBatchingWindow : undefined,
        reportBatchItemFailures: true,
      }),
    );
  }
}
