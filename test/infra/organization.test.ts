/**
 * Organization mode (docs/organization.md): the hub's template (the central bus and its policy,
 * the capture rules on it, the StackSet), the member template (forwarding rules, the forwarder
 * and member roles), cdk-nag on both, the configuration's checks, and the bus policy evaluated
 * by the replay's model of it on PutEvents from inside and outside the organization.
 */
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { captureRules } from '../../lib/capture/patterns';
import { ConfigError, DEFAULT_CONFIG, readConfig, type AiVisibilityConfig } from '../../lib/config';
import { memberTemplate, TEMPLATE_BODY_LIMIT } from '../../lib/constructs/organization-hub';
import { AiVisibilityStack } from '../../lib/stacks/ai-visibility-stack';
import { AiVisibilityMemberStack, FORWARD_RULE_PREFIX, isGlobalRule, MEMBER_ROLE_NAME } from '../../lib/stacks/member-stack';
import { evaluateBusPolicy, type PolicyStatement } from '../../local/replay/bus-policy';
import { compileRules, matchingRules, toEnvelope } from '../../local/replay/event-bus';
import { OWN_ROLE_PATH } from '../../lambdas/core/constants';
import { documentedRecord } from '../helpers';
import { useSynth } from '../support';

const synthesis = useSynth();
const ORG = { enabled: true, organizationId: 'o-a1b2c3d4e5', memberOus: ['ou-ab12-cdef3456'], regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] };
const orgConfig = (organization: Record<string, unknown> = {}, rest: Partial<Record<keyof AiVisibilityConfig, unknown>> = {}) => readConfig({ organization: { ...ORG, ...organization }, ...rest });

function hub(config: AiVisibilityConfig = orgConfig(), env?: { account?: string; region?: string }): Template {
  const app = synthesis.app();
  return Template.fromStack(new AiVisibilityStack(app, 'AiVisibility', { config, env }));
}

type Resource = { Type: string; Properties: Record<string, unknown>; Condition?: string; DependsOn?: string[] };
const template = hub();
const of = (t: Template, type: string) => Object.entries(t.findResources(type)) as Array<[string, Resource]>;
const stackSet = () => of(template, 'AWS::CloudFormation::StackSet')[0][1].Properties;
const member = JSON.parse(stackSet().TemplateBody as string) as { Resources: Record<string, Resource>; Parameters: Record<string, unknown>; Conditions: Record<string, unknown>; Rules?: unknown };
const memberOf = (type: string) => Object.entries(member.Resources).filter(([, r]) => r.Type === type);
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>>; Principal?: unknown };
const memberRole = memberOf('AWS::IAM::Role').find(([id]) => id === 'MemberRole')![1];
const memberStatements = () => (memberRole.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>).flatMap((p) => p.PolicyDocument.Statement);

describe('the hub', () => {
  it('has a central bus whose one policy statement admits PutEvents from the organization only', () => {
    const [[busId, bus]] = of(template, 'AWS::Events::EventBus').filter(([id]) => id.startsWith('Organization'));
    expect(bus.Properties.Name).toBe('AiVisibility-organization');
    const policies = of(template, 'AWS::Events::EventBusPolicy');
    expect(policies).toHaveLength(1);
    const statement = policies[0][1].Properties.Statement as PolicyStatement;
    expect(statement).toEqual({
      Sid: 'OrganizationMembersPutEvents',
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: { 'Fn::GetAtt': [busId, 'Arn'] },
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
    });
    // A bus policy holds at most 10 KB; this one is a few hundred bytes for any number of accounts.
    expect(JSON.stringify(statement).length).toBeLessThan(1_000);
  });

  it('captures on the central bus only (the hub account forwards its own activity like any member), each rule after the bus exists', () => {
    const [[busId]] = of(template, 'AWS::Events::EventBus').filter(([id]) => id.startsWith('Organization'));
    const capture = of(template, 'AWS::Events::Rule').filter(([id]) => id.startsWith('Capture'));
    expect(capture).toHaveLength(captureRules().length);
    for (const [, rule] of capture) {
      expect(rule.Properties.EventBusName).toBe('AiVisibility-organization');
      expect(rule.DependsOn).toContain(busId);
    }
    // Single-account mode is unchanged: the default bus.
    const single = hub(DEFAULT_CONFIG);
    for (const [, rule] of of(single, 'AWS::Events::Rule').filter(([id]) => id.startsWith('Capture'))) expect(rule.Properties.EventBusName).toBe('default');
    expect(of(single, 'AWS::CloudFormation::StackSet')).toHaveLength(0);
    expect(of(single, 'AWS::Events::EventBusPolicy')).toHaveLength(0);
  });

  it("reads GuardDuty's findings (opt-in) on the hub's default bus, where GuardDuty publishes, not the central one", () => {
    const withGuardDuty = of(hub(orgConfig({}, { guardDutyAiFindings: true })), 'AWS::Events::Rule').filter(([id]) => id.startsWith('Capture'));
    expect(withGuardDuty).toHaveLength(captureRules().length + 1);
    expect(withGuardDuty.filter(([, r]) => r.Properties.EventBusName === 'default').map(([id]) => id)).toEqual([expect.stringMatching(/^CaptureGuardDutyAiFindingsRule/)]);
  });

  it('deploys the member template with a service-managed StackSet: auto-deployment, removal on leaving, the configured OUs, regions and preferences', () => {
    const [[busId]] = of(template, 'AWS::Events::EventBus').filter(([id]) => id.startsWith('Organization'));
    expect(stackSet()).toMatchObject({
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      CallAs: 'DELEGATED_ADMIN',
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      OperationPreferences: { FailureTolerancePercentage: 10, MaxConcurrentPercentage: 25, RegionConcurrencyType: 'PARALLEL', RegionOrder: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] },
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['ou-ab12-cdef3456'] }, Regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] }],
      Parameters: [
        { ParameterKey: 'HubEventBusArn', ParameterValue: { 'Fn::GetAtt': [busId, 'Arn'] } },
        { ParameterKey: 'HubAccountId', ParameterValue: { Ref: 'AWS::AccountId' } },
        { ParameterKey: 'OrganizationId', ParameterValue: 'o-a1b2c3d4e5' },
        { ParameterKey: 'GlobalRegion', ParameterValue: 'us-east-1' },
      ],
    });
    expect(Buffer.byteLength(stackSet().TemplateBody as string)).toBeLessThan(TEMPLATE_BODY_LIMIT);
    const management = hub(orgConfig({ delegatedAdmin: false, regions: ['eu-west-1', 'us-east-1'], stackSetOperationPreferences: { failureTolerancePercentage: 0, maxConcurrentPercentage: 100, regionConcurrencyType: 'SEQUENTIAL' } }));
    expect(of(management, 'AWS::CloudFormation::StackSet')[0][1].Properties).toMatchObject({
      CallAs: 'SELF',
      // us-east-1 first: its stack creates the member role.
      OperationPreferences: { FailureTolerancePercentage: 0, MaxConcurrentPercentage: 100, RegionConcurrencyType: 'SEQUENTIAL', RegionOrder: ['us-east-1', 'eu-west-1'] },
    });
  });

  it('sweeps the organization: the plan may list the accounts, the target may assume only member roles of the organization, and an alarm watches refusals', () => {
    const fns = of(template, 'AWS::Lambda::Function');
    const env = (fragment: string) => (fns.find(([id]) => id.startsWith(fragment))![1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env('GpuSweepFunction').ORGANIZATION_REGIONS).toBe('us-east-1,eu-west-1,ap-southeast-2');
    const statements = (fragment: string) => of(template, 'AWS::IAM::Policy').filter(([id]) => id.startsWith(fragment)).flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    expect(statements('GpuSweepFunctionRole')).toContainEqual(expect.objectContaining({ Sid: 'OrganizationAccounts', Action: ['organizations:ListAccounts', 'organizations:ListParents', 'organizations:DescribeOrganizationalUnit'], Resource: '*' }));
    expect(statements('GpuSweepTargetFunctionRole')).toContainEqual({
      Sid: 'AssumeMemberRoles',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::*:role${OWN_ROLE_PATH}${MEMBER_ROLE_NAME}`]] },
      Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-a1b2c3d4e5' } },
    });
    const refusals = (t: Template) => of(t, 'AWS::CloudWatch::Alarm').filter(([, a]) => JSON.stringify(a.Properties.Metrics ?? []).includes('MemberRoleUnavailable'));
    const alarms = refusals(template);
    expect(alarms).toHaveLength(1);
    expect(alarms[0][1].Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    // The sweep's and the tagger's refusals, both.
    const services = (alarms[0][1].Properties.Metrics as Array<{ MetricStat?: { Metric: { Namespace: string; Dimensions: Array<{ Value: string }> } } }>).flatMap((m) => (m.MetricStat ? [`${m.MetricStat.Metric.Namespace}/${m.MetricStat.Metric.Dimensions[0].Value}`] : []));
    expect(services.sort()).toEqual(['AiVisibility/ai-visibility-gpu-sweep', 'AiVisibility/ai-visibility-tagger']);
    const tagger = statements('TaggerFunctionRole').find((x) => (x as { Sid?: string }).Sid === 'AssumeMemberRoles');
    expect(tagger).toMatchObject({ Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:ResourceOrgID': 'o-a1b2c3d4e5' } } });
    expect(env('TaggerFunction').ORGANIZATION_MODE).toBe('true');
    // Single-account mode: none of it.
    const single = hub(DEFAULT_CONFIG);
    expect(refusals(single)).toHaveLength(0);
    expect(JSON.stringify(single.toJSON())).not.toContain('AssumeMemberRoles');
    expect(JSON.stringify(single.toJSON())).not.toContain('organizations:ListAccounts');
  });

  it('gives every function that acts or looks up in member accounts the organization-scoped AssumeRole, and only in organization mode', () => {
    const assumers = (t: Template) =>
      of(t, 'AWS::IAM::Policy')
        .filter(([, p]) => (p.Properties.PolicyDocument as { Statement: Array<{ Sid?: string }> }).Statement.some((x) => x.Sid === 'AssumeMemberRoles'))
        .map(([id]) => id.replace(/FunctionRole.*$|FunctionServiceRole.*$/, ''))
        .sort();
    expect(assumers(template)).toEqual(['ChangeFeed', 'Classifier', 'Discovery', 'GpuSweepTarget', 'Lineage', 'LookupHistory', 'Tagger']);
    const fns = of(template, 'AWS::Lambda::Function');
    const env = (fragment: string) => (fns.find(([id]) => id.startsWith(fragment))![1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const fn of ['ChangeFeedFunction', 'ClassifierFunction', 'LineageFunction', 'TaggerFunction']) expect([fn, env(fn).ORGANIZATION_MODE]).toEqual([fn, 'true']);
    expect(assumers(hub(DEFAULT_CONFIG))).toEqual([]);
  });

  it('refuses a hub deployed outside its home region', () => {
    expect(() => hub(orgConfig({ homeRegion: 'eu-west-1' }), { region: 'us-east-1' })).toThrow(/organization.homeRegion is eu-west-1, but this stack is deployed to us-east-1/);
    expect(() => hub(orgConfig({ homeRegion: 'eu-west-1' }), { region: 'eu-west-1' })).not.toThrow();
  });
});

describe('the member template', () => {
  it('holds no Lambda, no asset and no bootstrap check: a StackSet needs no bucket or bootstrap in any account', () => {
    const types = new Set(Object.values(member.Resources).map((r) => r.Type));
    expect([...types].sort()).toEqual(['AWS::Events::Rule', 'AWS::IAM::Role', 'AWS::SQS::Queue', 'AWS::SQS::QueuePolicy']);
    expect(Object.keys(member.Parameters).sort()).toEqual(['GlobalRegion', 'HubAccountId', 'HubEventBusArn', 'OrganizationId']);
    expect(member.Rules).toBeUndefined();
    expect(JSON.stringify(member)).not.toMatch(/cdk-bootstrap|AssetParameters|BootstrapVersion/);
  });

  it('forwards with the capture patterns and states to the hub bus, with the forwarder role, retries and a dead-letter queue', () => {
    const rules = memberOf('AWS::Events::Rule');
    expect(rules).toHaveLength(captureRules().length);
    const dlq = memberOf('AWS::SQS::Queue')[0][0];
    for (const spec of captureRules()) {
      const [, rule] = rules.find(([id]) => id === `${spec.id}Forward`)!;
      expect(rule.Properties).toMatchObject({
        Name: `${FORWARD_RULE_PREFIX}${spec.id}`,
        EventBusName: 'default',
        EventPattern: spec.pattern,
        State: spec.includeReadOnlyManagementEvents ? 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' : 'ENABLED',
        Targets: [{ Id: 'HubEventBus', Arn: { Ref: 'HubEventBusArn' }, RoleArn: { 'Fn::GetAtt': ['ForwarderRole', 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } }, RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 } }],
      });
      // IAM, STS and Organizations events arrive only in us-east-1: that rule exists only there.
      expect([spec.id, rule.Condition]).toEqual([spec.id, isGlobalRule(spec) ? 'IsGlobalRegion' : undefined]);
    }
    expect(captureRules().filter(isGlobalRule).map((s) => s.id)).toEqual(['ModelAgreements', 'AgentDeclarations', 'BedrockApiKeys']);
    expect(member.Conditions).toEqual({ IsGlobalRegion: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, { Ref: 'GlobalRegion' }] } });
  });

  it("has a forwarder role per region that events.amazonaws.com of this account alone assumes, to put events on the hub's bus only", () => {
    const [, role] = memberOf('AWS::IAM::Role').find(([id]) => id === 'ForwarderRole')!;
    expect(role.Properties.Path).toBe(OWN_ROLE_PATH);
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({ Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }] });
    expect((role.Properties.Policies as Array<{ PolicyDocument: unknown }>)[0].PolicyDocument).toEqual({ Version: '2012-10-17', Statement: [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: { Ref: 'HubEventBusArn' } }] });
  });

  it('has one member role per account (the global region), trusted only by roles under the hub path in the hub account, within the organization', () => {
    expect(memberRole.Condition).toBe('IsGlobalRegion');
    expect(memberRole.Properties).toMatchObject({ RoleName: MEMBER_ROLE_NAME, Path: OWN_ROLE_PATH, MaxSessionDuration: 3600 });
    const trust = (memberRole.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0]).toMatchObject({
      Action: 'sts:AssumeRole',
      Effect: 'Allow',
      Condition: {
        ArnLike: { 'aws:PrincipalArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'HubAccountId' }, `:role${OWN_ROLE_PATH}*`]] } },
        StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' } },
      },
    });
    expect(JSON.stringify(trust[0].Principal)).toContain('HubAccountId');
  });

  it("member role: no write action without a resource narrower than * or a condition; the tagger's keys and the stop's tag as conditions", () => {
    const readOnly = /^[a-z0-9-]+:(Describe|List|Get|Lookup)[A-Za-z]*$/;
    for (const s of memberStatements()) {
      for (const action of [s.Action].flat()) {
        if (readOnly.test(action)) continue;
        const unscoped = s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*'));
        // tag:TagResources has no resource-level permissions: its key condition is what limits it.
        expect([action, unscoped && !s.Condition]).toEqual([action, false]);
      }
    }
    const actions = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat());
    expect(actions(memberStatements())).not.toContain('ec2:StopInstances');
    expect(actions(memberStatements())).not.toContain('securityhub:BatchImportFindings');
    const withAll = memberTemplate({ remediation: true, securityHubExport: true }) as { Resources: Record<string, Resource> };
    const all = (withAll.Resources.MemberRole.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>).flatMap((p) => p.PolicyDocument.Statement);
    const stop = all.find((s) => [s.Action].flat().includes('ec2:StopInstances'))!;
    expect(stop.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ai-visibility:idle-action': 'stop' } });
    const tagging = all.find((s) => [s.Action].flat().includes('tag:TagResources'))!;
    expect(tagging.Condition).toEqual({ 'ForAllValues:StringLike': { 'aws:TagKeys': ['ai-visibility:*'] } });
    expect(actions(all)).toContain('securityhub:BatchImportFindings');
  });

  it("the member role's own calls match no capture rule: the hub's tagging never comes back as events", () => {
    const session = {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLEMEMBER001:tagger',
      arn: `arn:aws:sts::444455556666:assumed-role/${MEMBER_ROLE_NAME}/tagger`,
      accountId: '444455556666',
      sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEMEMBER001', arn: `arn:aws:iam::444455556666:role${OWN_ROLE_PATH}${MEMBER_ROLE_NAME}`, accountId: '444455556666', userName: MEMBER_ROLE_NAME } },
    };
    // The documented RunInstances record's shape, with the Bedrock TagResource parameters of its API reference.
    const tag = { ...documentedRecord('RunInstances'), eventSource: 'bedrock.amazonaws.com', eventName: 'TagResource', recipientAccountId: '444455556666', userIdentity: session, requestParameters: { resourceARN: 'arn:aws:bedrock:us-east-1:444455556666:guardrail/g1', tags: [{ key: 'ai-visibility:kind', value: 'guardrail' }] }, responseElements: null };
    const rules = compileRules();
    expect(matchingRules(toEnvelope(tag), rules)).toEqual([]);
    expect(matchingRules(toEnvelope({ ...tag, userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::444455556666:user/alice', accountId: '444455556666' } }), rules)).toEqual(['Bedrock']);
  });
});

describe('the central bus, through the replay model of its policy', () => {
  const statement = of(template, 'AWS::Events::EventBusPolicy')[0][1].Properties.Statement as PolicyStatement;
  const BUS = 'arn:aws:events:us-east-1:111122223333:event-bus/AiVisibility-organization';
  const resolved: PolicyStatement = { ...statement, Resource: BUS };
  const put = (account: string, context: Record<string, string>, action = 'events:PutEvents') => evaluateBusPolicy([resolved], { account, action, resource: BUS, context });

  it('admits a member account of the organization', () => {
    expect(put('444455556666', { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5', 'aws:PrincipalAccount': '444455556666' })).toEqual({ allowed: true, by: 'OrganizationMembersPutEvents' });
  });

  it('rejects an account of another organization, or of none, and anything but PutEvents', () => {
    expect(put('999988887777', { 'aws:PrincipalOrgID': 'o-zzzzzzzzzz', 'aws:PrincipalAccount': '999988887777' })).toEqual({ allowed: false, reason: 'implicit deny: OrganizationMembersPutEvents: aws:PrincipalOrgID=o-zzzzzzzzzz is not o-a1b2c3d4e5' });
    expect(put('999988887777', { 'aws:PrincipalAccount': '999988887777' })).toEqual({ allowed: false, reason: 'implicit deny: OrganizationMembersPutEvents: aws:PrincipalOrgID is not in the request' });
    expect(put('444455556666', { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' }, 'events:PutRule').allowed).toBe(false);
  });
});

describe('cdk-nag AwsSolutions, organization mode', () => {
  const nag = synthesis.nag;

  it.each([
    ['the hub', () => orgConfig()],
    ['the hub with remediation and the Security Hub export', () => orgConfig({}, { remediation: { mode: 'on' }, securityHubExport: true })],
  ])('passes with zero unacknowledged findings: %s', (_name, config) => {
    expect(() => nag((app) => new AiVisibilityStack(app, 'AiVisibility', { config: config() }))).not.toThrow();
  });

  it.each([
    ['default', {}],
    ['with remediation and the Security Hub export', { remediation: true, securityHubExport: true }],
  ])('passes on the member stack deployed directly: %s', (_name, props) => {
    expect(() => nag((app) => new AiVisibilityMemberStack(app, 'AiVisibilityMember', props))).not.toThrow();
  });

  it('the member template as deployed by the StackSet matches the stack deployed directly', () => {
    const app = synthesis.app();
    const direct = Template.fromStack(new AiVisibilityMemberStack(app, 'AiVisibilityMember')).toJSON() as { Resources: Record<string, unknown> };
    const { CDKMetadata: _metadata, ...resources } = direct.Resources;
    expect(resources).toEqual(member.Resources);
  });
});

describe('the trail reader (agentTrail)', () => {
  const TRAIL = { bucketName: 'org-trail-logs', keyPrefix: 'ct', bucketAccount: '999988887777', kmsKeyArn: 'arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab' };
  const withTrail = hub(orgConfig({}, { agentTrail: TRAIL }));
  const queues = () => of(withTrail, 'AWS::SQS::Queue').filter(([id]) => id.startsWith('TrailReader'));
  const [[queueId]] = queues().filter(([id]) => id.startsWith('TrailReaderQueue'));
  const fn = () => of(withTrail, 'AWS::Lambda::Function').find(([, r]) => (r.Properties.Environment as { Variables: Record<string, string> } | undefined)?.Variables?.TRAIL_BUCKET)![1];
  const statementsOf = (roleRef: string) =>
    of(withTrail, 'AWS::IAM::Policy')
      .filter(([, r]) => JSON.stringify(r.Properties.Roles).includes(roleRef))
      .flatMap(([, r]) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

  it('is not there unless a bucket is configured, and organization mode without it warns', () => {
    expect(of(template, 'AWS::Lambda::Function').some(([, r]) => JSON.stringify(r.Properties).includes('TRAIL_BUCKET'))).toBe(false);
    const app = synthesis.app();
    const stack = new AiVisibilityStack(app, 'AiVisibility', { config: orgConfig() });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('organization mode without agentTrail'))).toHaveLength(1);
  });

  it("takes notifications from the trail's bucket in its account only (and S3 may use the queue's key for that bucket only)", () => {
    const policy = of(withTrail, 'AWS::SQS::QueuePolicy').find(([, r]) => JSON.stringify(r.Properties.Queues).includes(queueId))![1];
    expect((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::org-trail-logs']] } }, StringEquals: { 'aws:SourceAccount': '999988887777' } } }),
    );
    const keyStatements = of(withTrail, 'AWS::KMS::Key').flatMap(([, r]) => (r.Properties.KeyPolicy as { Statement: Statement[] }).Statement);
    expect(keyStatements).toContainEqual(expect.objectContaining({ Sid: 'TrailBucketNotifications', Principal: { Service: 's3.amazonaws.com' }, Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': '999988887777' } }) }));
  });

  it('queues a look-back for each newly identified agent, not for candidates', () => {
    const rule = of(withTrail, 'AWS::Events::Rule').find(([id]) => id.startsWith('TrailReaderOnAgentWatched'))![1];
    expect(rule.Properties.EventPattern).toEqual({ source: ['ai-visibility'], 'detail-type': ['Principal Watched'], detail: { reason: ['agent'] } });
    expect(JSON.stringify(rule.Properties.Targets)).toContain(queueId);
  });

  it("reads only the trail's log files, lists only under them, decrypts only through S3, and sends to the capture queue", () => {
    const env = (fn().Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ TRAIL_BUCKET: 'org-trail-logs', TRAIL_PREFIX: 'ct', TRAIL_ORGANIZATION_ID: 'o-a1b2c3d4e5', LOOK_BACK_MINUTES: '30' });
    const role = (fn().Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const statements = statementsOf(role);
    const arn = (suffix: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::org-trail-logs${suffix}`]] });
    expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Resource: arn('/ct/AWSLogs/*') }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:ListBucket', Resource: arn(''), Condition: { StringLike: { 's3:prefix': ['ct/AWSLogs/*'] } } }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: TRAIL.kmsKeyArn, Condition: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } } }));
    expect(statements.some((st) => [st.Action].flat().includes('sqs:SendMessage'))).toBe(true);
    // X-Ray takes no resource (every house function has it); nothing else is unscoped.
    expect(statements.filter((st) => st.Resource === '*').map((st) => st.Action)).toEqual([['xray:PutTraceSegments', 'xray:PutTelemetryRecords']]);
  });

  it('passes cdk-nag with zero unacknowledged findings, and subscribes to the trail topic when given one', () => {
    expect(() => synthesis.nag((app) => new AiVisibilityStack(app, 'AiVisibility', { config: orgConfig({}, { agentTrail: { ...TRAIL, notificationTopicArn: 'arn:aws:sns:us-east-1:999988887777:trail-deliveries' } }) }))).not.toThrow();
    const t = hub(orgConfig({}, { agentTrail: { ...TRAIL, notificationTopicArn: 'arn:aws:sns:us-east-1:999988887777:trail-deliveries' } }));
    expect(of(t, 'AWS::SNS::Subscription').map(([, r]) => r.Properties)).toContainEqual(expect.objectContaining({ Protocol: 'sqs', TopicArn: 'arn:aws:sns:us-east-1:999988887777:trail-deliveries', RawMessageDelivery: true }));
  });

  it('validates its settings with clear messages', () => {
    const problems = (agentTrail: unknown) => {
      try {
        readConfig({ agentTrail });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(readConfig({}).agentTrail).toEqual({ bucketName: null, keyPrefix: '', organizationTrail: null, bucketAccount: null, kmsKeyArn: null, notificationTopicArn: null, lookBackMinutes: 30 });
    expect(problems({ bucketName: 'Bad_Bucket', keyPrefix: '/ct/', bucketAccount: '12', kmsKeyArn: 'alias/x', lookBackMinutes: 2000, colour: 1, organizationTrail: true })).toEqual([
      'unknown setting "agentTrail.colour" (known: bucketName, keyPrefix, organizationTrail, bucketAccount, kmsKeyArn, notificationTopicArn, lookBackMinutes)',
      'agentTrail.bucketName must be an S3 bucket name or null, got "Bad_Bucket"',
      "agentTrail.keyPrefix must be the trail's S3 key prefix (at most 200 characters, no slash at either end), got \"/ct/\"",
      'agentTrail.bucketAccount must be a 12-digit account id or null, got "12"',
      'agentTrail.kmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or null, got "alias/x"',
      'agentTrail.lookBackMinutes must be a whole number from 0 to 1440, got 2000',
      'agentTrail.organizationTrail needs organization.organizationId (the organization trail keeps its files under AWSLogs/<organization id>/)',
    ]);
  });
});

describe('organization configuration', () => {
  it('is off by default, and enabled takes the organization, the OUs and the regions', () => {
    expect(readConfig({}).organization.enabled).toBe(false);
    expect(orgConfig().organization).toMatchObject({ ...ORG, homeRegion: null, delegatedAdmin: true, accounts: [] });
  });

  it('lists every problem with a clear message', () => {
    const problems = (organization: unknown) => {
      try {
        readConfig({ organization });
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ enabled: true })).toEqual([
      "organization.organizationId must be the organization's id (o- and 10-32 letters or digits: aws organizations describe-organization), got \"\"",
      'organization.memberOus must name at least one OU (or the root, r-...) when organization.enabled is true',
      'organization.regions must name at least one region when organization.enabled is true',
    ]);
    expect(problems({ ...ORG, regions: ['eu-west-1'] })).toEqual(['organization.regions must include us-east-1: IAM, STS and Organizations events (agent declarations, owner tags) arrive only there']);
    expect(problems({ ...ORG, memberOus: ['ou-x'], accounts: ['12345'], homeRegion: 'mars-1', colour: 'blue', stackSetOperationPreferences: { failureTolerancePercentage: 101, regionConcurrencyType: 'RANDOM', speed: 1 } })).toEqual([
      'unknown setting "organization.colour" (known: enabled, organizationId, memberOus, regions, homeRegion, delegatedAdmin, accounts, stackSetOperationPreferences)',
      'unknown setting "organization.stackSetOperationPreferences.speed" (known: failureTolerancePercentage, maxConcurrentPercentage, regionConcurrencyType)',
      'organization.memberOus must be a list of OU ids (ou-...) or the root id (r-...), got ["ou-x"]',
      'organization.homeRegion must be a region name or null (the stack\'s region), got "mars-1"',
      'organization.accounts must be a list of 12-digit account ids, got ["12345"]',
      'organization.stackSetOperationPreferences.failureTolerancePercentage must be a whole number from 0 to 100, got 101',
      'organization.stackSetOperationPreferences.regionConcurrencyType must be SEQUENTIAL or PARALLEL, got "RANDOM"',
    ]);
    expect(problems({ ...ORG, memberOus: ['r-ab12'] })).toEqual([]);
  });
});
