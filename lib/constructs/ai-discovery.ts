/**
 * AiDiscovery: a Step Functions state machine that lists the AI resources of every enrolled
 * account and region (lambdas/discovery), daily by default and once right after each deployment,
 * so the inventory knows on day zero what was there before the stack, and notices what went.
 *
 *   Plan -> Map over account x region (bounded concurrency) { ListTarget, retried with backoff
 *   when Lambda throttles; a failure is caught and recorded, never fails the run } -> Summarize
 *
 * "Right after deploy" is an EventBridge rule on this stack's own CloudFormation Stack Status
 * Change events (CREATE_COMPLETE, UPDATE_COMPLETE: CloudFormation User Guide, "Stack Status
 * Change event detail"), so no custom resource runs inside the deployment. JSONPath throughout,
 * so the synthesized definition runs locally (aws-local-stepfunctions).
 */
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DISCOVERY_ENVIRONMENT, DISCOVERY_SERVICE } from '../../lambdas/discovery/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { discoveryReadStatements, grantOrganizationReach, ORGANIZATION_ACCOUNTS_REASON } from './permissions';
import { AiVisibilityFunction, handlerEntry, type HouseFunctionOptions } from './house-function';
import { houseQueue } from './house-queue';
import { lambdaStateMachine, lambdaStep, schedulerRole, startOnStackStatus } from './state-machines';
import type { AiInventoryTable } from './inventory-table';
import type { LineagePropagation } from './lineage-propagation';
import { nagArn } from './nag';

/** When discovery runs by default: once a day. */
export const DEFAULT_DISCOVERY_SCHEDULE = 'rate(1 day)';
/** Account-regions listed at once by default (each lists its APIs four at a time). */
export const DEFAULT_DISCOVERY_MAX_CONCURRENCY = 5;

export interface AiDiscoveryProps extends HouseFunctionOptions {
  readonly inventory: AiInventoryTable;
  readonly lineage: LineagePropagation;
  /** An EventBridge Scheduler rate(...) or cron(...) expression. @default "rate(1 day)" */
  readonly schedule?: string;
  /** Account-regions listed at once (1-40). @default 5 */
  readonly maxConcurrency?: number;
  /** Regions of this account to list. @default the stack's region */
  readonly regions?: readonly string[];
  /** Start a run when this stack is created or updated. @default true */
  readonly afterDeploy?: boolean;
  /** Organization mode: every active account of the organization in these regions, through each member's role. */
  readonly organization?: { readonly organizationId: string; readonly regions: readonly string[] };
}

export class AiDiscovery extends Construct {
  readonly function: AiVisibilityFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: scheduler.Schedule;
  readonly scheduleDeadLetterQueue: sqs.Queue;
  readonly afterDeployRule?: events.Rule;

  constructor(scope: Construct, id: string, props: AiDiscoveryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const regions = props.regions?.length ? props.regions : [stack.region];

    this.function = new AiVisibilityFunction(this, 'Function', {
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      sourceMaps: props.sourceMaps,
      encryptionKey: props.encryptionKey,
      environment: environmentFor(DISCOVERY_ENVIRONMENT, {
        ...houseEnvironment(DISCOVERY_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        DISCOVERY_TARGETS: regions.map((r) => `${Aws.ACCOUNT_ID}:${r}`).join(','),
        LINEAGE_QUEUE_URL: props.lineage.queue.queueUrl,
        ORGANIZATION_REGIONS: props.organization ? props.organization.regions.join(',') : '',
      }),
      entry: handlerEntry('discovery'),
      description: 'ai-visibility: lists the AI resources of an account-region into the inventory (day-zero discovery and drift)',
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });
    props.inventory.grantClassifierWrites(this.function);
    props.inventory.grantAccountRead(this.function); // the byAccount index: the account's stored resources (drift)
    props.lineage.grantSend(this.function);
    const here = { partition: stack.partition, account: stack.account };
    for (const statement of discoveryReadStatements(here)) this.function.addToRolePolicy(statement);
    if (props.organization) grantOrganizationReach(this.function, this, props.organization.organizationId);
    Validations.of(this.function.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `The listing's List* calls, ec2:DescribeInstances and bedrock:GetModelInvocationLoggingConfiguration support no resource-level permissions; all are read-only.${props.organization ? ` ${ORGANIZATION_ACCOUNTS_REASON}` : ''} The X-Ray write actions neither.`,
    });
    for (const service of ['bedrock', 'bedrock-agentcore', 'sagemaker']) {
      Validations.of(this.function.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(this, service, '*', '*')}]`,
        reason: `The listing describes whichever ${service} resources exist when it runs (Get*/Describe*, read-only), in this account only.`,
      });
    }

    const invoke = (name: string, payload: Record<string, unknown>) => lambdaStep(this, this.function, name, payload);
    const planStep = invoke('Plan', { step: 'plan', 'input.$': '$' });
    const target = invoke('ListTarget', { step: 'target', 'target.$': '$' });
    const failed = new sfn.Pass(this, 'TargetFailed', { parameters: { failed: true, 'account.$': '$.account', 'region.$': '$.region', 'error.$': '$.error.Cause' } });
    target.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    const perTarget = new sfn.Map(this, 'ListAccountRegions', { itemsPath: '$.targets', maxConcurrency: props.maxConcurrency ?? DEFAULT_DISCOVERY_MAX_CONCURRENCY, resultPath: '$.results' });
    perTarget.itemProcessor(target);
    const summarizeStep = invoke('Summarize', { step: 'summarize', 'runId.$': '$.runId', 'results.$': '$.results' });

    this.stateMachine = lambdaStateMachine(this, {
      name: 'discovery',
      comment: 'ai-visibility discovery by listing',
      roleDescription: 'Execution role of the ai-visibility discovery state machine',
      definition: planStep.next(perTarget).next(summarizeStep),
      timeout: Duration.hours(2),
      function: this.function,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });

    const startRole = schedulerRole(this, 'Role EventBridge Scheduler starts ai-visibility discovery with');
    this.scheduleDeadLetterQueue = houseQueue(this, 'ScheduleDeadLetterQueue', props.encryptionKey);
    Validations.of(this.scheduleDeadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the discovery schedule.' });
    props.encryptionKey.grant(startRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'ai-visibility: list the AI resources of every enrolled account and region',
      schedule: scheduler.ScheduleExpression.expression(props.schedule ?? DEFAULT_DISCOVERY_SCHEDULE),
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        role: startRole,
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts: 10,
        maxEventAge: Duration.hours(1),
      }),
    });

    if (props.afterDeploy ?? true) {
      // No dead-letter queue: a start EventBridge cannot make is made up by the next scheduled run.
      this.afterDeployRule = startOnStackStatus(this, 'AfterDeploy', {
        stateMachine: this.stateMachine,
        statuses: ['CREATE_COMPLETE', 'UPDATE_COMPLETE'],
        ruleDescription: 'ai-visibility: list once right after this stack is created or updated',
        roleDescription: 'Role EventBridge starts ai-visibility discovery with after a deployment',
      });
    }
  }
}
