/**
 * What every state machine of the stack shares: an execution role and a Scheduler role under the
 * /ai-visibility/ path, each assumable by its service only on behalf of this account's resources
 * (confused deputy prevention: Step Functions and Scheduler User Guides), and a log group under
 * /aws/vendedlogs/ (as Step Functions advises: CloudWatch Logs resource policies stay small),
 * named with the stack id's unique part so a retained group never blocks a later deployment.
 */
import { ArnFormat, Aws, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { OWN_ROLE_PATH } from '../../lambdas/core/constants';
import { nagAttribute } from './nag';

/** Lambda errors a task state retries: the service's own and throttling (Lambda.TooManyRequestsException), which CDK's retryOnServiceExceptions leaves out. */
export const LAMBDA_TRANSIENT_ERRORS = ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

/** The execution role of a state machine (construct id `StateMachineRole`). */
export function stateMachineRole(scope: Construct, description: string): iam.Role {
  const stack = Stack.of(scope);
  return new iam.Role(scope, 'StateMachineRole', {
    path: OWN_ROLE_PATH,
    assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('states.amazonaws.com'), {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    }),
    description,
  });
}

/** The role EventBridge Scheduler starts a state machine with (construct id `SchedulerRole`). */
export function schedulerRole(scope: Construct, description: string): iam.Role {
  const stack = Stack.of(scope);
  return new iam.Role(scope, 'SchedulerRole', {
    path: OWN_ROLE_PATH,
    assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('scheduler.amazonaws.com'), {
      StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }) },
    }),
    description,
  });
}

/** A state machine's log group (construct id `StateMachineLogs`): /aws/vendedlogs/states/<stack>-<name>-<stack id part>. */
export function stateMachineLogGroup(scope: Construct, name: string, props: { logRetentionDays?: number; logRemovalPolicy?: RemovalPolicy }): logs.LogGroup {
  const stack = Stack.of(scope);
  return new logs.LogGroup(scope, 'StateMachineLogs', {
    logGroupName: `/aws/vendedlogs/states/${stack.stackName}-${name}-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`,
    retention: props.logRetentionDays as logs.RetentionDays,
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
  });
}

/** A Task state invoking a house function, retried with back-off while Lambda throttles or restarts. */
export function lambdaStep(scope: Construct, fn: lambda.IFunction, name: string, payload: Record<string, unknown>): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, name, { lambdaFunction: fn, payload: sfn.TaskInput.fromObject(payload), payloadResponseOnly: true, retryOnServiceExceptions: false });
  task.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 6, jitterStrategy: sfn.JitterType.FULL });
  return task;
}

export interface LambdaStateMachineProps {
  /** Its log group's name part, and what its acknowledgments call it ("discovery"). */
  readonly name: string;
  readonly comment: string;
  readonly roleDescription: string;
  readonly definition: sfn.IChainable;
  readonly timeout: Duration;
  /** The function its Task states invoke. */
  readonly function: lambda.IFunction;
  readonly logRetentionDays?: number;
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A JSONPath state machine whose Task states invoke one house function (construct ids
 * `StateMachineLogs`, `StateMachineRole`, `StateMachine`): traced, logged without execution data,
 * and its role's wildcards acknowledged for what they are.
 */
export function lambdaStateMachine(scope: Construct, props: LambdaStateMachineProps): sfn.StateMachine {
  const machine = new sfn.StateMachine(scope, 'StateMachine', {
    role: stateMachineRole(scope, props.roleDescription),
    comment: props.comment,
    definitionBody: sfn.DefinitionBody.fromChainable(props.definition),
    queryLanguage: sfn.QueryLanguage.JSON_PATH,
    tracingEnabled: true,
    timeout: props.timeout,
    logs: { destination: stateMachineLogGroup(scope, props.name, props), level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
  Validations.of(machine.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagAttribute(props.function)}:*]`,
    reason: `Step Functions invokes the ${props.name} function by any version or alias of it (the grant CDK makes for LambdaInvoke); this function only.`,
  });
  Validations.of(machine.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'X-Ray tracing and CloudWatch Logs delivery for state machines (logs:CreateLogDelivery and the like) support no resource-level permissions.',
  });
  return machine;
}

/**
 * Start a state machine when this stack reaches one of `statuses`: an EventBridge rule on the
 * stack's own CloudFormation Stack Status Change events (CloudFormation User Guide, "Stack Status
 * Change event detail"), so no custom resource runs inside the deployment. Construct ids
 * `<id>Role` and `<id>Rule`; the role trusts EventBridge only for this account's rules. No
 * dead-letter queue: the caller says what makes up for a start EventBridge could not make.
 */
export function startOnStackStatus(scope: Construct, id: string, props: { stateMachine: sfn.IStateMachine; statuses: readonly string[]; ruleDescription: string; roleDescription: string }): events.Rule {
  const stack = Stack.of(scope);
  const role = new iam.Role(scope, `${id}Role`, {
    path: OWN_ROLE_PATH,
    assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('events.amazonaws.com'), { StringEquals: { 'aws:SourceAccount': stack.account } }),
    description: props.roleDescription,
  });
  return new events.Rule(scope, `${id}Rule`, {
    description: props.ruleDescription,
    eventPattern: {
      source: ['aws.cloudformation'],
      detailType: ['CloudFormation Stack Status Change'],
      detail: { 'stack-id': [Aws.STACK_ID], 'status-details': { status: [...props.statuses] } },
    },
    targets: [new eventTargets.SfnStateMachine(props.stateMachine, { input: events.RuleTargetInput.fromObject({}), role, retryAttempts: 10, maxEventAge: Duration.hours(1) })],
  });
}
