/**
 * LookupHistoryImport: past activity of accounts without a CloudTrail archive in S3, from
 * CloudTrail event history (LookupEvents: 90 days of management events), so agent ledgers,
 * lineage and findings start with history (docs/discovery.md, "History").
 *
 *   Plan (the account-regions, as discovery plans them; the window: the last `days`, 90 by
 *   default) -> Map over account x region (bounded concurrency; each account-region has its own
 *   quota of 2 requests/s, so they run in parallel) { LookUp: pages the AI event sources from its
 *   cursor until its time is nearly spent -> Done? -> LookUp again from the cursor; a failure is
 *   caught and recorded, never fails the run } -> Summarize
 *
 * Runs once when the stack is created (its own CloudFormation Stack Status Change event), and on
 * demand (`aws stepfunctions start-execution --input '{"days": 30}'`). Everything after the
 * capture queue is the live path, idempotent on the eventID. JSONPath, so the synthesized
 * definition runs locally (aws-local-stepfunctions).
 */
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { LOOKUP_HISTORY_ENVIRONMENT, LOOKUP_HISTORY_SERVICE } from '../../lambdas/discovery/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { OWN_ROLE_PATH } from '../../lambdas/core/constants';
import { grantCaptureQueueSend } from './agent-trail-reader';
import { LAMBDA_TRANSIENT_ERRORS } from './gpu-utilization-sweep';
import { AiVisibilityFunction, handlerEntry, type HouseFunctionOptions } from './house-function';
import { nagAttribute, nagPartition } from './nag';
import { ASSUME_MEMBER_ROLE_ACK, assumeMemberRoleStatement, historyLookupStatements } from './permissions';
import { stateMachineLogGroup, stateMachineRole } from './state-machines';

/** Account-regions looked up at once by default: each pages at its own 2 requests/s. */
export const DEFAULT_LOOKUP_MAX_CONCURRENCY = 10;

export interface LookupHistoryImportProps extends HouseFunctionOptions {
  readonly captureQueue: sqs.IQueue;
  /** Regions of this account to look up. @default the stack's region */
  readonly regions?: readonly string[];
  /** Account-regions at once (1-40). @default 10 */
  readonly maxConcurrency?: number;
  /** Start a run of the last 90 days when the stack is created. @default true */
  readonly afterCreate?: boolean;
  /** Organization mode: every active account of the organization in these regions, through each member's role. */
  readonly organization?: { readonly organizationId: string; readonly regions: readonly string[] };
}

export class LookupHistoryImport extends Construct {
  readonly function: AiVisibilityFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly afterCreateRule?: events.Rule;

  constructor(scope: Construct, id: string, props: LookupHistoryImportProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const regions = props.regions?.length ? props.regions : [stack.region];

    this.function = new AiVisibilityFunction(this, 'Function', {
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      sourceMaps: props.sourceMaps,
      encryptionKey: props.encryptionKey,
      environment: environmentFor(LOOKUP_HISTORY_ENVIRONMENT, {
        ...houseEnvironment(LOOKUP_HISTORY_SERVICE),
        CAPTURE_QUEUE_URL: props.captureQueue.queueUrl,
        DISCOVERY_TARGETS: regions.map((r) => `${Aws.ACCOUNT_ID}:${r}`).join(','),
        ORGANIZATION_REGIONS: props.organization ? props.organization.regions.join(',') : '',
      }),
      entry: handlerEntry('discovery', 'lookup-handler'),
      description: "ai-visibility: imports an account-region's past AI activity from CloudTrail event history (LookupEvents)",
      // It waits between requests far more than it works: the quota, not the memory, sets its pace.
      timeout: Duration.minutes(15),
      memorySize: 256,
    });
    grantCaptureQueueSend(this.function, props);
    for (const statement of historyLookupStatements()) this.function.addToRolePolicy(statement);
    if (props.organization) {
      this.function.addToRolePolicy(new iam.PolicyStatement({ sid: 'OrganizationAccounts', actions: ['organizations:ListAccounts', 'organizations:ListParents', 'organizations:DescribeOrganizationalUnit'], resources: ['*'] }));
      this.function.addToRolePolicy(assumeMemberRoleStatement(stack.partition, props.organization.organizationId));
      Validations.of(this.function.role!).acknowledge(ASSUME_MEMBER_ROLE_ACK(nagPartition(this)));
    }
    Validations.of(this.function.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `cloudtrail:LookupEvents supports no resource-level permissions (read-only).${props.organization ? ' organizations:ListAccounts neither, and ListParents and DescribeOrganizationalUnit name accounts and OUs known only at run time (read-only).' : ''} The X-Ray write actions neither.`,
    });

    const invoke = (name: string, payload: Record<string, unknown>) => {
      const task = new tasks.LambdaInvoke(this, name, { lambdaFunction: this.function, payload: sfn.TaskInput.fromObject(payload), payloadResponseOnly: true, retryOnServiceExceptions: false });
      task.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 6, jitterStrategy: sfn.JitterType.FULL });
      return task;
    };
    const planStep = invoke('Plan', { step: 'plan', 'input.$': '$' });
    const lookUp = invoke('LookUp', { step: 'lookup', 'target.$': '$.target', 'cursor.$': '$.cursor', 'totals.$': '$.totals' });
    // Throttled past its own retries, or a network failure: again later from the same cursor.
    lookUp.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(30), backoffRate: 2, maxAttempts: 2, jitterStrategy: sfn.JitterType.FULL });
    const failed = new sfn.Pass(this, 'TargetFailed', { parameters: { failed: true, 'account.$': '$.target.account', 'region.$': '$.target.region', 'error.$': '$.error.Cause' } });
    lookUp.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    // What the run keeps of a target: its counts, not its cursor (a state holds 256 KB).
    const lookedUp = new sfn.Pass(this, 'LookedUp', { parameters: { 'account.$': '$.target.account', 'region.$': '$.target.region', 'totals.$': '$.totals' } });
    const done = new sfn.Choice(this, 'Done?').when(sfn.Condition.booleanEquals('$.done', true), lookedUp).otherwise(lookUp);
    const perTarget = new sfn.Map(this, 'LookUpAccountRegions', { itemsPath: '$.targets', maxConcurrency: props.maxConcurrency ?? DEFAULT_LOOKUP_MAX_CONCURRENCY, resultPath: '$.results' });
    perTarget.itemProcessor(lookUp.next(done));
    const summarizeStep = invoke('Summarize', { step: 'summarize', 'runId.$': '$.runId', 'results.$': '$.results' });

    const logGroup = stateMachineLogGroup(this, 'lookup-history', props);
    const machineRole = stateMachineRole(this, 'Execution role of the ai-visibility LookupEvents history import state machine');
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      role: machineRole,
      comment: 'ai-visibility history import from CloudTrail event history (LookupEvents)',
      definitionBody: sfn.DefinitionBody.fromChainable(planStep.next(perTarget).next(summarizeStep)),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      // 90 days of a very busy account-region at 2 requests/s can take a day (docs/discovery.md).
      timeout: Duration.days(7),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagAttribute(this.function)}:*]`,
      reason: 'Step Functions invokes the history function by any version or alias of it (the grant CDK makes for LambdaInvoke); this function only.',
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery for state machines (logs:CreateLogDelivery and the like) support no resource-level permissions.',
    });

    if (props.afterCreate ?? true) {
      const eventsRole = new iam.Role(this, 'AfterCreateRole', {
        path: OWN_ROLE_PATH,
        assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('events.amazonaws.com'), { StringEquals: { 'aws:SourceAccount': stack.account } }),
        description: 'Role EventBridge starts the ai-visibility history import with when the stack is created',
      });
      this.afterCreateRule = new events.Rule(this, 'AfterCreateRule', {
        description: 'ai-visibility: import 90 days of event history once, when this stack is created',
        eventPattern: {
          source: ['aws.cloudformation'],
          detailType: ['CloudFormation Stack Status Change'],
          detail: { 'stack-id': [Aws.STACK_ID], 'status-details': { status: ['CREATE_COMPLETE'] } },
        },
        // No dead-letter queue: a start EventBridge cannot make is one `start-execution` away (docs/discovery.md).
        targets: [new eventTargets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({}), role: eventsRole, retryAttempts: 10, maxEventAge: Duration.hours(1) })],
      });
    }
  }
}
