/**
 * GpuUtilizationSweep: a Step Functions state machine, started by EventBridge Scheduler, that
 * measures every accelerator resource's GPU utilization and calls out the idle, the
 * memory-held-idle, the underused and the unmonitored ones (lambdas/gpu-sweep).
 *
 *   Plan -> Map over account x region (bounded concurrency) { SweepTarget, retried with backoff
 *   when AWS throttles; a failure is caught and recorded, never fails the sweep } -> Summarize
 *
 * JSONPath throughout, so the synthesized definition also runs locally (aws-local-stepfunctions,
 * `ai-visibility sweep`). Only the stack's own account is swept until the organization
 * deployment lands; the Map already takes any list of account-regions.
 */
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { houseQueue } from './house-queue';
import { LAMBDA_TRANSIENT_ERRORS, schedulerRole, stateMachineLogGroup, stateMachineRole } from './state-machines';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { GPU_SWEEP_ENVIRONMENT, GPU_SWEEP_SERVICE } from '../../lambdas/gpu-sweep/environment';
import { SWEEP_DEFAULTS } from '../../lambdas/core/defaults';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { IDLE_ACTION_TAG_KEY } from '../../lambdas/core/constants';
import { ASSUME_MEMBER_ROLE_ACK, assumeMemberRoleStatement, organizationAccountsStatement, ORGANIZATION_ACCOUNTS_REASON, remediationStatements, sweepReadStatements } from './permissions';
import { REMEDIATION_DEFAULTS, type RemediationSettings } from '../../lambdas/core/remediation';
import { AiVisibilityFunction, handlerEntry, type HouseFunctionOptions } from './house-function';
import type { AiInventoryTable } from './inventory-table';
import { nagArn, nagAttribute, nagPartition } from './nag';

/** When the sweep runs by default. */
export const DEFAULT_SWEEP_SCHEDULE = 'rate(1 hour)';
/** Account-regions swept at once by default. */
export const DEFAULT_SWEEP_MAX_CONCURRENCY = 10;

/** The verdict thresholds (docs/gpu-sweep.md explains each default). */
export interface SweepThresholdsProps {
  /** Mean GPU utilization (%) below which a GPU is idle. @default 5 */
  readonly idleBelowPct?: number;
  /** Mean GPU utilization (%) below which a GPU is underutilized. @default 40 */
  readonly underutilizedBelowPct?: number;
  /** GPU memory allocated (%) that makes an idle GPU memory-held-idle. @default 10 */
  readonly memoryHeldFromPct?: number;
}

export interface GpuUtilizationSweepProps extends HouseFunctionOptions {
  readonly inventory: AiInventoryTable;
  /** An EventBridge Scheduler rate(...) or cron(...) expression. @default "rate(1 hour)" */
  readonly schedule?: string;
  /** Minutes of metrics each sweep judges (1-1440). @default 60 */
  readonly windowMinutes?: number;
  /** Account-regions swept at once (1-40). @default 10 */
  readonly maxConcurrency?: number;
  /** Regions of this account to sweep. @default the stack's region */
  readonly regions?: readonly string[];
  /** @default the defaults of SweepThresholdsProps */
  readonly thresholds?: SweepThresholdsProps;
  /** USD per hour by instance type, overriding the built-in on-demand table. @default none */
  readonly prices?: Readonly<Record<string, number>>;
  /** The bus that receives each sweep's summary event. @default the account's default bus */
  readonly eventBus?: events.IEventBus;
  /**
   * The opt-in remediation of idle accelerators tagged ai-visibility:idle-action (docs/tagging.md):
   * off, dry-run (planned, recorded and notified, nothing done) or on, after `idleSweeps`
   * consecutive idle sweeps. @default { mode: 'off', idleSweeps: 3 }
   */
  readonly remediation?: Partial<RemediationSettings>;
  /**
   * Organization mode (docs/organization.md): sweep every active account of the organization in
   * these regions, through each member's role. @default none: this account only
   */
  readonly organization?: { readonly organizationId: string; readonly regions: readonly string[] };
}

export class GpuUtilizationSweep extends Construct {
  /** Plans sweeps and publishes their summaries. */
  readonly function: AiVisibilityFunction;
  /** Sweeps one account-region. */
  readonly targetFunction: AiVisibilityFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: scheduler.Schedule;
  /** Sweep starts Scheduler could not make (after its retries). */
  readonly scheduleDeadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: GpuUtilizationSweepProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const regions = props.regions?.length ? props.regions : [stack.region];
    const summaryBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'SummaryBus', 'default');
    const prices = props.prices ?? {};
    const remediation: RemediationSettings = { ...REMEDIATION_DEFAULTS, ...props.remediation };

    const environment = environmentFor(GPU_SWEEP_ENVIRONMENT, {
        ...houseEnvironment(GPU_SWEEP_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        SWEEP_TARGETS: regions.map((r) => `${Aws.ACCOUNT_ID}:${r}`).join(','),
        SWEEP_WINDOW_MINUTES: String(props.windowMinutes ?? SWEEP_DEFAULTS.windowMinutes),
        IDLE_BELOW_PCT: String(props.thresholds?.idleBelowPct ?? SWEEP_DEFAULTS.idleBelowPct),
        UNDERUTILIZED_BELOW_PCT: String(props.thresholds?.underutilizedBelowPct ?? SWEEP_DEFAULTS.underutilizedBelowPct),
        MEMORY_HELD_FROM_PCT: String(props.thresholds?.memoryHeldFromPct ?? SWEEP_DEFAULTS.memoryHeldFromPct),
        GPU_PRICES: Object.keys(prices).length ? JSON.stringify(prices) : '',
        SUMMARY_EVENT_BUS: summaryBus.eventBusName,
        REMEDIATION_MODE: remediation.mode,
        REMEDIATION_IDLE_SWEEPS: String(remediation.idleSweeps),
        ORGANIZATION_REGIONS: props.organization ? props.organization.regions.join(',') : '',
      });
    const functionOptions = { logRetentionDays: props.logRetentionDays, logRemovalPolicy: props.logRemovalPolicy, sourceMaps: props.sourceMaps, encryptionKey: props.encryptionKey, environment };
    // Plan and Summarize: no discovery or metrics client in the bundle, so they start fast.
    this.function = new AiVisibilityFunction(this, 'Function', {
      ...functionOptions,
      entry: handlerEntry('gpu-sweep'),
      description: 'ai-visibility: plans GPU utilization sweeps and publishes their summaries',
      timeout: Duration.minutes(1),
      memorySize: 256,
    });
    summaryBus.grantPutEventsTo(this.function);
    // SweepTarget: one account-region, with the EC2, SageMaker, Bedrock and CloudWatch clients.
    this.targetFunction = new AiVisibilityFunction(this, 'TargetFunction', {
      ...functionOptions,
      entry: handlerEntry('gpu-sweep', 'target-handler'),
      description: 'ai-visibility: measures the GPU utilization of one account-region and calls out idle, memory-held-idle, underused and unmonitored accelerators',
      timeout: Duration.minutes(10),
      memorySize: 1024,
    });
    props.inventory.grantClassifierWrites(this.targetFunction);
    props.inventory.grantAccountRead(this.targetFunction); // the byAccount index: the inventory's GPU instances
    if (props.organization) {
      // The accounts to sweep (read-only; Organizations supports no resource-level permission for
      // ListAccounts), and each member's role, only within the organization.
      this.function.addToRolePolicy(organizationAccountsStatement());
      Validations.of(this.function.role!).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: `${ORGANIZATION_ACCOUNTS_REASON} The X-Ray write actions neither.` });
      this.targetFunction.addToRolePolicy(assumeMemberRoleStatement(stack.partition, props.organization.organizationId));
      Validations.of(this.targetFunction.role!).acknowledge(ASSUME_MEMBER_ROLE_ACK(nagPartition(this)));
    }
    // Discovery and metrics, read-only (permissions.ts: the member role of each account gets the same).
    const here = { partition: stack.partition, account: stack.account };
    for (const statement of sweepReadStatements(here)) this.targetFunction.addToRolePolicy(statement);
    if (remediation.mode === 'on') {
      for (const statement of remediationStatements(here)) this.targetFunction.addToRolePolicy(statement);
      for (const [service, resource] of [['ec2', 'instance/*'], ['sagemaker', 'notebook-instance/*']] as const) {
        Validations.of(this.targetFunction.role!).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagArn(this, service, resource, '*')}]`,
          reason: `The remediation stops idle ${service === 'ec2' ? 'instances' : 'notebook instances'} named only at run time, in this account, and only those tagged ${IDLE_ACTION_TAG_KEY}=stop (aws:ResourceTag condition).`,
        });
      }
    }
    Validations.of(this.targetFunction.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeInstances, the SageMaker and Bedrock List* calls, cloudwatch:GetMetricData and tag:GetResources support no resource-level permissions; all are read-only. The X-Ray write actions neither.',
    });
    for (const type of ['endpoint', 'endpoint-config', 'training-job']) {
      Validations.of(this.targetFunction.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(this, 'sagemaker', `${type}/*`, '*')}]`,
        reason: 'The sweep describes whichever endpoints, endpoint configurations and training jobs are running when it runs; read-only, this account only.',
      });
    }

    const invoke = (name: string, payload: Record<string, unknown>, lambdaFunction: AiVisibilityFunction = this.function) => {
      const task = new tasks.LambdaInvoke(this, name, { lambdaFunction, payload: sfn.TaskInput.fromObject(payload), payloadResponseOnly: true, retryOnServiceExceptions: false });
      task.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 6, jitterStrategy: sfn.JitterType.FULL });
      return task;
    };

    const planStep = invoke('Plan', { step: 'plan', 'input.$': '$' });
    const target = invoke('SweepTarget', { step: 'target', 'target.$': '$' }, this.targetFunction);
    target.addRetry({ errors: ['SweepThrottledError'], interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 4, jitterStrategy: sfn.JitterType.FULL });
    const failed = new sfn.Pass(this, 'TargetFailed', {
      parameters: { failed: true, 'account.$': '$.account', 'region.$': '$.region', 'sweepId.$': '$.sweepId', 'error.$': '$.error.Cause' },
    });
    target.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    const perTarget = new sfn.Map(this, 'SweepAccountRegions', { itemsPath: '$.targets', maxConcurrency: props.maxConcurrency ?? DEFAULT_SWEEP_MAX_CONCURRENCY, resultPath: '$.results' });
    perTarget.itemProcessor(target);
    const summarizeStep = invoke('Summarize', { step: 'summarize', plan: { 'sweepId.$': '$.sweepId', 'window.$': '$.window' }, 'results.$': '$.results' });

    const logGroup = stateMachineLogGroup(this, 'gpu-sweep', props);
    const machineRole = stateMachineRole(this, 'Execution role of the ai-visibility GPU sweep state machine');
    const schedulerRoleOfSweep = schedulerRole(this, 'Role EventBridge Scheduler starts the ai-visibility GPU sweep with');
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      role: machineRole,
      comment: 'ai-visibility GPU utilization sweep',
      definitionBody: sfn.DefinitionBody.fromChainable(planStep.next(perTarget).next(summarizeStep)),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      timeout: Duration.minutes(50),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    for (const fn of [this.function, this.targetFunction]) {
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagAttribute(fn)}:*]`,
        reason: 'Step Functions invokes the sweep functions by any version or alias of them (the grant CDK makes for LambdaInvoke); these functions only.',
      });
    }
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery for state machines (logs:CreateLogDelivery and the like) support no resource-level permissions.',
    });

    this.scheduleDeadLetterQueue = houseQueue(this, 'ScheduleDeadLetterQueue', props.encryptionKey);
    Validations.of(this.scheduleDeadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the sweep schedule.' });
    // Scheduler sends to the encrypted queue with the schedule's role.
    props.encryptionKey.grant(schedulerRoleOfSweep, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'ai-visibility: run the GPU utilization sweep',
      schedule: scheduler.ScheduleExpression.expression(props.schedule ?? DEFAULT_SWEEP_SCHEDULE),
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        role: schedulerRoleOfSweep,
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts: 10,
        maxEventAge: Duration.minutes(30),
      }),
    });
  }
}
