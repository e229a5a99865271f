/**
 * What every state machine of the stack shares: an execution role and a Scheduler role under the
 * /ai-visibility/ path, each assumable by its service only on behalf of this account's resources
 * (confused deputy prevention: Step Functions and Scheduler User Guides), and a log group under
 * /aws/vendedlogs/ (as Step Functions advises: CloudWatch Logs resource policies stay small),
 * named with the stack id's unique part so a retained group never blocks a later deployment.
 */
import { ArnFormat, Aws, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { OWN_ROLE_PATH } from '../../lambdas/core/constants';

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
