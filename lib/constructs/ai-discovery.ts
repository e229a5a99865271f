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
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DISCOVERY_ENVIRONMENT, DISCOVERY_SERVICE } from '../../lambdas/discovery/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { OWN_ROLE_PATH } from '../../lambdas/core/constants';
import { ASSUME_MEMBER_ROLE_ACK, assumeMemberRoleStatement, discoveryReadStatements } from './permissions';
import { AiVisibilityFunction, handlerEntry, type HouseFunctionOptions } from './house-function';
import { houseQueue } from './house-queue';
import { schedulerRole, stateMachineLogGroup, stateMachineRole } from './state-machines';
import type { AiInventoryTable } from './inventory-table';
import type { LineagePropagation } from './lineage-propagation';
import { LAMBDA_TRANSIENT_ERRORS } from './gpu-utilization-sweep';
import { nagArn, nagAttribute, nagPartition } from './nag';

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
    if (props.organization) {
      this.function.addToRolePolicy(new iam.PolicyStatement({ sid: 'OrganizationAccounts', actions: ['organizations:ListAccounts', 'organizations:ListParents', 'organizations:DescribeOrganizationalUnit'], resources: ['*'] }));
      this.function.addToRolePolicy(assumeMemberRoleStatement(stack.partition, props.organization.organizationId));
      Validations.of(this.function.role!).acknowledge(ASSUME_MEMBER_ROLE_ACK(nagPartition(this)));
    }
    Validations.of(this.function.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `The listing's List* calls, ec2:DescribeInstances and bedrock:GetModelInvocationLoggingConfiguration support no resource-level permissions; all are read-only.${props.organization ? ' organizations:ListAccounts neither, and ListParents and DescribeOrganizationalUnit name accounts and OUs known only at run time (read-only).' : ''} The X-Ray write actions neither.`,
    });
    for (const service of ['bedrock', 'bedrock-agentcore', 'sagemaker']) {
      Validations.of(this.function.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(this, service, '*', '*')}]`,
        reason: `The listing describes whichever ${service} resources exist when it runs (Get*/Describe*, read-only), in this account only.`,
      });
    }

    const invoke = (name: string, payload: Record<string, unknown>) => {
      const task = new tasks.LambdaInvoke(this, name, { lambdaFunction: this.function, payload: sfn.TaskInput.fromObject(payload), payloadResponseOnly: true, retryOnServiceExceptions: false });
      task.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 6, jitterStrategy: sfn.JitterType.FULL });
      return task;
    };
    const planStep = invoke('Plan', { step: 'plan', 'input.$': '$' });
    const target = invoke('ListTarget', { step: 'target', 'target.$': '$' });
    const failed = new sfn.Pass(this, 'TargetFailed', { parameters: { failed: true, 'account.$': '$.account', 'region.$': '$.region', 'error.$': '$.error.Cause' } });
    target.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    const perTarget = new sfn.Map(this, 'ListAccountRegions', { itemsPath: '$.targets', maxConcurrency: props.maxConcurrency ?? DEFAULT_DISCOVERY_MAX_CONCURRENCY, resultPath: '$.results' });
    perTarget.itemProcessor(target);
    const summarizeStep = invoke('Summarize', { step: 'summarize', 'runId.$': '$.runId', 'results.$': '$.results' });

    const logGroup = stateMachineLogGroup(this, 'discovery', props);
    const machineRole = stateMachineRole(this, 'Execution role of the ai-visibility discovery state machine');
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      role: machineRole,
      comment: 'ai-visibility discovery by listing',
      definitionBody: sfn.DefinitionBody.fromChainable(planStep.next(perTarget).next(summarizeStep)),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      timeout: Duration.hours(2),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagAttribute(this.function)}:*]`,
      reason: 'Step Functions invokes the discovery function by any version or alias of it (the grant CDK makes for LambdaInvoke); this function only.',
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery for state machines (logs:CreateLogDelivery and the like) support no resource-level permissions.',
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
      // EventBridge starts the run with a role of the stack's path, only for rules of this account.
      const eventsRole = new iam.Role(this, 'AfterDeployRole', {
        path: OWN_ROLE_PATH,
        assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('events.amazonaws.com'), { StringEquals: { 'aws:SourceAccount': stack.account } }),
        description: 'Role EventBridge starts ai-visibility discovery with after a deployment',
      });
      this.afterDeployRule = new events.Rule(this, 'AfterDeployRule', {
        description: 'ai-visibility: list once right after this stack is created or updated',
        eventPattern: {
          source: ['aws.cloudformation'],
          detailType: ['CloudFormation Stack Status Change'],
          detail: { 'stack-id': [Aws.STACK_ID], 'status-details': { status: ['CREATE_COMPLETE', 'UPDATE_COMPLETE'] } },
        },
        // No dead-letter queue: a start EventBridge cannot make is made up by the next scheduled run.
        targets: [new eventTargets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({}), role: eventsRole, retryAttempts: 10, maxEventAge: Duration.hours(1) })],
      });
    }
  }
}
