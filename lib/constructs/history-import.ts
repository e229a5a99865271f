/**
 * HistoryImport: past activity from the CloudTrail archive in S3, so the agent ledgers, lineage
 * and findings start with history (docs/discovery.md, "History").
 *
 *   Input {prefix, from, to} -> Distributed Map over the log objects under the prefix (ItemReader:
 *   S3 ListObjectsV2; 100 objects a batch; bounded concurrency; a tolerated failure percentage)
 *   { the backfill worker: each file delivered in [from, to] read as the trail reader reads it,
 *   what the capture rules match (and watched principals' calls) to the capture queue }
 *
 * Everything after the queue is the live path, idempotent on the eventID: a run over a range live
 * capture saw, or two overlapping runs, change nothing, and a failed run is resumed by redriving
 * it (Step Functions RedriveExecution reruns only the failed child executions).
 */
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { TRAIL_READER_ENVIRONMENT } from '../../lambdas/trail-reader/environment';
import { grantTrailReading, type AgentTrailReaderProps } from './agent-trail-reader';
import { AiVisibilityFunction, handlerEntry } from './house-function';
import { nagArn, nagAttribute } from './nag';
import { LAMBDA_TRANSIENT_ERRORS, stateMachineLogGroup, stateMachineRole } from './state-machines';

/** The backfill's Powertools service name. */
export const BACKFILL_SERVICE = 'ai-visibility-backfill';
/** Log objects a worker invocation reads (each about 27 ms of Lambda per 1,000 records: docs/performance.md). */
export const BACKFILL_BATCH = 100;
/** Worker invocations at once by default. */
export const DEFAULT_BACKFILL_CONCURRENCY = 10;
/** Share of batches that may fail (after their retries) before the run fails; a redrive resumes it. */
export const BACKFILL_TOLERATED_FAILURE_PERCENTAGE = 5;

export interface HistoryImportProps extends Omit<AgentTrailReaderProps, 'domainEvents' | 'maxReceiveCount'> {
  /** Worker invocations at once (1-1,000). @default 10 */
  readonly maxConcurrency?: number;
}

export class HistoryImport extends Construct {
  readonly function: AiVisibilityFunction;
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: HistoryImportProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { trail } = props;
    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: handlerEntry('trail-reader', 'backfill-handler'),
      description: "ai-visibility: imports past activity from the trail's log files (one batch of the history import)",
      timeout: Duration.minutes(5),
      memorySize: 1024,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      sourceMaps: props.sourceMaps,
      encryptionKey: props.encryptionKey,
      environment: environmentFor(TRAIL_READER_ENVIRONMENT, {
        ...houseEnvironment(BACKFILL_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        CAPTURE_QUEUE_URL: props.captureQueue.queueUrl,
        TRAIL_BUCKET: trail.bucketName,
        TRAIL_PREFIX: trail.keyPrefix,
        TRAIL_ORGANIZATION_ID: props.organizationId ?? '',
        LOOK_BACK_MINUTES: String(trail.lookBackMinutes),
        MAX_FILE_BYTES: String(64 * 1024 * 1024),
      }),
    });
    grantTrailReading(this, this.function, props);

    const bucket = s3.Bucket.fromBucketName(this, 'TrailBucket', trail.bucketName);
    const worker = new tasks.LambdaInvoke(this, 'ReadLogObjects', { lambdaFunction: this.function, payloadResponseOnly: true, retryOnServiceExceptions: false });
    worker.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 6, jitterStrategy: sfn.JitterType.FULL });
    worker.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(10), backoffRate: 2, maxAttempts: 3, jitterStrategy: sfn.JitterType.FULL });
    const map = new sfn.DistributedMap(this, 'EachLogObject', {
      itemReader: new sfn.S3ObjectsItemReader({ bucket, prefix: sfn.JsonPath.stringAt('$.prefix') }),
      itemBatcher: new sfn.ItemBatcher({ maxItemsPerBatch: BACKFILL_BATCH, batchInput: { 'from.$': '$.from', 'to.$': '$.to', 'runId.$': '$$.Execution.Name' } }),
      maxConcurrency: props.maxConcurrency ?? DEFAULT_BACKFILL_CONCURRENCY,
      toleratedFailurePercentage: BACKFILL_TOLERATED_FAILURE_PERCENTAGE,
      // The batches' counts go to the worker's log and metrics; the state output stays small.
      resultPath: sfn.JsonPath.DISCARD,
      label: 'EachLogObject',
      // Express child executions: a batch takes seconds, and Express bills by request and duration.
      mapExecutionType: sfn.StateMachineType.EXPRESS,
    });
    map.itemProcessor(worker);

    const logGroup = stateMachineLogGroup(this, 'backfill', props);
    const role = stateMachineRole(this, 'Execution role of the ai-visibility history import state machine');
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      role,
      comment: "ai-visibility history import from the trail's log files",
      definitionBody: sfn.DefinitionBody.fromChainable(map),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      timeout: Duration.days(7),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // The Distributed Map's own child executions: CDK grants them by this machine's name (execution:<name>:*).
    const machineId = stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement);
    for (const run of ['', '/EachLogObject']) {
      Validations.of(this.stateMachine.node.findChild('DistributedMapPolicy')).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(this, 'states', `execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machineId}"}]}]}${run}:*`)}]`,
        reason: "The Distributed Map starts, describes and stops its own map runs and their child executions, named only at run time; this state machine's only.",
      });
    }
    Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagAttribute(this.function)}:*]`, reason: 'The Distributed Map invokes the backfill worker by any version or alias of it (the grant CDK makes for LambdaInvoke); this function only.' });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery for state machines support no resource-level permissions; the Distributed Map starts, describes and stops its own child executions (the statements CDK adds, on its own map runs).',
    });
  }
}
