/**
 * The permissions ai-visibility needs in an account, as statements: the hub's functions get them
 * for their own account, and the member role of every enrolled account for that account (the
 * hub assumes it there, docs/organization.md). One definition, so the two never drift apart.
 *
 * Each statement is scoped to the account's ARNs, to tag keys, or to a tag on the resource;
 * where AWS allows no scoping (List* and Describe* calls without resource types, GetMetricData,
 * the Tagging API) the statement is read-only or key-limited, and the callers acknowledge it
 * for cdk-nag with the reason.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { nagPartition } from './nag';
import { IDLE_ACTION_TAG_KEY, MEMBER_ROLE_NAME, OWN_ROLE_PATH } from '../../lambdas/core/constants';

/** Where the statements apply: the partition and the account (a token or a literal). */
export interface AccountScope {
  readonly partition: string;
  readonly account: string;
}

const inAccount = (s: AccountScope, service: string, resource: string) => `arn:${s.partition}:${service}:*:${s.account}:${resource}`;

/**
 * The GPU sweep's discovery and metrics: list and describe calls, none of which take a resource
 * ARN narrower than "*" for listing (EC2, SageMaker List*, Bedrock, CloudWatch service
 * authorization references), and the describes of what it found, read-only.
 */
export function sweepReadStatements(s: AccountScope): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'SweepDiscovery',
      actions: [
        'ec2:DescribeInstances',
        'sagemaker:ListEndpoints',
        'sagemaker:ListTrainingJobs',
        'sagemaker:ListNotebookInstances',
        'bedrock:ListProvisionedModelThroughputs',
        'cloudwatch:GetMetricData',
        // Control tags set before the deploy (expected-idle, idle-action), read-only.
        'tag:GetResources',
      ],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'SweepDescribe',
      actions: ['sagemaker:DescribeEndpoint', 'sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeTrainingJob'],
      resources: ['endpoint/*', 'endpoint-config/*', 'training-job/*'].map((r) => inAccount(s, 'sagemaker', r)),
    }),
  ];
}

/**
 * Discovery by listing (lambdas/discovery/listers.ts), read-only. The List* calls and EC2
 * DescribeInstances support no resource-level permissions (Service Authorization Reference), nor
 * does Bedrock's GetModelInvocationLoggingConfiguration (an account setting); every Get* and
 * Describe* is limited to the account's own resources.
 */
export function discoveryReadStatements(s: AccountScope): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'DiscoveryList',
      actions: [
        'bedrock:ListCustomModels',
        'bedrock:ListImportedModels',
        'bedrock:ListGuardrails',
        'bedrock:ListInferenceProfiles',
        'bedrock:ListProvisionedModelThroughputs',
        'bedrock:GetModelInvocationLoggingConfiguration',
        'bedrock:ListModelCustomizationJobs',
        'bedrock:ListModelInvocationJobs',
        'bedrock:ListAgents',
        'bedrock:ListKnowledgeBases',
        'bedrock:ListFlows',
        'bedrock:ListPrompts',
        'bedrock-agentcore:ListAgentRuntimes',
        'bedrock-agentcore:ListGateways',
        'bedrock-agentcore:ListMemories',
        'bedrock-agentcore:ListWorkloadIdentities',
        'sagemaker:ListEndpoints',
        'sagemaker:ListEndpointConfigs',
        'sagemaker:ListModels',
        'sagemaker:ListTrainingJobs',
        'sagemaker:ListNotebookInstances',
        'sagemaker:ListDomains',
        'ec2:DescribeInstances',
      ],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'DiscoveryDescribe',
      actions: [
        'bedrock:GetCustomModel',
        'bedrock:GetImportedModel',
        'bedrock:GetGuardrail',
        'bedrock:GetAgent',
        'bedrock:ListAgentAliases',
        'bedrock:ListAgentActionGroups',
        'bedrock:GetAgentActionGroup',
        'bedrock:ListAgentKnowledgeBases',
        'bedrock:GetKnowledgeBase',
        'bedrock:ListDataSources',
        'bedrock:GetDataSource',
        'bedrock-agentcore:GetAgentRuntime',
        'sagemaker:DescribeEndpoint',
        'sagemaker:DescribeEndpointConfig',
        'sagemaker:DescribeModel',
        'sagemaker:DescribeTrainingJob',
        'sagemaker:DescribeNotebookInstance',
      ],
      resources: [inAccount(s, 'bedrock', '*'), inAccount(s, 'bedrock-agentcore', '*'), inAccount(s, 'sagemaker', '*')],
    }),
  ];
}

/**
 * The opt-in remediation: stop, never terminate, and only what its owner tagged
 * idle-action=stop. The condition is on the resource's own tag (aws:ResourceTag), which EC2
 * StopInstances and SageMaker StopNotebookInstance support (Service Authorization Reference).
 */
export function remediationStatements(s: AccountScope): iam.PolicyStatement[] {
  const tagged = { StringEquals: { [`aws:ResourceTag/${IDLE_ACTION_TAG_KEY}`]: 'stop' } };
  return [
    new iam.PolicyStatement({ sid: 'RemediationStopInstances', actions: ['ec2:StopInstances'], resources: [inAccount(s, 'ec2', 'instance/*')], conditions: tagged }),
    new iam.PolicyStatement({ sid: 'RemediationStopNotebooks', actions: ['sagemaker:StopNotebookInstance'], resources: [inAccount(s, 'sagemaker', 'notebook-instance/*')], conditions: tagged }),
  ];
}

/**
 * The tagger's writes, only tag keys under the prefix (IAM User Guide, "Controlling access during
 * AWS requests": aws:TagKeys with ForAllValues; each service below supports it on its tagging
 * action), and the lookups of the tags already there.
 */
export function taggerStatements(s: AccountScope, prefix: string): iam.PolicyStatement[] {
  const onlyOurKeys = { 'ForAllValues:StringLike': { 'aws:TagKeys': [`${prefix}*`] } };
  return [
    // The Tagging API calls the service's own action for each ARN: both are needed.
    new iam.PolicyStatement({ sid: 'TaggingApi', actions: ['tag:TagResources'], resources: ['*'], conditions: onlyOurKeys }),
    // The resources' current tags (a value already right is not rewritten; ignore set before the deploy counts).
    new iam.PolicyStatement({ sid: 'TagLookups', actions: ['tag:GetResources'], resources: ['*'] }),
    new iam.PolicyStatement({ sid: 'Ec2Instances', actions: ['ec2:CreateTags'], resources: [inAccount(s, 'ec2', 'instance/*')], conditions: onlyOurKeys }),
    new iam.PolicyStatement({ sid: 'SageMaker', actions: ['sagemaker:AddTags'], resources: [inAccount(s, 'sagemaker', '*')], conditions: onlyOurKeys }),
    new iam.PolicyStatement({ sid: 'BedrockAndAgents', actions: ['bedrock:TagResource'], resources: [inAccount(s, 'bedrock', '*')], conditions: onlyOurKeys }),
    new iam.PolicyStatement({ sid: 'AgentCore', actions: ['bedrock-agentcore:TagResource'], resources: [inAccount(s, 'bedrock-agentcore', '*')], conditions: onlyOurKeys }),
    // PutBucketTagging replaces the set (it takes no aws:TagKeys); bucket ARNs name no
    // account, so the account is a condition (aws:ResourceAccount).
    new iam.PolicyStatement({
      sid: 'S3Buckets',
      actions: ['s3:GetBucketTagging', 's3:PutBucketTagging'],
      resources: [`arn:${s.partition}:s3:::*`],
      conditions: { StringEquals: { 'aws:ResourceAccount': s.account } },
    }),
  ];
}

/** Security Hub's import, into the account's own default product only (BatchImportFindings imports into the finding's own account). */
export function securityHubImportStatements(s: AccountScope): iam.PolicyStatement[] {
  return [new iam.PolicyStatement({ sid: 'SecurityHubImport', actions: ['securityhub:BatchImportFindings'], resources: [`arn:${s.partition}:securityhub:*:${s.account}:product/${s.account}/default`] })];
}

/** What the lookups read: roles' and users' tags (agents and owners declared before the deploy) and buckets' tags (their data classification). */
export function lookupStatements(s: AccountScope): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'PrincipalTagLookups', actions: ['iam:ListRoleTags', 'iam:ListUserTags'], resources: ['role', 'user'].map((t) => `arn:${s.partition}:iam::${s.account}:${t}/*`) }),
    new iam.PolicyStatement({ sid: 'BucketTagLookups', actions: ['s3:GetBucketTagging'], resources: [`arn:${s.partition}:s3:::*`], conditions: { StringEquals: { 'aws:ResourceAccount': s.account } } }),
  ];
}

/**
 * The LookupEvents history import: CloudTrail event history of the account-region. LookupEvents
 * supports no resource-level permissions (Service Authorization Reference, "Actions defined by
 * AWS CloudTrail": no resource types); it is read-only.
 */
export function historyLookupStatements(): iam.PolicyStatement[] {
  return [new iam.PolicyStatement({ sid: 'EventHistory', actions: ['cloudtrail:LookupEvents'], resources: ['*'] })];
}

/**
 * Organization mode: assume the member role of any account, only where the role belongs to the
 * organization (aws:ResourceOrgID). The role's name is fixed; the accounts are known at run time.
 */
export function assumeMemberRoleStatement(partition: string, organizationId: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AssumeMemberRoles',
    actions: ['sts:AssumeRole'],
    resources: [`arn:${partition}:iam::*:role${OWN_ROLE_PATH}${MEMBER_ROLE_NAME}`],
    conditions: { StringEquals: { 'aws:ResourceOrgID': organizationId } },
  });
}

/** The cdk-nag finding id of that statement's resource, and why it is as narrow as it can be. */
export const ASSUME_MEMBER_ROLE_ACK = (partition: string) => ({
  id: `AwsSolutions-IAM5[Resource::arn:${partition}:iam::*:role${OWN_ROLE_PATH}${MEMBER_ROLE_NAME}]`,
  reason: "It acts in every member account through its member role: the role's name is fixed, the accounts are the organization's (aws:ResourceOrgID), known only at run time.",
});

/** Organization mode's account listing: read-only, and Organizations has no resource for ListAccounts. */
export function organizationAccountsStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'OrganizationAccounts', actions: ['organizations:ListAccounts', 'organizations:ListParents', 'organizations:DescribeOrganizationalUnit'], resources: ['*'] });
}

/** What that statement adds to the reason for a role's `Resource::*`. */
export const ORGANIZATION_ACCOUNTS_REASON = 'organizations:ListAccounts supports no resource-level permissions, and ListParents and DescribeOrganizationalUnit name accounts and OUs known only at run time (read-only).';

/**
 * A function that plans over the organization's accounts and acts in each through its member
 * role: both statements, and the member-role acknowledgment.
 */
export function grantOrganizationReach(fn: { addToRolePolicy(s: iam.PolicyStatement): void; role?: iam.IRole }, scope: Construct, organizationId: string): void {
  fn.addToRolePolicy(organizationAccountsStatement());
  fn.addToRolePolicy(assumeMemberRoleStatement(Stack.of(scope).partition, organizationId));
  Validations.of(fn.role!).acknowledge(ASSUME_MEMBER_ROLE_ACK(nagPartition(scope)));
}

/**
 * A function's tag lookups (the Tagging API's GetResources, cached in the table), in a policy of
 * its own, and in organization mode the member roles it looks up through.
 */
export function grantTagLookups(scope: Construct, role: iam.IRole, organizationId?: string): void {
  const lookups = new iam.Policy(scope, 'TagLookups', { roles: [role], statements: [new iam.PolicyStatement({ actions: ['tag:GetResources'], resources: ['*'] })] });
  Validations.of(lookups).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: 'tag:GetResources supports no resource-level permissions (Service Authorization Reference, Resource Groups Tagging API); it only reads tags.' });
  if (organizationId) {
    role.addToPrincipalPolicy(assumeMemberRoleStatement(Stack.of(scope).partition, organizationId));
    Validations.of(role).acknowledge(ASSUME_MEMBER_ROLE_ACK(nagPartition(scope)));
  }
}
