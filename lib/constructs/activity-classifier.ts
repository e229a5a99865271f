/**
 * AiActivityClassifier: the Lambda that drains the capture queue, classifies each event and
 * writes the inventory. Partial batch responses let one bad message fail alone.
 */
import { ArnFormat, Duration, Stack, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { CLASSIFIER_ENVIRONMENT } from '../../lambdas/classifier/environment';
import { environmentFor } from '../../lambdas/shared/environment';
import { AiVisibilityFunction } from './house-function';
import { nagArn } from './nag';
import type { AiInventoryTable } from './inventory-table';
import type { LineagePropagation } from './lineage-propagation';
import { DEFAULT_CONFIG, type AiVisibilityConfig } from '../config';

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
  /** Agent identification and ledger settings. @default the defaults of lib/config.ts */
  readonly agents?: Pick<AiVisibilityConfig, 'agentPrincipals' | 'agentBehaviourWindowSeconds' | 'agentDeniedBurstCount' | 'agentDeniedBurstSeconds' | 'actionLedgerRetentionDays'>;
  /** Where the classifier sends the lineage nodes whose sensitivity must be recomputed. */
  readonly lineage: LineagePropagation;
}

export class AiActivityClassifier extends Construct {
  readonly function: AiVisibilityFunction;

  constructor(scope: Construct, id: string, props: AiActivityClassifierProps) {
    super(scope, id);
    const agents = props.agents ?? DEFAULT_CONFIG;
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
        AGENT_PRINCIPALS: agents.agentPrincipals.join(','),
        AGENT_BEHAVIOUR_WINDOW_SECONDS: String(agents.agentBehaviourWindowSeconds),
        AGENT_DENIED_BURST_COUNT: String(agents.agentDeniedBurstCount),
        AGENT_DENIED_BURST_SECONDS: String(agents.agentDeniedBurstSeconds),
        ACTION_LEDGER_RETENTION_DAYS: String(agents.actionLedgerRetentionDays),
        LINEAGE_QUEUE_URL: props.lineage.queue.queueUrl,
      }),
    });
    props.inventory.grantClassifierWrites(this.function);
    props.lineage.grantSend(this.function);
    // The roles of agents' action-group functions, when no event showed them (same account only).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:GetFunctionConfiguration'],
        resources: [Stack.of(this).formatArn({ service: 'lambda', resource: 'function', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    Validations.of(this.function.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(this, 'lambda', 'function:*')}]`,
      reason: "The action-group functions of Bedrock agents are created by users after deployment; reading their configuration (their execution role) is read-only and limited to this account and region.",
    });
    this.function.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize,
        maxBatchingWindow: props.batchSize > 10 ? props.maxBatchingWindow : undefined,
        reportBatchItemFailures: true,
      }),
    );
  }
}
