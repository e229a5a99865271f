/**
 * The synthesized template: every security-relevant property asserted, and cdk-nag's
 * AwsSolutions pack with zero unacknowledged findings. Synthesis skips asset bundling
 * (`aws:cdk:bundling-stacks`); CI runs one real `cdk synth` that bundles.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { captureRules, MODEL_FILE_SUFFIXES } from '../../lib/capture/patterns';
import { AiVisibilityStack } from '../../lib/stacks/ai-visibility-stack';
import { ConfigError, DEFAULT_CONFIG, readConfig, type AiVisibilityConfig } from '../../lib/config';
import { HOUSE_RUNTIME } from '../../lib/constructs/house-function';
import { CLASSIFIER_ENVIRONMENT, DEFAULT_AGENT_ENVIRONMENT, DEFAULT_MODEL_USE_ENVIRONMENT } from '../../lambdas/classifier/environment';
import { environmentFor, EnvironmentError, readEnvironment } from '../../lambdas/shared/environment';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { useSynth } from '../support';
import { compileEventPattern } from '../../lambdas/shared/event-pattern';

const synthesis = useSynth();

function synth(config: Partial<AiVisibilityConfig> = {}): Template {
  const app = synthesis.app();
  const stack = new AiVisibilityStack(app, 'AiVisibility', { config: { ...DEFAULT_CONFIG, ...config } });
  return Template.fromStack(stack);
}

const template = synth();
const resources = (type: string) => template.findResources(type);
const one = (type: string) => {
  const found = Object.values(resources(type));
  expect(found).toHaveLength(1);
  return found[0] as { Properties: Record<string, unknown>; DeletionPolicy?: string };
};
/** The one resource of a type whose logical id starts with `prefix` (a construct's id). */
const oneOf = (type: string, prefix: string) => {
  const found = Object.entries(resources(type)).filter(([id]) => id.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0][1] as { Properties: Record<string, unknown>; DeletionPolicy?: string };
};
const logicalId = (type: string, fragment: string) => Object.keys(resources(type)).find((k) => k.includes(fragment))!;
/** The resource of a type whose logical id contains `fragment`. */
const named = (type: string, fragment: string) => resources(type)[logicalId(type, fragment)] as { Properties: Record<string, unknown>; DeletionPolicy?: string };
/** The capture rules (the repair schedule of the agent capture is a rule too). */
const captureRuleResources = () => Object.fromEntries(Object.entries(resources('AWS::Events::Rule')).filter(([id]) => id.startsWith('Capture')));

describe('capture rules', () => {
  it('creates one rule per capture spec, with the shared pattern and the right state', () => {
    expect(Object.keys(captureRuleResources())).toHaveLength(captureRules().length);
    for (const spec of captureRules()) {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: 'default',
        EventPattern: Match.objectEquals(spec.pattern),
        State: spec.includeReadOnlyManagementEvents ? 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' : 'ENABLED',
      });
    }
  });

  it('sends every rule to the capture queue, with retries and a dead-letter queue', () => {
    const queue = logicalId('AWS::SQS::Queue', 'CaptureQueue');
    const dlq = logicalId('AWS::SQS::Queue', 'CaptureDeadLetterQueue');
    for (const rule of Object.values(captureRuleResources()) as Array<{ Properties: { Targets: unknown[] } }>) {
      expect(rule.Properties.Targets).toEqual([
        {
          Id: 'CaptureQueue',
          Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        },
      ]);
    }
  });

  it('lets EventBridge send to the queues only on behalf of these rules', () => {
    const ruleArns = Object.keys(captureRuleResources()).map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
    const policies = (Object.values(resources('AWS::SQS::QueuePolicy')) as Array<{ Properties: { Queues: Array<{ Ref: string }>; PolicyDocument: { Statement: Array<Record<string, unknown>> } } }>).filter((p) =>
      p.Properties.Queues[0].Ref.startsWith('Capture'),
    );
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          expect.objectContaining({ Effect: 'Allow', Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' }, Condition: { ArnEquals: { 'aws:SourceArn': ruleArns } } }),
          // and the agent capture rules the sync function creates after deployment
          expect.objectContaining({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':rule/AiVisibility-agents-*']] } } },
          }),
        ]),
      );
    }
  });
});

describe('capture queue', () => {
  it('is encrypted with a rotating customer-managed key, keeps 14 days, and dead-letters after 5 deliveries', () => {
    const key = logicalId('AWS::KMS::Key', 'CaptureKey');
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
      MessageRetentionPeriod: 1209600,
      VisibilityTimeout: 360,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'CaptureDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, KeyPolicy: Match.objectLike({ Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } })]) }) });
  });
});

describe('inventory table', () => {
  it('is on-demand, point-in-time recoverable, encrypted with its own rotating key, protected and retained', () => {
    const table = one('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'InventoryKey'), 'Arn'] } },
      DeletionProtectionEnabled: true,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    const indexes = table.Properties.GlobalSecondaryIndexes as Array<{ IndexName: string; Projection: { ProjectionType: string } }>;
    expect(indexes.map((i) => [i.IndexName, i.Projection.ProjectionType])).toEqual([
      ['byKind', 'INCLUDE'],
      ['byAccount', 'INCLUDE'],
      ['byPrincipal', 'INCLUDE'],
    ]);
    expect(Object.values(resources('AWS::KMS::Key')).every((k) => (k as { Properties: { EnableKeyRotation: boolean } }).Properties.EnableKeyRotation)).toBe(true);
  });

  it('can be made disposable for test accounts (retainData: false)', () => {
    const disposable = synth({ retainData: false });
    const table = Object.values(disposable.findResources('AWS::DynamoDB::Table'))[0] as { DeletionPolicy: string; Properties: Record<string, unknown> };
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    // Nothing of it stays behind: no key, bucket or log group is retained.
    const retained = Object.entries({ ...disposable.findResources('AWS::KMS::Key'), ...disposable.findResources('AWS::Logs::LogGroup') }).filter(([, r]) => (r as { DeletionPolicy?: string }).DeletionPolicy === 'Retain');
    expect(retained.map(([id]) => id)).toEqual([]);
    // And with retainData (the default), the keys that can decrypt what is kept stay too.
    expect(named('AWS::KMS::Key', 'CaptureKey').DeletionPolicy).toBe('Retain');
  });
});

describe('resource tags', () => {
  it('tags every taggable resource with the stack, and with the configured tags', () => {
    const tagged = synth({ resourceTags: { 'cost-center': 'security', team: 'secops' } });
    const taggable = ['AWS::SQS::Queue', 'AWS::KMS::Key', 'AWS::DynamoDB::Table', 'AWS::Lambda::Function', 'AWS::IAM::Role', 'AWS::Logs::LogGroup', 'AWS::StepFunctions::StateMachine', 'AWS::Events::EventBus'];
    for (const type of taggable) {
      for (const [id, r] of Object.entries(tagged.findResources(type))) {
        const tags = (r as { Properties: { Tags?: Array<{ Key: string; Value: unknown }> } }).Properties.Tags ?? [];
        expect([id, tags]).toEqual([id, expect.arrayContaining([{ Key: 'ai-visibility:stack', Value: 'AiVisibility' }, { Key: 'cost-center', Value: 'security' }, { Key: 'team', Value: 'secops' }])]);
      }
    }
    expect(() => readConfig({ resourceTags: { 'aws:createdBy': 'me' } })).toThrow(/resourceTags must map/);
  });
});

describe('classifier function (the house Lambda construct)', () => {
  it('runs the newest Node.js runtime aws-cdk-lib offers, on arm64, with JSON logs and tracing', () => {
    const newest = Object.values(lambda.Runtime)
      .filter((r): r is lambda.Runtime => r instanceof lambda.Runtime && /^nodejs\d+\.x$/.test(r.name))
      .map((r) => Number(/\d+/.exec(r.name)![0]))
      .sort((a, b) => b - a)[0];
    expect(HOUSE_RUNTIME.name).toBe(`nodejs${newest}.x`);
    const fn = named('AWS::Lambda::Function', 'ClassifierFunction').Properties;
    expect(fn).toMatchObject({
      Runtime: HOUSE_RUNTIME.name,
      Architectures: ['arm64'],
      Timeout: 60,
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: { Ref: logicalId('AWS::Logs::LogGroup', 'Classifier') } },
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          TABLE_NAME: { Ref: logicalId('AWS::DynamoDB::Table', 'Inventory') },
          POWERTOOLS_SERVICE_NAME: 'ai-visibility-classifier',
          POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility',
          AGENT_BEHAVIOUR_WINDOW_SECONDS: '900',
          AGENT_DENIED_BURST_COUNT: '5',
          AGENT_DENIED_BURST_SECONDS: '300',
          ACTION_LEDGER_RETENTION_DAYS: '400',
          MODEL_RECON_WINDOW_SECONDS: '900',
          MODEL_PROBE_BURST_COUNT: '10',
          MODEL_PROBE_BURST_SECONDS: '300',
          MODEL_BASELINE_HOURS: '24',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it('source maps only when asked: they cost cold-start time', () => {
    const classifier = (t: Template) => Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.includes('ClassifierFunction'))![1] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(classifier(template).Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    expect(classifier(synth({ lambdaSourceMaps: true })).Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('gives a dead-letter queue only to the function that sends its failures to one (the change feed); queues feed the others', () => {
    const withDlq = Object.entries(resources('AWS::Lambda::Function')).filter(([, f]) => (f as { Properties: Record<string, unknown> }).Properties.DeadLetterConfig).map(([id]) => id);
    expect(withDlq).toEqual([logicalId('AWS::Lambda::Function', 'ChangeFeedFunction')]);
  });

  it('drains the queue in batches with partial batch responses, at a bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'CaptureQueue'), 'Arn'] },
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    expect(JSON.stringify(synth({ classifierMaxConcurrency: 50 }).findResources('AWS::Lambda::EventSourceMapping'))).toContain('"MaximumConcurrency":50');
  });

  it('has its own role under the /ai-visibility/ path, with no managed policy (every role of the stack does)', () => {
    const roles = Object.values(resources('AWS::IAM::Role')) as Array<{ Properties: Record<string, unknown> }>;
    // The ten functions' roles (the tagger's, discovery's and the event-history import's too), the
    // sweep's, discovery's and the import's state machine roles, the sweep's and discovery's
    // scheduler roles, and the roles discovery's after-deploy rule and the import's after-create rule start them with.
    expect(roles).toHaveLength(17);
    for (const role of roles) {
      expect(role.Properties.Path).toBe('/ai-visibility/');
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('may do exactly what it needs, on its own resources', () => {
    const statements = (named('AWS::IAM::Policy', 'ClassifierFunctionRole').Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }> }).Statement.map((s) => ({
      ...s,
      Action: Array.isArray(s.Action) ? [...s.Action].sort() : s.Action,
    }));
    const ref = (type: string, fragment: string) => ({ 'Fn::GetAtt': [logicalId(type, fragment), 'Arn'] });
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: ref('AWS::Logs::LogGroup', 'Classifier') },
      { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], Resource: ref('AWS::DynamoDB::Table', 'Inventory') },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
        Resource: ref('AWS::KMS::Key', 'InventoryKey'),
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] } } },
      },
      // The agent tag of roles and users tagged before the deploy: read-only, this account's.
      {
        Sid: 'AgentTagLookups',
        Effect: 'Allow',
        Action: ['iam:ListRoleTags', 'iam:ListUserTags'],
        Resource: ['role', 'user'].map((r) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, `:${r}/*`]] })),
      },
      // The guardrail versions an enforced configuration moves between: read-only, this account's.
      { Sid: 'GuardrailVersions', Effect: 'Allow', Action: 'bedrock:GetGuardrail', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:*:', { Ref: 'AWS::AccountId' }, ':guardrail/*']] } },
      { Effect: 'Allow', Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Resource: ref('AWS::SQS::Queue', 'LineageQueue') },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: ref('AWS::KMS::Key', 'CaptureKey'),
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['sqs.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] } } },
      },
      { Effect: 'Allow', Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], Resource: ref('AWS::SQS::Queue', 'CaptureQueue') },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: ref('AWS::KMS::Key', 'CaptureKey') },
    ]);
    for (const s of statements) for (const action of [s.Action].flat()) expect(action).not.toMatch(/\*$/);
  });

  it("can read no function's configuration (it holds environment variables, often secrets); no role of the stack can", () => {
    expect(JSON.stringify(resources('AWS::IAM::Policy'))).not.toMatch(/lambda:Get(Function|FunctionConfiguration)\b/);
  });
});

describe('agent capture', () => {
  const sync = () => named('AWS::Lambda::Function', 'AgentCaptureSyncFunction').Properties;
  const syncQueue = () => logicalId('AWS::SQS::Queue', 'AgentCaptureSyncQueue');

  it('runs one sync at a time through a FIFO queue with one message group, with no reserved concurrency', () => {
    // A reservation may not bring the unreserved pool below 10; new accounts often have 10 in all.
    for (const fn of Object.values(resources('AWS::Lambda::Function'))) expect((fn as { Properties: Record<string, unknown> }).Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(resources('AWS::SQS::Queue')[syncQueue()]).toMatchObject({
      Properties: { FifoQueue: true, ContentBasedDeduplication: true, KmsMasterKeyId: { 'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'CaptureKey'), 'Arn'] }, RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'AgentCaptureSyncDeadLetterQueue'), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: { 'Fn::GetAtt': [syncQueue(), 'Arn'] }, FunctionName: { Ref: logicalId('AWS::Lambda::Function', 'AgentCaptureSyncFunction') }, BatchSize: 10 });
    // Principal Watched (on the domain event bus) and the hourly repair both queue a request in the one group.
    const toQueue = Match.objectLike({ Arn: { 'Fn::GetAtt': [syncQueue(), 'Arn'] }, SqsParameters: { MessageGroupId: 'agent-capture-sync' }, DeadLetterConfig: Match.anyValue() });
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: { Ref: logicalId('AWS::Events::EventBus', 'DomainEvents') }, EventPattern: { source: ['ai-visibility'], 'detail-type': ['Principal Watched'] }, Targets: [toQueue] });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)', Targets: [toQueue] });
    expect(sync().Environment).toMatchObject({
      Variables: { EVENT_BUS_NAME: 'default', CAPTURE_QUEUE_ARN: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'CaptureQueue'), 'Arn'] }, AGENT_RULE_PREFIX: 'AiVisibility-agents-', EVENT_PATTERN_QUOTA: '2048' },
    });
    expect(synth({ eventPatternQuota: 4096 }).findResources('AWS::Lambda::Function')[logicalId('AWS::Lambda::Function', 'AgentCaptureSyncFunction')]).toMatchObject({ Properties: { Environment: { Variables: { EVENT_PATTERN_QUOTA: '4096' } } } });
  });

  it("may manage only its own stack's rules, point them only at the capture queue, and read only the watched index", () => {
    const statements = (named('AWS::IAM::Policy', 'SyncFunctionRole').Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }> }).Statement;
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    const rulePrefix = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':rule/AiVisibility-agents-*']] };
    for (const action of ['events:PutRule', 'events:PutTargets', 'events:RemoveTargets', 'events:DeleteRule', 'events:ListTargetsByRule']) expect(byAction(action).map((s) => s.Resource)).toEqual([rulePrefix]);
    expect(byAction('events:PutTargets')[0].Condition).toEqual({ ArnEquals: { 'events:TargetArn': [{ 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'CaptureQueue'), 'Arn'] }] } });
    expect(byAction('events:ListRules').map((s) => s.Resource)).toEqual(['*']);
    expect(byAction('dynamodb:Query').map((s) => s.Resource)).toEqual([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'Inventory'), 'Arn'] }, '/index/byKind']] }]);
    expect(byAction('dynamodb:PutItem')).toEqual([]);
  });

  it('names the rules after the stack, so two stacks in one account keep apart', () => {
    const prefixes = ['Security', 'Sandbox'].map((name) => {
      const t = Template.fromStack(new AiVisibilityStack(synthesis.app(), name, { config: DEFAULT_CONFIG }));
      const fn = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.includes('AgentCaptureSyncFunction'))![1] as { Properties: { Environment: { Variables: Record<string, string> } } };
      return fn.Properties.Environment.Variables.AGENT_RULE_PREFIX;
    });
    expect(prefixes).toEqual(['Security-agents-', 'Sandbox-agents-']);
  });

  it('removes its rules when the stack is deleted, after the sync queue stops feeding the function', () => {
    const cleanup = Object.entries(resources('Custom::AgentCaptureRules'));
    expect(cleanup).toHaveLength(1);
    const [cleanupId, resource] = cleanup[0] as [string, { Properties: Record<string, unknown> }];
    expect(resource.Properties).toMatchObject({ ServiceToken: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'AgentCaptureSyncFunction'), 'Arn'] }, RulePrefix: 'AiVisibility-agents-' });
    // The mapping depends on the cleanup: CloudFormation deletes the mapping first.
    const mapping = Object.values(resources('AWS::Lambda::EventSourceMapping')).find((m) => JSON.stringify(m).includes(syncQueue())) as { DependsOn?: string[] };
    expect(mapping.DependsOn).toContain(cleanupId);
  });
});

describe('change feed', () => {
  const feed = () => named('AWS::Lambda::Function', 'ChangeFeedFunction').Properties;
  const mappingsOnStream = () =>
    Object.values(resources('AWS::Lambda::EventSourceMapping')).filter((m) => JSON.stringify((m as { Properties: { EventSourceArn: unknown } }).Properties.EventSourceArn).includes('StreamArn')) as Array<{ Properties: Record<string, unknown> }>;

  it('reads the table stream with new and old images, and is its only reader', () => {
    expect(one('AWS::DynamoDB::Table').Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    const mappings = mappingsOnStream();
    expect(mappings).toHaveLength(1);
    expect(mappings[0].Properties.FunctionName).toEqual({ Ref: logicalId('AWS::Lambda::Function', 'ChangeFeedFunction') });
  });

  it('takes only the inserts and modifications of the items events are made from, bisects failures and resumes at the first failed record', () => {
    expect(mappingsOnStream()[0].Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRecordAgeInSeconds: 86400,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'ChangeFeedFunctionDlq'), 'Arn'] } } },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT', 'MODIFY'], dynamodb: { NewImage: { entity: { S: ['finding', 'resource', 'agent', 'watch'] } } } }) }] },
    });
  });

  it('publishes on the stack\'s own domain event bus, and may publish nowhere else', () => {
    const bus = logicalId('AWS::Events::EventBus', 'DomainEvents');
    expect(feed()).toMatchObject({ Runtime: HOUSE_RUNTIME.name, Architectures: ['arm64'], Environment: { Variables: { EVENT_BUS_NAME: { Ref: bus }, POWERTOOLS_SERVICE_NAME: 'ai-visibility-change-feed' } } });
    const statements = (named('AWS::IAM::Policy', 'ChangeFeedFunctionRole').Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement;
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource);
    expect(byAction('events:PutEvents')).toEqual([{ 'Fn::GetAtt': [bus, 'Arn'] }]);
    // It reads the controls of findings and caches tag lookups: it may put only under LOOKUP#, and never update or delete.
    for (const s of statements.filter((x) => [x.Action].flat().some((a) => /^dynamodb:(Put|BatchWrite)/.test(a)))) expect((s as { Condition?: unknown }).Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LOOKUP#*'] } });
    for (const s of statements) for (const action of [s.Action].flat()) expect(action).not.toMatch(/^dynamodb:(Update|Delete)/);
    const lookups = (named('AWS::IAM::Policy', 'ChangeFeedTagLookups').Properties.PolicyDocument as { Statement: Array<{ Action: string | string[] }> }).Statement.flatMap((st) => [st.Action].flat());
    expect(lookups).toEqual(['tag:GetResources']);
  });
});

describe('lineage propagation', () => {
  const variables = (fragment: string) => (named('AWS::Lambda::Function', fragment).Properties.Environment as { Variables: Record<string, unknown> }).Variables;

  it('is a FIFO queue grouped by node, with a FIFO dead-letter queue, drained ten at a time with partial failures', () => {
    const queue = named('AWS::SQS::Queue', 'LineageQueue').Properties;
    expect(queue).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false, DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId', VisibilityTimeout: 360 });
    expect(queue.RedrivePolicy).toMatchObject({ deadLetterTargetArn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'LineageDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 5 });
    expect(named('AWS::SQS::Queue', 'LineageDeadLetterQueue').Properties).toMatchObject({ FifoQueue: true });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'LineageQueue'), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('gets the classification scheme from the configuration, and the classifier gets the queue', () => {
    expect(variables('LineageFunction')).toMatchObject({ CLASSIFICATION_TAG_KEY: 'data-classification', CLASSIFICATION_LEVELS: 'public,internal,confidential,restricted', SENSITIVE_FROM_LEVEL: 'confidential' });
    const custom = synth({ classificationTagKey: 'sensitivity', classificationLevels: ['low', 'high'], sensitiveFromLevel: 'high' });
    const withKey = Object.entries(custom.findResources('AWS::Lambda::Function'))
      .map(([id, f]) => [id, (f as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment?.Variables ?? {}] as const)
      .filter(([, v]) => v.CLASSIFICATION_TAG_KEY);
    // The propagator reads the scheme; the classifier reads the key from the tag calls of resources other than buckets.
    expect(withKey.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['ClassifierFunction', 'LineageFunction']);
    expect(withKey.find(([id]) => id.startsWith('Lineage'))![1]).toMatchObject({ CLASSIFICATION_TAG_KEY: 'sensitivity', CLASSIFICATION_LEVELS: 'low,high', SENSITIVE_FROM_LEVEL: 'high', RESOURCE_TAG_LOOKUPS: 'true' });
    expect(withKey.find(([id]) => id.startsWith('Classifier'))![1]).toMatchObject({ CLASSIFICATION_TAG_KEY: 'sensitivity' });
    expect(variables('ClassifierFunction').LINEAGE_QUEUE_URL).toEqual({ Ref: logicalId('AWS::SQS::Queue', 'LineageQueue') });
  });

  it('may look up the tags of other resources (tag:GetResources, which has no resource-level permissions), in a policy of its own', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('LineageTagLookups'));
    expect(policies).toHaveLength(1);
    const [, policy] = policies[0] as [string, { Properties: { PolicyDocument: { Statement: unknown[] }; Roles: unknown[] } }];
    expect(policy.Properties.PolicyDocument.Statement).toEqual([{ Action: 'tag:GetResources', Effect: 'Allow', Resource: '*' }]);
    expect(policy.Properties.Roles).toEqual([{ Ref: logicalId('AWS::IAM::Role', 'LineageFunctionRole') }]);
  });

  it('may read bucket tags, its table, and send only to its own queue', () => {
    const statements = (named('AWS::IAM::Policy', 'LineageFunctionRole').Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement;
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource);
    expect(byAction('s3:GetBucketTagging')).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::*']] }]);
    expect(byAction('sqs:SendMessage')).toEqual(expect.arrayContaining([{ 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'LineageQueue'), 'Arn'] }]));
    expect(byAction('dynamodb:PutItem')).toEqual([{ 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'Inventory'), 'Arn'] }]);
    for (const s of statements) for (const action of [s.Action].flat()) expect(action).not.toMatch(/\*$/);
  });

  it('rejects a threshold that is not a level, and levels that repeat', () => {
    expect(() => readConfig({ sensitiveFromLevel: 'secret' })).toThrow(/sensitiveFromLevel must be one of classificationLevels \(public, internal, confidential, restricted\)/);
    expect(() => readConfig({ classificationLevels: ['low', 'LOW'] })).toThrow(/classificationLevels must be a list of at least two distinct levels/);
    expect(() => readConfig({ classificationTagKey: 'aws:secret' })).toThrow(/classificationTagKey must be a tag key/);
  });
});

describe('day-zero discovery', () => {
  const definition = () => JSON.stringify(oneOf('AWS::StepFunctions::StateMachine', 'Discovery').Properties);
  const policyOf = (fragment: string) =>
    Object.entries(resources('AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith(fragment))
      .flatMap(([, p]) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown; Sid?: string }> } } }).Properties.PolicyDocument.Statement);

  it('lists daily (Scheduler, with a dead-letter queue) and once after each create or update of this stack (its own Stack Status Change events)', () => {
    const schedule = oneOf('AWS::Scheduler::Schedule', 'Discovery').Properties as { ScheduleExpression: string; Target: Record<string, unknown> };
    expect(schedule.ScheduleExpression).toBe('rate(1 day)');
    expect(schedule.Target.DeadLetterConfig).toBeDefined();
    const rule = oneOf('AWS::Events::Rule', 'DiscoveryAfterDeployRule').Properties as { EventPattern: Record<string, unknown>; Targets: Array<{ RoleArn: unknown }> };
    expect(rule.EventPattern).toEqual({
      source: ['aws.cloudformation'],
      'detail-type': ['CloudFormation Stack Status Change'],
      detail: { 'stack-id': [{ Ref: 'AWS::StackId' }], 'status-details': { status: ['CREATE_COMPLETE', 'UPDATE_COMPLETE'] } },
    });
    expect(rule.Targets[0].RoleArn).toBeDefined();
    expect(Object.keys(synth({ discovery: { ...DEFAULT_CONFIG.discovery, afterDeploy: false } }).findResources('AWS::Events::Rule')).some((id) => id.startsWith('DiscoveryAfterDeploy'))).toBe(false);
    expect(Object.keys(synth({ discovery: { ...DEFAULT_CONFIG.discovery, enabled: false } }).findResources('AWS::StepFunctions::StateMachine'))).toEqual([expect.stringMatching(/^GpuSweep/)]);
  });

  it('is a JSONPath Plan -> Map (bounded, each target caught) -> Summarize machine, retrying throttled invocations', () => {
    const d = definition();
    expect(d).toContain('\\"QueryLanguage\\":\\"JSONPath\\"');
    expect(d).toContain('\\"MaxConcurrency\\":5');
    expect(d).toContain('\\"ErrorEquals\\":[\\"States.ALL\\"],\\"ResultPath\\":\\"$.error\\",\\"Next\\":\\"TargetFailed\\"');
    expect(d).toContain('Lambda.TooManyRequestsException');
  });

  it('may only read the AI services, each Get and Describe in this account only, and write only the inventory and the lineage queue', () => {
    const statements = policyOf('DiscoveryFunctionServiceRole').concat(policyOf('DiscoveryFunctionRole'));
    const actions = statements.flatMap((x) => (Array.isArray(x.Action) ? x.Action : [x.Action]));
    const writes = actions.filter((a) => !/^(bedrock|bedrock-agentcore|sagemaker|ec2):(List|Get|Describe)|^dynamodb:|^kms:|^sqs:(SendMessage|GetQueueAttributes|GetQueueUrl)$|^xray:|^logs:/.test(a));
    expect(writes).toEqual([]);
    expect(actions.filter((a) => a.startsWith('dynamodb:') && !['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem'].includes(a))).toEqual([]);
    const describe = statements.find((x) => x.Sid === 'DiscoveryDescribe')!;
    expect(JSON.stringify(describe.Resource)).not.toContain('"*"');
    for (const service of ['bedrock', 'bedrock-agentcore', 'sagemaker']) expect(JSON.stringify(describe.Resource)).toContain(`:${service}:*:`);
  });

  it('imports event history (LookupEvents) once when the stack is created, for the account-regions discovery lists, reading nothing else and writing only the capture queue', () => {
    const rule = oneOf('AWS::Events::Rule', 'LookupHistoryAfterCreateRule').Properties as { EventPattern: { detail: Record<string, unknown> } };
    expect(rule.EventPattern.detail).toEqual({ 'stack-id': [{ Ref: 'AWS::StackId' }], 'status-details': { status: ['CREATE_COMPLETE'] } });
    const statements = policyOf('LookupHistoryFunctionRole');
    const actions = statements.flatMap((x) => (Array.isArray(x.Action) ? x.Action : [x.Action]));
    expect(actions.filter((a) => !/^xray:|^logs:/.test(a)).sort()).toEqual(['cloudtrail:LookupEvents', 'kms:Decrypt', 'kms:GenerateDataKey', 'sqs:SendMessage']);
    const fn = oneOf('AWS::Lambda::Function', 'LookupHistoryFunction').Properties as { Environment: { Variables: Record<string, unknown> }; Timeout: number };
    expect(fn.Timeout).toBe(900);
    expect(JSON.stringify(fn.Environment.Variables.DISCOVERY_TARGETS)).toContain('AWS::AccountId');
    const without = synth({ discovery: { ...DEFAULT_CONFIG.discovery, lookupHistory: false } });
    expect(Object.keys(without.findResources('AWS::StepFunctions::StateMachine')).some((id) => id.startsWith('LookupHistory'))).toBe(false);
    expect(() => readConfig({ discovery: { lookupHistory: 'yes' } })).toThrow('discovery.lookupHistory must be true or false, got "yes"');
  });
});

describe('GuardDuty AI findings (opt-in)', () => {
  const guardDutyRules = (t: Template) => Object.values(t.findResources('AWS::Events::Rule')).filter((r) => JSON.stringify((r as { Properties: { EventPattern?: unknown } }).Properties.EventPattern ?? '').includes('aws.guardduty')) as Array<{ Properties: { EventBusName?: unknown; Targets: Array<{ Arn: unknown }> } }>;

  it('is off by default, and when on reads the default bus into the capture queue', () => {
    expect(guardDutyRules(template)).toEqual([]);
    const on = guardDutyRules(synth({ guardDutyAiFindings: true }));
    expect(on).toHaveLength(1);
    expect(on[0].Properties.EventBusName).toBe('default');
    expect(JSON.stringify(on[0].Properties.Targets[0].Arn)).toContain('CaptureQueue');
  });
});

describe('GPU utilization sweep', () => {
  it('is a JSONPath state machine, traced and logged, started hourly by EventBridge Scheduler with a role of its own', () => {
    const machine = oneOf('AWS::StepFunctions::StateMachine', 'GpuSweep').Properties;
    expect(machine).toMatchObject({ TracingConfiguration: { Enabled: true }, LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false } });
    const schedule = oneOf('AWS::Scheduler::Schedule', 'GpuSweep').Properties as { ScheduleExpression: string; Target: { Arn: unknown; RoleArn: unknown; Input: string } };
    expect(schedule.ScheduleExpression).toBe('rate(1 hour)');
    expect(schedule.Target.Arn).toEqual({ Ref: logicalId('AWS::StepFunctions::StateMachine', 'GpuSweepStateMachine') });
    expect(schedule.Target.RoleArn).toEqual({ 'Fn::GetAtt': [logicalId('AWS::IAM::Role', 'GpuSweepSchedulerRole'), 'Arn'] });
  });

  it('dead-letters a start Scheduler could not make, and its roles trust their service only for this account', () => {
    const schedule = oneOf('AWS::Scheduler::Schedule', 'GpuSweep').Properties as { Target: Record<string, unknown> };
    expect(schedule.Target).toMatchObject({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'GpuSweepScheduleDeadLetterQueue'), 'Arn'] } }, RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 1800 } });
    const trust = (fragment: string) => (named('AWS::IAM::Role', fragment).Properties.AssumeRolePolicyDocument as { Statement: Array<{ Condition?: Record<string, Record<string, unknown>> }> }).Statement[0].Condition;
    expect(trust('GpuSweepSchedulerRole')).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':scheduler:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':schedule-group/default']] } },
    });
    expect(trust('GpuSweepStateMachineRole')).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':stateMachine:*']] } },
    });
  });

  it('retries throttled Lambda invocations in every task state, and logs under /aws/vendedlogs/', () => {
    const machine = oneOf('AWS::StepFunctions::StateMachine', 'GpuSweep').Properties as { DefinitionString: { 'Fn::Join': [string, unknown[]] } };
    const definition = JSON.parse(machine.DefinitionString['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'x')).join('')) as { States: Record<string, { Type: string; Retry?: Array<{ ErrorEquals: string[] }>; ItemProcessor?: { States: Record<string, { Type: string; Retry?: Array<{ ErrorEquals: string[] }> }> } }> };
    const tasks = Object.values(definition.States).flatMap((st) => [st, ...Object.values(st.ItemProcessor?.States ?? {})]).filter((st) => st.Type === 'Task');
    expect(tasks).toHaveLength(3);
    for (const t of tasks) expect(t.Retry!.flatMap((r) => r.ErrorEquals)).toContain('Lambda.TooManyRequestsException');
    const logGroup = named('AWS::Logs::LogGroup', 'GpuSweepStateMachineLogs').Properties as { LogGroupName: { 'Fn::Join': [string, unknown[]] } };
    expect(logGroup.LogGroupName['Fn::Join'][1][0]).toBe('/aws/vendedlogs/states/AiVisibility-gpu-sweep-');
  });

  it('takes its schedule, window, concurrency, regions, thresholds and prices from the configuration', () => {
    const custom = synth({ sweepSchedule: 'rate(30 minutes)', sweepWindowMinutes: 30, sweepMaxConcurrency: 4, sweepRegions: ['us-east-1', 'eu-west-1'], gpuIdleBelowPct: 3, gpuPrices: { 'p5.48xlarge': 40 } });
    expect((Object.values(custom.findResources('AWS::Scheduler::Schedule'))[0] as { Properties: { ScheduleExpression: string } }).Properties.ScheduleExpression).toBe('rate(30 minutes)');
    const definition = JSON.stringify((Object.values(custom.findResources('AWS::StepFunctions::StateMachine'))[0] as { Properties: unknown }).Properties);
    expect(definition).toContain('\\"MaxConcurrency\\":4');
    const fn = Object.values(custom.findResources('AWS::Lambda::Function')).find((f) => (f as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment?.Variables?.SWEEP_TARGETS) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    expect(fn.Properties.Environment.Variables).toMatchObject({ SWEEP_WINDOW_MINUTES: '30', IDLE_BELOW_PCT: '3', UNDERUTILIZED_BELOW_PCT: '40', MEMORY_HELD_FROM_PCT: '10', GPU_PRICES: '{"p5.48xlarge":40}' });
    expect(JSON.stringify(fn.Properties.Environment.Variables.SWEEP_TARGETS)).toContain(':eu-west-1');
    expect(() => readConfig({ sweepSchedule: 'every hour' })).toThrow(/sweepSchedule must be an EventBridge Scheduler rate/);
    expect(() => readConfig({ gpuIdleBelowPct: 50 })).toThrow(/gpuIdleBelowPct \(50\) must not be above gpuUnderutilizedBelowPct \(40\)/);
    expect(() => readConfig({ gpuPrices: { 'p5.48xlarge': -1 } })).toThrow(/gpuPrices must map instance types/);
  });

  it('sweeps with one function and plans and summarizes with another: each may do only its part', () => {
    const statementsOf = (fragment: string) => (named('AWS::IAM::Policy', fragment).Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement;
    const target = statementsOf('GpuSweepTargetFunctionRole');
    for (const a of target.flatMap((st) => [st.Action].flat())) expect(a).toMatch(/^(ec2:Describe|sagemaker:(List|Describe)|bedrock:List|cloudwatch:GetMetricData|tag:GetResources|dynamodb:|kms:|logs:|xray:Put)/);
    const control = statementsOf('GpuSweepFunctionRole');
    for (const a of control.flatMap((st) => [st.Action].flat())) expect(a).toMatch(/^(events:PutEvents|logs:|xray:Put)/);
    const putEvents = control.filter((st) => [st.Action].flat().includes('events:PutEvents')).map((st) => st.Resource);
    expect(putEvents).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default']] }]);
    // The state machine calls the target function for SweepTarget, the other for Plan and Summarize.
    const definition = JSON.stringify(oneOf('AWS::StepFunctions::StateMachine', 'GpuSweep').Properties);
    expect(definition).toContain(logicalId('AWS::Lambda::Function', 'GpuSweepTargetFunction'));
    expect(definition).toContain(logicalId('AWS::Lambda::Function', 'GpuSweepFunction'));
  });

});

describe('opt-in data-event trail', () => {
  it('is off by default', () => {
    expect(resources('AWS::CloudTrail::Trail')).toEqual({});
  });

  const withTrail = synth({ dataEventTrail: true });
  const trail = () => Object.values(withTrail.findResources('AWS::CloudTrail::Trail'))[0] as { Properties: Record<string, unknown>; DependsOn?: string[] };
  const trailArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudtrail:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':trail/AiVisibility-ai-data-events']] };

  it('is one trail per regional stack, for its own region: a multi-region trail would need global service events and log every region once per stack', () => {
    // CloudTrail refuses a multi-region trail without global service events.
    for (const t of Object.values(withTrail.findResources('AWS::CloudTrail::Trail')) as Array<{ Properties: Record<string, unknown> }>) {
      if (t.Properties.IsMultiRegionTrail) expect(t.Properties.IncludeGlobalServiceEvents).toBe(true);
    }
    expect(trail().Properties).toMatchObject({ TrailName: 'AiVisibility-ai-data-events', IsMultiRegionTrail: false, IncludeGlobalServiceEvents: false });
  });

  it('encrypts its log files with a rotating key of its own that CloudTrail may use for this trail only', () => {
    const keyId = Object.keys(withTrail.findResources('AWS::KMS::Key')).find((k) => k.includes('DataEventTrailKey'))!;
    expect(trail().Properties.KMSKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const key = withTrail.findResources('AWS::KMS::Key')[keyId] as { Properties: { EnableKeyRotation: boolean; KeyPolicy: { Statement: Array<Record<string, unknown>> } } };
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const forCloudTrail = key.Properties.KeyPolicy.Statement.filter((st) => JSON.stringify(st.Principal).includes('cloudtrail.amazonaws.com'));
    expect(forCloudTrail).toEqual([
      expect.objectContaining({
        Action: 'kms:GenerateDataKey*',
        Condition: {
          StringEquals: { 'aws:SourceArn': trailArn },
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudtrail:*:', { Ref: 'AWS::AccountId' }, ':trail/*']] } },
        },
      }),
      expect.objectContaining({ Action: 'kms:DescribeKey', Condition: { StringEquals: { 'aws:SourceArn': trailArn } } }),
    ]);
  });

  it('lets CloudTrail write to the bucket for this trail only, and creates the trail after the policy', () => {
    const policies = withTrail.findResources('AWS::S3::BucketPolicy');
    const [policyId, policy] = Object.entries(policies).find(([, p]) => JSON.stringify(p).includes('cloudtrail.amazonaws.com'))! as [string, { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }];
    const forCloudTrail = policy.Properties.PolicyDocument.Statement.filter((st) => JSON.stringify(st.Principal).includes('cloudtrail.amazonaws.com'));
    expect(forCloudTrail.map((st) => st.Action)).toEqual(['s3:GetBucketAcl', 's3:PutObject']);
    for (const st of forCloudTrail) expect((st.Condition as { StringEquals: Record<string, unknown> }).StringEquals['aws:SourceArn']).toEqual(trailArn);
    expect(trail().DependsOn).toContain(policyId);
  });

  it('logs only AI data events, with validated log files in a locked-down bucket', () => {
    expect(trail().Properties).toMatchObject({ EnableLogFileValidation: true, IsLogging: true });
    const trailProps = trail().Properties;
    expect(trailProps.EventSelectors).toBeUndefined();
    const selectors = trailProps.AdvancedEventSelectors as Array<{ FieldSelectors: Array<{ Field: string; Equals?: string[]; EndsWith?: string[] }> }>;
    const types = selectors.map((s) => s.FieldSelectors.find((f) => f.Field === 'resources.type')!.Equals![0]);
    expect(types).toEqual(['AWS::Bedrock::AgentAlias', 'AWS::Bedrock::KnowledgeBase', 'AWS::Bedrock::FlowAlias', 'AWS::Bedrock::Guardrail', 'AWS::BedrockAgentCore::Runtime', 'AWS::BedrockAgentCore::Gateway', 'AWS::S3::Object']);
    for (const s of selectors) expect(s.FieldSelectors).toContainEqual({ Field: 'eventCategory', Equals: ['Data'] });
    expect(selectors[6].FieldSelectors).toContainEqual({ Field: 'resources.ARN', EndsWith: [...MODEL_FILE_SUFFIXES] });
    withTrail.allResourcesProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
  });
});

describe('finding notifications', () => {
  it('have their own encrypted topic, fed by a rule that takes Finding Recorded at or above the floor into a queue with a dead-letter queue', () => {
    expect(named('AWS::SNS::Topic', 'NotificationsTopic').Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'CaptureKey'), 'Arn'] });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId('AWS::Events::EventBus', 'DomainEvents') },
      EventPattern: { source: ['ai-visibility'], 'detail-type': ['Finding Recorded'], detail: { finding: { severity: ['critical', 'high', 'medium'] } } },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'NotificationsQueue'), 'Arn'] }, DeadLetterConfig: Match.anyValue() })],
    });
    const strict = synth({ notifications: { ...DEFAULT_CONFIG.notifications, minSeverity: 'high' } });
    expect(JSON.stringify(strict.findResources('AWS::Events::Rule'))).toContain('"severity":["critical","high"]');
    const fn = named('AWS::Lambda::Function', 'NotificationsFunction').Properties as { Environment: { Variables: Record<string, unknown> } };
    expect(fn.Environment.Variables).toMatchObject({ MIN_SEVERITY: 'medium', DEDUP_WINDOW_HOURS: '24', ACCOUNT_OWNERS: '{}', OWNER_TAG_KEY: 'ai-visibility:owner', FINDINGS_TOPIC_ARN: { Ref: logicalId('AWS::SNS::Topic', 'NotificationsTopic') } });
  });

  it('may publish to its topic only, with the key through SNS only', () => {
    const statements = (named('AWS::IAM::Policy', 'NotificationsFunctionRole').Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }> }).Statement;
    expect(statements.filter((st) => [st.Action].flat().includes('sns:Publish')).map((st) => st.Resource)).toEqual([{ Ref: logicalId('AWS::SNS::Topic', 'NotificationsTopic') }]);
    const kms = statements.find((st) => JSON.stringify(st.Condition ?? {}).includes('sns.'));
    expect(kms).toMatchObject({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'] });
  });

  it('subscribe each configured address with a filter policy on the message attributes, within SNS limits', () => {
    const subscribed = synth({
      notifications: {
        ...DEFAULT_CONFIG.notifications,
        subscriptions: [{ email: 'ml-team@example.com', owners: ['ml-platform'], severities: ['critical', 'high'] }, { email: 'secops@example.com' }],
        accountOwners: { '111122223333': 'secops' },
      },
    });
    const subs = Object.values(subscribed.findResources('AWS::SNS::Subscription')).map((s) => (s as { Properties: { Endpoint: string; FilterPolicy?: Record<string, unknown>; TopicArn: unknown } }).Properties).filter((p) => JSON.stringify(p.TopicArn).includes('NotificationsTopic'));
    expect(subs).toEqual([
      expect.objectContaining({ Endpoint: 'ml-team@example.com', FilterPolicy: { severity: ['critical', 'high', 'digest'], owner: ['ml-platform'] } }),
      expect.objectContaining({ Endpoint: 'secops@example.com' }),
    ]);
    expect(subs[1].FilterPolicy).toBeUndefined();
    for (const p of subs) {
      const policy = p.FilterPolicy ?? {};
      expect(Object.keys(policy).length).toBeLessThanOrEqual(5);
      expect(Object.values(policy).reduce((n: number, v) => n * (v as unknown[]).length, 1)).toBeLessThanOrEqual(150);
    }
  });

  it('send the daily digest when someone subscribes (08:00 UTC by default), reading the table once and the dead-letter queue depths', () => {
    expect(Object.keys(resources('AWS::Scheduler::Schedule')).sort()).toEqual([expect.stringMatching(/^DiscoverySchedule/), expect.stringMatching(/^GpuSweepSchedule/)]); // no subscription, no digest
    const withDigest = synth({ notifications: { ...DEFAULT_CONFIG.notifications, subscriptions: [{ email: 'secops@example.com' }] } });
    const schedules = Object.entries(withDigest.findResources('AWS::Scheduler::Schedule')).filter(([id]) => id.startsWith('NotificationsDigest'));
    expect(schedules).toHaveLength(1);
    expect((schedules[0][1] as { Properties: { ScheduleExpression: string; Target: Record<string, unknown> } }).Properties).toMatchObject({ ScheduleExpression: 'cron(0 8 * * ? *)', Target: { DeadLetterConfig: expect.anything(), RetryPolicy: { MaximumRetryAttempts: 3 } } });
    const policy = Object.entries(withDigest.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('NotificationsDigestFunctionRole'))![1] as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } };
    const byAction = (action: string) => policy.Properties.PolicyDocument.Statement.filter((st) => [st.Action].flat().includes(action)).map((st) => st.Resource);
    expect(byAction('dynamodb:Scan')).toEqual([{ 'Fn::GetAtt': [Object.keys(withDigest.findResources('AWS::DynamoDB::Table'))[0], 'Arn'] }]);
    expect(JSON.stringify(byAction('sqs:GetQueueAttributes'))).toContain('DeadLetterQueue');
    expect(policy.Properties.PolicyDocument.Statement.flatMap((st) => [st.Action].flat()).filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:Scan']);
    const off = synth({ notifications: { ...DEFAULT_CONFIG.notifications, subscriptions: [{ email: 'secops@example.com' }], digest: { ...DEFAULT_CONFIG.notifications.digest, enabled: false } } });
    expect(Object.keys(off.findResources('AWS::Scheduler::Schedule')).filter((id) => id.startsWith('NotificationsDigest'))).toEqual([]);
    expect(() => readConfig({ notifications: { digest: { schedule: 'daily' } } })).toThrow(/notifications.digest.schedule must be an EventBridge Scheduler/);
  });

  it('refuses subscriptions SNS or the catalog would not take, each problem named', () => {
    const many = Array.from({ length: 13 }, (_, i) => String(100000000000 + i));
    expect(() => readConfig({ notifications: { subscriptions: [{ email: 'a@example.com', accounts: many, severities: ['critical', 'high', 'medium', 'low'], rules: ['gpu-idle', 'gpu-no-telemetry', 'gpu-underutilized'] }] } })).toThrow(/filters on 280 combinations of values; SNS allows 150/);
    expect(() => readConfig({ notifications: { minSeverity: 'urgent' } })).toThrow(/notifications.minSeverity must be one of critical, high, medium, low, informational/);
    expect(() => readConfig({ notifications: { subscriptions: [{ email: 'a@example.com', rules: ['no-such-rule'] }] } })).toThrow(/subscriptions\[0\].rules must be a non-empty list of finding rules/);
    expect(() => readConfig({ notifications: { accountOwners: { '12': 'x' } } })).toThrow(/accountOwners must map 12-digit account ids/);
    expect(() => readConfig({ notifications: { dedupWindow: 3 } })).toThrow(/unknown setting "notifications.dedupWindow"/);
  });
});

describe('Security Hub export (opt-in)', () => {
  it('is off by default', () => {
    expect(Object.keys(resources('AWS::Lambda::Function')).some((id) => id.startsWith('SecurityHubExport'))).toBe(false);
  });

  it("takes findings and deleted resources off the domain bus, and may import only into the account's default product", () => {
    const withExport = synth({ securityHubExport: true });
    const rule = Object.entries(withExport.findResources('AWS::Events::Rule')).find(([id]) => id.startsWith('SecurityHubExport'))![1] as { Properties: { EventPattern: Record<string, unknown> } };
    const matches = compileEventPattern(rule.Properties.EventPattern);
    const event = (detailType: string, detail: Record<string, unknown>) => ({ source: 'ai-visibility', 'detail-type': detailType, detail });
    expect(matches(event('Finding Recorded', { finding: { rule: 'guardrail-deleted' } }))).toBe(true);
    expect(matches(event('Resource Changed', { resource: { status: 'deleted' }, changed: ['status'] }))).toBe(true);
    expect(matches(event('Resource Changed', { resource: { status: 'active' }, changed: ['tags'] }))).toBe(false);
    expect(matches(event('Resource Inventoried', { resource: { status: 'deleted' } }))).toBe(false);
    const policy = Object.entries(withExport.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('SecurityHubExport'))![1] as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } };
    const imports = policy.Properties.PolicyDocument.Statement.filter((st) => [st.Action].flat().includes('securityhub:BatchImportFindings'));
    // In whichever region a finding was recorded (Security Hub takes it only in its ProductArn's region), this account's product only.
    expect(imports.map((st) => st.Resource)).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':securityhub:*:', { Ref: 'AWS::AccountId' }, ':product/', { Ref: 'AWS::AccountId' }, '/default']] }]);
    const mapping = Object.values(withExport.findResources('AWS::Lambda::EventSourceMapping')).find((m) => JSON.stringify(m).includes('SecurityHubExportQueue')) as { Properties: Record<string, unknown> };
    expect(mapping.Properties).toMatchObject({ ScalingConfig: { MaximumConcurrency: 2 }, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    // Its function and queue are alarmed like the others.
    const alarms = JSON.stringify(withExport.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toContain(Object.keys(withExport.findResources('AWS::Lambda::Function')).find((id) => id.startsWith('SecurityHubExport'))!);
    expect(alarms).toContain('security-hub-export');
  });
});

describe('the tagger (on by default)', () => {
  const policyOf = (t: Template) => Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('TaggerTaggingPolicy'))?.[1] as { Properties: { PolicyDocument: { Statement: Array<{ Sid: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> }> } } } | undefined;

  it('takes resource events off the domain bus, and may write only tag keys under its prefix, in this account', () => {
    const rule = Object.entries(resources('AWS::Events::Rule')).find(([id]) => id.startsWith('TaggerOnResource'))![1] as { Properties: { EventPattern: Record<string, unknown> } };
    const matches = compileEventPattern(rule.Properties.EventPattern);
    expect(matches({ source: 'ai-visibility', 'detail-type': 'Resource Inventoried', detail: {} })).toBe(true);
    expect(matches({ source: 'ai-visibility', 'detail-type': 'Resource Changed', detail: {} })).toBe(true);
    expect(matches({ source: 'ai-visibility', 'detail-type': 'Finding Recorded', detail: {} })).toBe(false);
    const statements = policyOf(template)!.Properties.PolicyDocument.Statement;
    // Every write is limited to keys under the prefix; the one read (GetResources) writes nothing.
    for (const st of statements.filter((x) => x.Sid !== 'S3Buckets' && x.Sid !== 'TagLookups')) expect([st.Sid, st.Condition]).toEqual([st.Sid, { 'ForAllValues:StringLike': { 'aws:TagKeys': ['ai-visibility:*'] } }]);
    expect(statements.find((x) => x.Sid === 'TagLookups')!.Action).toBe('tag:GetResources');
    expect(statements.find((x) => x.Sid === 'S3Buckets')!.Condition).toEqual({ StringEquals: { 'aws:ResourceAccount': { Ref: 'AWS::AccountId' } } });
    for (const st of statements.filter((x) => x.Resource !== '*' && x.Sid !== 'S3Buckets')) expect(JSON.stringify(st.Resource)).toContain('{"Ref":"AWS::AccountId"}');
    expect(statements.filter((x) => x.Resource === '*').map((x) => x.Action)).toEqual(['tag:TagResources', 'tag:GetResources']);
    // A prefix of one's own reaches the condition and the function.
    const custom = synth({ tagging: { enabled: true, prefix: 'acme:ai:', exclude: ['gpu-instance'] } });
    expect(JSON.stringify(policyOf(custom))).toContain('"acme:ai:*"');
    expect(JSON.stringify(custom.findResources('AWS::Lambda::Function'))).toContain('"TAG_PREFIX":"acme:ai:"');
  });

  it('is gone when turned off, and refuses a reserved prefix or an unknown kind', () => {
    expect(policyOf(synth({ tagging: { enabled: false, prefix: 'ai-visibility:', exclude: [] } }))).toBeUndefined();
    expect(() => readConfig({ tagging: { prefix: 'aws:ai:' } })).toThrow(/tagging.prefix starts with "aws:", which AWS reserves/);
    expect(() => readConfig({ tagging: { exclude: ['spaceship'] } })).toThrow(/tagging.exclude must be a list of resource kinds/);
    expect(() => readConfig({ tagging: { on: true } })).toThrow(/unknown setting "tagging.on"/);
    expect(readConfig({ tagging: { exclude: ['gpu-instance'] } }).tagging).toEqual({ enabled: true, prefix: 'ai-visibility:', exclude: ['gpu-instance'] });
  });
});

describe('the remediation of idle accelerators (opt-in)', () => {
  const stopStatements = (t: Template) =>
    Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Array<{ Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }> } } }).Properties.PolicyDocument.Statement.filter((st) => [st.Action].flat().some((a) => a === 'ec2:StopInstances' || a === 'sagemaker:StopNotebookInstance')));

  it('may stop nothing unless turned on, and then only instances and notebooks tagged idle-action=stop, never terminate', () => {
    expect(stopStatements(template)).toEqual([]);
    expect(stopStatements(synth({ remediation: { mode: 'dry-run', idleSweeps: 3 } }))).toEqual([]);
    const on = synth({ remediation: { mode: 'on', idleSweeps: 2 } });
    const statements = stopStatements(on);
    expect(statements.map((st) => st.Action).sort()).toEqual(['ec2:StopInstances', 'sagemaker:StopNotebookInstance']);
    for (const st of statements) expect(st.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ai-visibility:idle-action': 'stop' } });
    expect(JSON.stringify(on.findResources('AWS::IAM::Policy'))).not.toContain('TerminateInstances');
    const target = Object.entries(on.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('GpuSweepTargetFunction'))![1];
    expect(JSON.stringify(target)).toContain('"REMEDIATION_MODE":"on"');
    expect(JSON.stringify(target)).toContain('"REMEDIATION_IDLE_SWEEPS":"2"');
    expect(() => readConfig({ remediation: { mode: 'yes' } })).toThrow(/remediation.mode must be one of off, dry-run, on/);
    expect(() => readConfig({ remediation: { idleSweeps: 0 } })).toThrow(/remediation.idleSweeps must be a whole number from 1 to 999/);
  });
});

describe('operations: every failure seen', () => {
  type Alarm = { Properties: { MetricName?: string; Namespace?: string; Dimensions?: Array<{ Name: string; Value: unknown }>; Metrics?: Array<{ Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions?: Array<{ Name: string; Value: unknown }> } } }>; Threshold: number; ComparisonOperator: string; AlarmActions: unknown[]; AlarmDescription: string } };
  const alarms = () => Object.values(resources('AWS::CloudWatch::Alarm')) as Alarm[];
  const topic = { Ref: logicalId('AWS::SNS::Topic', 'OperationsTopic') };
  /** The metrics an alarm watches, whether alone or in metric math. */
  const watched = (a: Alarm) => [
    ...(a.Properties.MetricName ? [{ MetricName: a.Properties.MetricName, Dimensions: a.Properties.Dimensions ?? [] }] : []),
    ...(a.Properties.Metrics ?? []).flatMap((m) => (m.MetricStat ? [{ MetricName: m.MetricStat.Metric.MetricName, Dimensions: m.MetricStat.Metric.Dimensions ?? [] }] : [])),
  ];
  const on = (metric: string, dimension: string, value: unknown) =>
    alarms().filter((a) => watched(a).some((m) => m.MetricName === metric && m.Dimensions.some((d) => d.Name === dimension && JSON.stringify(d.Value) === JSON.stringify(value))));
  const ref = (id: string) => ({ Ref: id });
  const queueName = (id: string) => ({ 'Fn::GetAtt': [id, 'QueueName'] });

  it('has an encrypted operations topic, with the configured email subscriptions', () => {
    expect(named('AWS::SNS::Topic', 'OperationsTopic').Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'CaptureKey'), 'Arn'] });
    expect(resources('AWS::SNS::Subscription')).toEqual({});
    const subscribed = synth({ alarmEmails: ['secops@example.com', 'oncall@example.com'] }).findResources('AWS::SNS::Subscription');
    expect(Object.values(subscribed).map((s) => (s as { Properties: { Protocol: string; Endpoint: string } }).Properties)).toEqual([
      expect.objectContaining({ Protocol: 'email', Endpoint: 'secops@example.com' }),
      expect.objectContaining({ Protocol: 'email', Endpoint: 'oncall@example.com' }),
    ]);
    expect(() => readConfig({ alarmEmails: ['not an address'] })).toThrow(/alarmEmails must be a list of email addresses/);
  });

  it('alarms on messages visible in every dead-letter queue (whatever sends to it: a redrive, a function, a schedule, a rule target)', () => {
    const dlqIds = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (/^(deadLetterTargetArn|TargetArn)$/.test(k) || (k === 'DeadLetterConfig' && v && typeof v === 'object')) {
            const arn = k === 'DeadLetterConfig' ? ((v as { Arn?: unknown; TargetArn?: unknown }).Arn ?? (v as { TargetArn?: unknown }).TargetArn) : v;
            const id = (arn as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0];
            if (id && resources('AWS::SQS::Queue')[id]) dlqIds.add(id);
          }
          collect(v);
        }
      }
    };
    collect(template.toJSON().Resources);
    expect(dlqIds.size).toBe(8); // capture, lineage, agent sync, notifications, the tagger, the change feed's failures, the sweep and discovery schedules
    for (const id of dlqIds) {
      const found = on('ApproximateNumberOfMessagesVisible', 'QueueName', queueName(id));
      expect([id, found.length]).toEqual([id, 1]);
      expect(found[0].Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topic] });
    }
  });

  it('alarms on the age of the oldest captured event', () => {
    expect(on('ApproximateAgeOfOldestMessage', 'QueueName', queueName(logicalId('AWS::SQS::Queue', 'CaptureQueue')))).toEqual([expect.objectContaining({ Properties: expect.objectContaining({ Threshold: 900 }) })]);
  });

  it('alarms on the errors and throttles of every function, and on the change feed falling behind its stream', () => {
    const functions = Object.keys(resources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(10);
    for (const id of functions) {
      for (const metric of ['Errors', 'Throttles']) expect([id, metric, on(metric, 'FunctionName', ref(id)).length]).toEqual([id, metric, 1]);
    }
    expect(on('IteratorAge', 'FunctionName', ref(logicalId('AWS::Lambda::Function', 'ChangeFeedFunction')))).toHaveLength(1);
  });

  it('alarms on failed, timed-out and aborted sweeps, failed account-regions, failed events, the quarantine rate, rule deliveries and sync failures', () => {
    const machine = ref(logicalId('AWS::StepFunctions::StateMachine', 'GpuSweepStateMachine'));
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) expect([metric, on(metric, 'StateMachineArn', machine).length]).toEqual([metric, 1]);
    const ours = (metric: string) => alarms().filter((a) => JSON.stringify(a.Properties).includes(`"MetricName":"${metric}"`));
    for (const metric of ['EventsFailed', 'EventsQuarantined', 'SweepFailedTargets', 'AgentRuleSyncFailures']) expect([metric, ours(metric).length]).toEqual([metric, 1]);
    const deliveries = alarms().filter((a) => (a.Properties.Metrics ?? []).some((m) => m.MetricStat?.Metric.MetricName === 'InvocationsSentToDlq'));
    const ruleRefs = deliveries.map((a) => JSON.stringify(a.Properties.Metrics!.find((m) => m.MetricStat)!.MetricStat!.Metric.Dimensions));
    for (const id of Object.keys(captureRuleResources())) expect(ruleRefs.some((r) => r.includes(`"Ref":"${id}"`))).toBe(true);
  });

  it('sends every alarm to the operations topic, each with a description of what broke and what to do', () => {
    expect(alarms().length).toBeGreaterThan(30);
    for (const a of alarms()) {
      expect(a.Properties.AlarmActions).toEqual([topic]);
      expect(a.Properties.AlarmDescription.length).toBeGreaterThan(60);
    }
  });

  it('has a dashboard of pipeline health and of what it sees', () => {
    const body = JSON.stringify(one('AWS::CloudWatch::Dashboard').Properties.DashboardBody);
    for (const title of ['what it sees', 'pipeline health', 'Events per hour', 'Findings by severity', 'Findings by rule', 'Resources inventoried, by kind', 'Agent actions, by class', 'Idle GPUs and their cost']) expect([title, body.includes(title)]).toEqual([title, true]);
  });
});

describe('cdk-nag AwsSolutions', () => {
  const nag = synthesis.nag;

  it.each([
    ['default configuration', DEFAULT_CONFIG],
    ['with the data-event trail, nothing retained', { ...DEFAULT_CONFIG, dataEventTrail: true, retainData: false }],
    ['with the Security Hub export and email subscriptions', { ...DEFAULT_CONFIG, securityHubExport: true, alarmEmails: ['ops@example.com'], notifications: { ...DEFAULT_CONFIG.notifications, subscriptions: [{ email: 'secops@example.com', severities: ['high'] }] } }],
  ])('passes with zero unacknowledged findings: %s', (_name, config) => {
    expect(() => nag((app) => new AiVisibilityStack(app, 'AiVisibility', { config }))).not.toThrow();
  });

  it.each([
    ['an environment-agnostic stack', undefined],
    ['a stack with a known account and region (as `cdk deploy` synthesizes it)', { account: '111122223333', region: 'eu-west-1' }],
    ['a known region only (the CLI without credentials)', { region: 'us-east-1' }],
  ])('acknowledges the same findings in %s', (_name, env) => {
    expect(() => nag((app) => new AiVisibilityStack(app, 'AiVisibility', { env, config: DEFAULT_CONFIG }))).not.toThrow();
  });

  it('would fail the synth on a finding (the check is live)', () => {
    expect(() =>
      nag((app) => {
        const stack = new Stack(app, 'Leaky');
        new s3.Bucket(stack, 'Open', { enforceSSL: false });
      }),
    ).toThrow(/AwsSolutions-S/);
  });
});

describe('configuration', () => {
  it('defaults everything', () => {
    expect(readConfig(undefined)).toEqual(DEFAULT_CONFIG);
    expect(readConfig('{"dataEventTrail":true}')).toEqual({ ...DEFAULT_CONFIG, dataEventTrail: true });
  });

  it('lists every problem at once', () => {
    try {
      readConfig({ dataEventTrail: 'yes', logRetentionDays: 42, classifierBatchSize: 50, classifierMaxBatchingWindowSeconds: 0, colour: 'blue' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        'unknown setting "colour" (known: dataEventTrail, retainData, logRetentionDays, classifierBatchSize, classifierMaxBatchingWindowSeconds, classifierMaxConcurrency, maxReceiveCount, eventPatternQuota, lambdaSourceMaps, alarmEmails, resourceTags, notifications, securityHubExport, guardDutyAiFindings, tagging, agentPrincipals, agentBehaviourWindowSeconds, agentDeniedBurstCount, agentDeniedBurstSeconds, actionLedgerRetentionDays, classificationTagKey, classificationLevels, sensitiveFromLevel, sweepSchedule, sweepWindowMinutes, sweepMaxConcurrency, sweepRegions, gpuIdleBelowPct, gpuUnderutilizedBelowPct, gpuMemoryHeldFromPct, gpuPrices, remediation, organization, discovery, modelUse, agentTrail)',
        'dataEventTrail must be true or false, got "yes"',
        expect.stringContaining('logRetentionDays must be one of 1, 3, 5'),
        'classifierBatchSize above 10 needs classifierMaxBatchingWindowSeconds of at least 1 (SQS event source mapping rule)',
      ]);
    }
  });
});

describe('model-use configuration', () => {
  it('reaches the classifier and the ModelRecon rule (known AI applications are left out of the capture)', () => {
    const t = synth({ modelUse: { ...DEFAULT_CONFIG.modelUse, reconWindowMinutes: 30, probeBurstCount: 20, knownAiApplications: ['arn:aws:iam::*:role/rag-service-*'] } });
    const fn = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.includes('ClassifierFunction'))![1] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(fn.Properties.Environment.Variables).toMatchObject({ MODEL_RECON_WINDOW_SECONDS: '1800', MODEL_PROBE_BURST_COUNT: '20', MODEL_PROBE_BURST_SECONDS: '300', KNOWN_AI_APPLICATIONS: 'arn:aws:iam::*:role/rag-service-*' });
    const recon = Object.values(t.findResources('AWS::Events::Rule')).map((r) => (r as { Properties: { EventPattern?: { detail?: { eventName?: unknown; userIdentity?: unknown } }; State?: string } }).Properties).find((p) => JSON.stringify(p.EventPattern?.detail?.eventName ?? '').startsWith('["ListFoundationModels"'))!;
    expect(recon.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(JSON.stringify(recon.EventPattern!.detail!.userIdentity)).toContain('arn:aws:iam::*:role/rag-service-*');
  });

  it.each([
    [{ reconWindowMinutes: 0 }, /modelUse.reconWindowMinutes must be a whole number from 1 to 1440, got 0/],
    [{ probeBurstCount: 1 }, /modelUse.probeBurstCount must be a whole number from 2 to 10000/],
    [{ baselineHours: 1.5 }, /modelUse.baselineHours must be a whole number from 0 to 2160/],
    [{ knownAiApplications: ['rag-service'] }, /modelUse.knownAiApplications must be a list of role ARN patterns/],
    [{ knownAiApplications: ['arn:aws:iam::*:role/**'] }, /modelUse.knownAiApplications must be a list of role ARN patterns/],
    [{ knownApps: [] }, /unknown setting "modelUse.knownApps"/],
  ])('refuses %j', (modelUse, message) => {
    expect(() => readConfig({ modelUse })).toThrow(message);
  });
});

describe('configuration that would deploy something else than meant', () => {
  it.each([
    [{ sweepSchedule: 'cron(not a cron)' }, /sweepSchedule must be an EventBridge Scheduler .*: a cron expression has 6 fields/],
    [{ sweepSchedule: 'cron(0 12 * * * *)' }, /exactly one of day-of-month and day-of-week must be \?/],
    [{ sweepSchedule: 'cron(0 25h * * ? *)' }, /cron field hours "25h" is not valid/],
    [{ sweepSchedule: 'rate(0 minutes)' }, /a rate is at least 1/],
    [{ sweepSchedule: 'rate(1 hours)' }, /write rate\(1 hour\)/],
    [{ sweepSchedule: 'rate(5 hour)' }, /write rate\(5 hours\)/],
    [{ gpuPrices: JSON.parse('{"p5.48xlarge": 1e400}') }, /gpuPrices must map instance types to non-negative USD per hour/],
    [{ sweepRegions: ['us-east-1', 'us-east-1'] }, /sweepRegions names a region more than once/],
    [{ sweepRegions: ['xx-yy-1'] }, /sweepRegions must be a list of region names/],
    [{ sweepRegions: ['US-EAST-1'] }, /sweepRegions must be a list of region names/],
  ])('refuses %j', (setting, problem) => {
    expect(() => readConfig(setting)).toThrow(problem);
  });

  it('accepts what Scheduler and the regions accept', () => {
    for (const sweepSchedule of ['rate(1 minute)', 'rate(30 minutes)', 'rate(1 day)', 'cron(0 * * * ? *)', 'cron(15 10 ? * MON-FRI *)', 'cron(0 8 1 JAN,JUL ? 2027)']) expect(readConfig({ sweepSchedule }).sweepSchedule).toBe(sweepSchedule);
    expect(readConfig({ sweepRegions: ['eu-west-1', 'ap-southeast-5', 'us-gov-west-1', 'cn-north-1'] }).sweepRegions).toHaveLength(4);
  });

  it('cdk synth prints the problems and exits 1, with no stack trace', () => {
    const temp = synthesis.temp;
    const dir = temp.dir('ai-visibility-bad-config-');
    const out = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', '..', 'bin', 'app.ts')], {
      // tsx keeps a cache in the temp dir: give it one of ours.
      env: { ...process.env, TMPDIR: dir, CDK_OUTDIR: dir, CDK_CONTEXT_JSON: JSON.stringify({ 'ai-visibility': { sweepSchedule: 'rate(0 minutes)', colour: 'blue' } }) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('invalid ai-visibility configuration:');
    expect(out.stderr).toContain('unknown setting "colour"');
    expect(out.stderr).toContain('sweepSchedule must be an EventBridge Scheduler');
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('environment contract', () => {
  it('fails at synth on a missing or malformed literal, and accepts deploy-time tokens', () => {
    expect(() => environmentFor(CLASSIFIER_ENVIRONMENT, { ...DEFAULT_AGENT_ENVIRONMENT, ...DEFAULT_MODEL_USE_ENVIRONMENT, TABLE_NAME: 'x', POWERTOOLS_SERVICE_NAME: '', POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility', LINEAGE_QUEUE_URL: '${Token[TOKEN.9]}', CLASSIFICATION_TAG_KEY: '' })).toThrow(
      /TABLE_NAME="x" does not match .*; POWERTOOLS_SERVICE_NAME is not set/,
    );
    const built = environmentFor(CLASSIFIER_ENVIRONMENT, { ...DEFAULT_AGENT_ENVIRONMENT, ...DEFAULT_MODEL_USE_ENVIRONMENT, TABLE_NAME: '${Token[TOKEN.123]}', POWERTOOLS_SERVICE_NAME: 's', POWERTOOLS_METRICS_NAMESPACE: 'n', LINEAGE_QUEUE_URL: '${Token[TOKEN.9]}', CLASSIFICATION_TAG_KEY: '' });
    expect(built).toMatchObject({ TABLE_NAME: '${Token[TOKEN.123]}' });
    expect(built).not.toHaveProperty('AGENT_PRINCIPALS'); // an empty optional variable is left out
  });

  it('fails at cold start naming every missing variable', () => {
    expect(() => readEnvironment(CLASSIFIER_ENVIRONMENT, {})).toThrow(EnvironmentError);
    expect(() => readEnvironment(CLASSIFIER_ENVIRONMENT, {})).toThrow(/TABLE_NAME is not set.*POWERTOOLS_SERVICE_NAME is not set.*POWERTOOLS_METRICS_NAMESPACE is not set/);
  });
});
