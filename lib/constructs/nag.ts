/**
 * cdk-nag finding ids name a wildcard resource as it renders in the template: deploy-time values
 * appear as `<AWS::Region>`, known ones as themselves. Acknowledgments must spell it the same
 * way for whatever environment the stack is synthesized in.
 */
import { Stack, Token, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** How cdk-nag writes `arn:<partition>:<service>:<region>:<account>:<resource>` for this stack. */
export function nagArn(scope: IConstruct, service: string, resource: string, region?: string): string {
  const stack = Stack.of(scope);
  const show = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  return `arn:${show(stack.partition, 'Partition')}:${service}:${region ?? show(stack.region, 'Region')}:${show(stack.account, 'AccountId')}:${resource}`;
}

/** How cdk-nag writes this stack's partition: `aws` where known, `<AWS::Partition>` where not. */
export function nagPartition(scope: IConstruct): string {
  const { partition } = Stack.of(scope);
  return Token.isUnresolved(partition) ? '<AWS::Partition>' : partition;
}

/** How cdk-nag writes a resource's Arn attribute: `<LogicalId.Arn>`. */
export function nagAttribute(resource: IConstruct & { node: { defaultChild?: IConstruct } }, attribute = 'Arn'): string {
  return `<${Stack.of(resource).getLogicalId(resource.node.defaultChild as CfnElement)}.${attribute}>`;
}
