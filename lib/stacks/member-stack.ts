/**
 * The member stack of organization mode (docs/organization.md): what every enrolled account and
 * region holds. The hub deploys it everywhere with a service-managed StackSet, so the template
 * takes what differs as parameters, names no account or region, and contains no Lambda (a
 * StackSet then needs no asset bucket in any region).
 *
 * - **Forwarding rules**: the capture rules of lib/capture/patterns.ts, on the account's default
 *   bus, with the same states (read-only calls need ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS),
 *   sending to the hub's bus. A cross-account bus target with an organization principal needs a
 *   `RoleArn` (EventBridge User Guide, "Sending and receiving events between AWS accounts"): the
 *   forwarder role of the region, which may only put events on the hub's bus. What cannot be
 *   delivered within a day waits 14 days in a dead-letter queue. IAM, STS and Organizations
 *   events arrive only in us-east-1 (the `GlobalRegion` parameter): their rule exists only there.
 * - **The member role** (`ai-visibility/ai-visibility-member`, one per account, created with the
 *   global region's stack): what the hub does in the account, least privilege (permissions.ts).
 *   It trusts only roles under the hub's `/ai-visibility/` path in the hub account, and only
 *   within the organization (`aws:PrincipalOrgID`). Its own calls sit under that path too, so the
 *   capture rules drop them: the hub's tagging never comes back as events.
 */
import { Aws, CfnCondition, CfnParameter, Duration, Fn, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { captureRules, type CaptureRuleSpec } from '../capture/patterns';
import { CAPTURE_TARGET, ENABLED_WITH_READ_ONLY_EVENTS, MEMBER_ROLE_NAME, OWN_ROLE_PATH, TAG_PREFIX } from '../../lambdas/core/constants';
import { discoveryReadStatements, historyLookupStatements, lookupStatements, remediationStatements, securityHubImportStatements, sweepReadStatements, taggerStatements } from '../constructs/permissions';

/** The member role's name: the hub assumes `arn:<partition>:iam::<account>:role/ai-visibility/<name>`. */
export { MEMBER_ROLE_NAME };
/** The forwarding rules' names: `ai-visibility-forward-<capture rule id>`. */
export const FORWARD_RULE_PREFIX = 'ai-visibility-forward-';
/** The sources whose events arrive only in us-east-1 (IAM, STS, Organizations, Marketplace agreements). */
const GLOBAL_SOURCES = new Set(['aws.iam', 'aws.sts', 'aws.organizations', 'aws.agreement-marketplace']);

export interface AiVisibilityMemberStackProps extends StackProps {
  /** The tagger's key prefix: the member role may write only keys under it. @default "ai-visibility:" */
  readonly tagPrefix?: string;
  /** Let the hub stop idle instances tagged idle-action=stop (remediation mode on). @default false */
  readonly remediation?: boolean;
  /** Let the hub import findings into the account's Security Hub. @default false */
  readonly securityHubExport?: boolean;
  /** @default captureRules() */
  readonly rules?: readonly CaptureRuleSpec[];
}

/** Whether a capture rule listens to events that arrive only in us-east-1. */
export function isGlobalRule(spec: CaptureRuleSpec): boolean {
  const sources = spec.pattern.source;
  return Array.isArray(sources) && sources.length > 0 && sources.every((s) => typeof s === 'string' && GLOBAL_SOURCES.has(s));
}

export class AiVisibilityMemberStack extends Stack {
  readonly rules: events.CfnRule[] = [];
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: AiVisibilityMemberStackProps = {}) {
    super(scope, id, props);
    this.tags.setTag(`${TAG_PREFIX}stack`, 'member');
    const hubBusArn = new CfnParameter(this, 'HubEventBusArn', {
      description: "The hub's central event bus",
      allowedPattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/[A-Za-z0-9._\\-/]+$',
    }).valueAsString;
    const hubAccount = new CfnParameter(this, 'HubAccountId', { description: 'The account of the hub', allowedPattern: '^\\d{12}$' }).valueAsString;
    const organizationId = new CfnParameter(this, 'OrganizationId', { description: 'The organization (o-...)', allowedPattern: '^o-[a-z0-9]{10,32}$' }).valueAsString;
    const globalRegion = new CfnParameter(this, 'GlobalRegion', {
      description: 'The region where IAM, STS and Organizations events arrive, and the member role is created',
      default: 'us-east-1',
      allowedPattern: '^[a-z]{2}(-[a-z]+)+-\\d{1,2}$',
    }).valueAsString;
    const isGlobalRegion = new CfnCondition(this, 'IsGlobalRegion', { expression: Fn.conditionEquals(Aws.REGION, globalRegion) });

    // SQS-managed encryption: a KMS key in every account and region of an organization would cost
    // $1 a month each (thousands of keys), for a queue that holds events only when delivery fails.
    this.deadLetterQueue = new sqs.Queue(this, 'ForwardingDeadLetterQueue', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    Validations.of(this.deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'It is the dead-letter queue of the forwarding rules: nothing reads it to fail again.' });

    const forwarder = new iam.CfnRole(this, 'ForwarderRole', {
      roleName: Fn.join('-', ['ai-visibility-forwarder', Aws.REGION]),
      path: OWN_ROLE_PATH,
      description: "ai-visibility: lets this region's forwarding rules put events on the hub's bus",
      assumeRolePolicyDocument: new iam.PolicyDocument({
        statements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], principals: [new iam.ServicePrincipal('events.amazonaws.com')], conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } })],
      }),
      policies: [{ policyName: 'PutEventsOnHubBus', policyDocument: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [hubBusArn] })] }) }],
    });

    for (const spec of props.rules ?? captureRules()) {
      const rule = new events.CfnRule(this, `${spec.id}Forward`, {
        // Named, so the dead-letter queue's policy can name them (one member stack per account and region).
        name: `${FORWARD_RULE_PREFIX}${spec.id}`,
        description: `ai-visibility: forwards to the hub: ${spec.description}`.slice(0, 512),
        eventBusName: 'default',
        eventPattern: spec.pattern,
        state: spec.includeReadOnlyManagementEvents ? ENABLED_WITH_READ_ONLY_EVENTS : 'ENABLED',
        targets: [
          {
            id: 'HubEventBus',
            arn: hubBusArn,
            roleArn: forwarder.attrArn,
            deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
            retryPolicy: { maximumEventAgeInSeconds: CAPTURE_TARGET.maximumEventAgeInSeconds, maximumRetryAttempts: CAPTURE_TARGET.maximumRetryAttempts },
          },
        ],
      });
      if (isGlobalRule(spec)) rule.cfnOptions.condition = isGlobalRegion;
      this.rules.push(rule);
    }
    // EventBridge may put into the dead-letter queue only on behalf of the forwarding rules of this account and region.
    this.deadLetterQueue.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${FORWARD_RULE_PREFIX}*` } },
      }),
    );

    const here = { partition: Aws.PARTITION, account: Aws.ACCOUNT_ID };
    const statements = [
      ...sweepReadStatements(here),
      ...discoveryReadStatements(here),
      ...taggerStatements(here, props.tagPrefix ?? TAG_PREFIX),
      ...lookupStatements(here),
      ...historyLookupStatements(),
      ...(props.securityHubExport ? securityHubImportStatements(here) : []),
      ...(props.remediation ? remediationStatements(here) : []),
    ];
    const member = new iam.CfnRole(this, 'MemberRole', {
      roleName: MEMBER_ROLE_NAME,
      path: OWN_ROLE_PATH,
      description: 'ai-visibility: what the hub does in this account (sweep, discovery, history, tagging, lookups, exports), assumed only by the hub',
      maxSessionDuration: 3600,
      assumeRolePolicyDocument: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: ['sts:AssumeRole'],
            principals: [new iam.AccountPrincipal(hubAccount)],
            conditions: {
              ArnLike: { 'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::${hubAccount}:role${OWN_ROLE_PATH}*` },
              StringEquals: { 'aws:PrincipalOrgID': organizationId },
            },
          }),
        ],
      }),
      policies: [{ policyName: 'AiVisibilityMember', policyDocument: new iam.PolicyDocument({ statements }) }],
    });
    member.cfnOptions.condition = isGlobalRegion;
    acknowledgeMemberRole(member, props);
  }
}

/** cdk-nag: each wildcard of the member role, with why AWS allows no narrower resource. */
function acknowledgeMemberRole(role: iam.CfnRole, props: AiVisibilityMemberStackProps): void {
  const arn = (service: string, resource: string) => `arn:<AWS::Partition>:${service}:*:<AWS::AccountId>:${resource}`;
  const reasons: Array<[string, string]> = [
    ['*', 'ec2:DescribeInstances, the SageMaker and Bedrock List* calls, cloudtrail:LookupEvents, cloudwatch:GetMetricData and the Tagging API support no resource-level permissions; all but tag:TagResources are read-only, and TagResources is limited to keys under the prefix (aws:TagKeys) and needs each service tagging action below too.'],
    [arn('sagemaker', 'endpoint/*'), 'The sweep describes the endpoints running when it runs, in this account; read-only.'],
    [arn('sagemaker', 'endpoint-config/*'), 'The sweep describes the endpoint configurations of those endpoints, in this account; read-only.'],
    [arn('sagemaker', 'training-job/*'), 'The sweep describes the training jobs running when it runs, in this account; read-only.'],
    [arn('ec2', 'instance/*'), 'The tagger tags (keys under the prefix only) and the remediation stops (tagged idle-action=stop only) instances named at run time, in this account.'],
    [arn('sagemaker', '*'), 'The tagger tags SageMaker resources named at run time, in this account, with keys under the prefix only.'],
    [arn('bedrock', '*'), 'The tagger tags Bedrock resources named at run time, in this account, with keys under the prefix only.'],
    [arn('bedrock-agentcore', '*'), 'The tagger tags AgentCore resources named at run time, in this account, with keys under the prefix only.'],
    ['arn:<AWS::Partition>:s3:::*', 'Bucket ARNs carry no account: aws:ResourceAccount keeps the tag reads and the tagger\'s merge-writes to this account.'],
    ['arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*', "The lookups read the tags of this account's roles (agents and owners declared before the deploy); read-only."],
    ['arn:<AWS::Partition>:iam::<AWS::AccountId>:user/*', "The lookups read the tags of this account's users; read-only."],
  ];
  if (props.remediation) reasons.push([arn('sagemaker', 'notebook-instance/*'), 'The remediation stops idle notebook instances tagged idle-action=stop (aws:ResourceTag), in this account.']);
  if (props.securityHubExport) reasons.push(['arn:<AWS::Partition>:securityhub:*:<AWS::AccountId>:product/<AWS::AccountId>/default', "BatchImportFindings into this account's own default product, in any enrolled region."]);
  for (const [resource, reason] of reasons) Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
}
