/**
 * The ai-visibility stack: deploy into the security account. Thin: it reads the configuration
 * and composes the feature constructs, event -> queue -> classifier -> inventory.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DEFAULT_CONFIG, type AiVisibilityConfig } from '../config';
import { AiActivityCapture } from '../constructs/ai-activity-capture';
import { AiActivityClassifier, CLASSIFIER_TIMEOUT } from '../constructs/activity-classifier';
import { AgentActivityCapture } from '../constructs/agent-activity-capture';
import { AiDataEventTrail } from '../constructs/ai-data-event-trail';
import { AiInventoryTable } from '../constructs/inventory-table';
import { LineagePropagation } from '../constructs/lineage-propagation';
import { GpuUtilizationSweep } from '../constructs/gpu-utilization-sweep';

export interface AiVisibilityStackProps extends StackProps {
  readonly config?: AiVisibilityConfig;
}

export class AiVisibilityStack extends Stack {
  readonly inventory: AiInventoryTable;
  readonly capture: AiActivityCapture;
  readonly classifier: AiActivityClassifier;
  readonly agentCapture: AgentActivityCapture;
  readonly lineage: LineagePropagation;
  readonly gpuSweep: GpuUtilizationSweep;
  readonly dataEventTrail?: AiDataEventTrail;

  constructor(scope: Construct, id: string, props: AiVisibilityStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? DEFAULT_CONFIG;

    this.inventory = new AiInventoryTable(this, 'Inventory', { retain: config.retainData });
    this.capture = new AiActivityCapture(this, 'Capture', {
      visibilityTimeout: Duration.seconds(CLASSIFIER_TIMEOUT.toSeconds() * 6),
      maxReceiveCount: config.maxReceiveCount,
    });
    this.lineage = new LineagePropagation(this, 'Lineage', {
      inventory: this.inventory,
      encryptionKey: this.capture.key,
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      maxReceiveCount: config.maxReceiveCount,
      classification: config,
    });
    this.classifier = new AiActivityClassifier(this, 'Classifier', {
      queue: this.capture.queue,
      inventory: this.inventory,
      batchSize: config.classifierBatchSize,
      maxBatchingWindow: Duration.seconds(config.classifierMaxBatchingWindowSeconds),
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      encryptionKey: this.capture.key,
      agents: config,
      lineage: this.lineage,
    });
    this.agentCapture = new AgentActivityCapture(this, 'AgentCapture', {
      inventory: this.inventory,
      capture: this.capture,
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      encryptionKey: this.capture.key,
    });
    this.gpuSweep = new GpuUtilizationSweep(this, 'GpuSweep', {
      inventory: this.inventory,
      encryptionKey: this.capture.key,
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      settings: config,
    });
    if (config.dataEventTrail) {
      this.dataEventTrail = new AiDataEventTrail(this, 'DataEventTrail', { retain: config.retainData });
    }

    new CfnOutput(this, 'InventoryTableName', { value: this.inventory.table.tableName, description: 'DynamoDB table with the AI inventory, principals and findings' });
    new CfnOutput(this, 'CaptureQueueUrl', { value: this.capture.queue.queueUrl, description: 'Queue the capture rules deliver to' });
    new CfnOutput(this, 'GpuSweepStateMachineArn', { value: this.gpuSweep.stateMachine.stateMachineArn, description: 'Step Functions state machine of the GPU utilization sweep' });
    new CfnOutput(this, 'LineageDeadLetterQueueUrl', { value: this.lineage.deadLetterQueue.queueUrl, description: 'Lineage work that could not be done' });
    new CfnOutput(this, 'CaptureDeadLetterQueueUrl', { value: this.capture.deadLetterQueue.queueUrl, description: 'Events that could not be delivered or classified' });
  }
}
