/**
 * classify(): kinds, principals and findings, decided by behaviour, each with its evidence.
 *
 * Real records (fixtures/cloudtrail/ai and non-ai) are used wherever one exists. Where none
 * does, the record comes from fixtures/cloudtrail/documented (built from the API reference's
 * request/response shapes) or is derived here from one of those by changing the fields the API
 * reference documents; each such test says "built from the documented shape".
 */
import { join } from 'node:path';
import { classify } from '../../lambdas/classifier/classify';
import { severityOf } from '../../lambdas/classifier/rules/guardduty';
import { at } from '../../lambdas/classifier/evidence';
import { normalize } from '../../lambdas/classifier/normalize';
import { type Classification, type NormalizedEvent } from '../../lambdas/classifier/types';
import { RESOURCE_KINDS, type Signal } from '../../lambdas/core/model';
import { aiFixture, aiFixtureFiles, documentedRecord, documentedRecords, FIXTURES, nonAiRecords, normalized, readJson } from '../helpers';

const run = (record: Record<string, unknown>): Classification => classify(normalized(record));
const kinds = (c: Classification) => c.resources.map((r) => [r.kind, r.arn, r.status]);
const rules = (c: Classification) => c.findings.map((f) => f.rule);

/** A documented-shape record with some fields replaced (built from the documented shape). */
function built(eventName: string, changes: Record<string, unknown>, base = 'CreateAgent'): Record<string, unknown> {
  return { ...documentedRecord(base), eventName, eventID: `built-${eventName}-${Math.random()}`, ...changes };
}

/** Every signal must say something the record really holds. */
function expectTruthfulSignals(event: NormalizedEvent, c: Classification): void {
  const all: Signal[] = [...c.resources.flatMap((r) => r.signals), ...c.findings.flatMap((f) => f.signals), ...(c.principal?.signals ?? [])];
  for (const s of all) {
    expect(s.eventName).toBe(event.eventName);
    if (s.path === 'requestParameters') continue; // the list of logged request fields
    const actual = at(event.record, s.path);
    if (s.value === null) expect(actual === undefined || actual === null).toBe(true);
    else expect(typeof actual === 'object' ? JSON.stringify(actual) : actual).toEqual(s.value);
  }
}

describe('every decision carries truthful evidence', () => {
  const records = [...aiFixtureFiles().map((f) => readJson(f)), ...documentedRecords()];
  it.each(records.map((r) => [`${r.eventName} ${r.eventID ?? ''}`, r]))('%s', (_name, record) => {
    const result = normalize(record);
    if (!result.ok) return; // quarantined: covered in normalize.test.ts
    const c = classify(result.event);
    for (const r of c.resources) {
      expect(RESOURCE_KINDS).toContain(r.kind);
      expect(r.signals.length).toBeGreaterThan(0);
    }
    for (const f of c.findings) expect(f.signals.length).toBeGreaterThan(0);
    if (c.principal) expect(c.principal.signals.length).toBeGreaterThan(0);
    expectTruthfulSignals(result.event, c);
  });
});

describe('non-AI activity yields nothing (real records)', () => {
  it.each(nonAiRecords().map((r) => [r.source, r.value]))('%s', (_source, value) => {
    const result = normalize(value);
    if (!result.ok) return;
    const c = classify(result.event);
    expect(c.resources).toEqual([]);
    expect(c.findings).toEqual([]);
    expect(c.principal).toBeUndefined();
  });
});

describe('kinds from real records', () => {
  it('gpu-instance: RunInstances of p2.xlarge, type in the request (panther-analysis)', () => {
    const c = run(aiFixture('Successful-Unusual-EC2.json'));
    expect(kinds(c)).toEqual([['gpu-instance', 'arn:aws:ec2:us-west-2:111122223333:instance/i-07d06021b0da55115', 'active']]);
    expect(c.resources[0].attributes).toMatchObject({ instanceType: 'p2.xlarge', instanceFamily: 'p2', instanceState: 'pending' });
  });

  it('gpu-instance: the same launch with instanceType written as {"value": ...} (panther-analysis)', () => {
    const c = run(aiFixture('Successful-Unusual-EC2-Dictionary'));
    expect(kinds(c)).toEqual([['gpu-instance', 'arn:aws:ec2:us-west-2:111122223333:instance/i-07d06021b0da55115', 'active']]);
  });

  it('foundation-model: InvokeModel names only the model id (sumologic-documentation)', () => {
    const c = run(aiFixture('InvokeModel'));
    expect(kinds(c)).toEqual([['foundation-model', 'arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0', 'active']]);
    expect(c.resources[0].account).toBe('aws');
  });

  it('guardrail: UpdateGuardrail and DeleteGuardrail (panther-analysis)', () => {
    expect(kinds(run(aiFixture('UpdateGuardrail')))).toEqual([['guardrail', 'arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo', 'active']]);
    expect(kinds(run(aiFixture('DeleteGuardrail')))).toEqual([['guardrail', 'arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo', 'deleted']]);
  });

  it('invocation-logging-config: DeleteModelInvocationLoggingConfiguration (panther-analysis)', () => {
    expect(kinds(run(aiFixture('DeleteModelInvocationLoggingConfiguration')))).toEqual([
      ['invocation-logging-config', 'arn:aws:bedrock:us-west-2:123123123123:model-invocation-logging-configuration/default', 'deleted'],
    ]);
  });

  it('agent-gateway: CreateGateway and InvokeGateway data events (AgentCore developer guide)', () => {
    const created = run(aiFixture('CreateGateway'));
    expect(kinds(created)).toEqual([['agent-gateway', 'arn:aws:bedrock-agentcore:us-west-2:XXXXXXXXXXXX:gateway/test-openapi-gateway-xxxxxxx-xxxxxx', 'active']]);
    expect(created.resources[0].attributes).toMatchObject({ protocolType: 'MCP', authorizerType: 'CUSTOM_JWT' });
    expect(kinds(run(aiFixture('InvokeGateway__success')))).toEqual([['agent-gateway', 'arn:aws:bedrock-agentcore:us-west-2:XXXXXXXXXX:gateway/test-gateway-65129e91-mtzoadyihf', 'active']]);
  });

  it('model and inference-endpoint: SageMaker CreateModel and CreateEndpoint (SageMaker developer guide)', () => {
    expect(kinds(run(aiFixture('guide__CreateModel')))).toEqual([['model', 'arn:aws:sagemaker:us-west-2:123456789012:model/barkinghappy2018-01-02t15-23-32-275z-ivrdog', 'active']]);
    expect(kinds(run(aiFixture('CreateEndpoint')))).toEqual([['inference-endpoint', 'arn:aws:sagemaker:us-west-2:123456789012:endpoint/exampleendpoint', 'active']]);
  });

  it('notebook: ListTags on a notebook instance reveals it, ARN lower-cased as SageMaker writes it (sumologic-documentation)', () => {
    expect(kinds(run(aiFixture('ListTags')))).toEqual([['notebook', 'arn:aws:sagemaker:us-east-1:956882708938:notebook-instance/anemanotebook', 'active']]);
  });

  it('customization-job: CreateModelCustomizationJob (cloud-custodian; its publisher trimmed eventTime, added back here)', () => {
    const c = run({ ...aiFixture('CreateModelCustomizationJob'), eventTime: '2024-05-01T10:00:00Z' });
    expect(kinds(c)).toEqual([['customization-job', 'arn:aws:bedrock:us-east-1:644160558196:model-customization-job/cohere.command-text-v14:7:4k/q4ad8z8tioq8', 'active']]);
    expect(c.resources[0].attributes).toMatchObject({ customModelName: 'c7n-test-ab' });
  });
});

describe('kinds from records built from the documented shapes', () => {
  it.each([
    ['CreateNotebookInstance', 'notebook', 'arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/research-notebook'],
    ['CreateTrainingJob', 'training-job', 'arn:aws:sagemaker:us-east-1:111122223333:training-job/fraud-model-2025-06-01'],
    ['CreateEndpointConfig', 'endpoint-config', 'arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/fraud-model-config'],
    ['CreateAgent', 'agent', 'arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345'],
    ['CreateKnowledgeBase', 'knowledge-base', 'arn:aws:bedrock:us-east-1:111122223333:knowledge-base/KB12345678'],
    ['CreateProvisionedModelThroughput', 'provisioned-throughput', 'arn:aws:bedrock:us-east-1:111122223333:provisioned-model/pt1234abcd'],
    ['CreateModelInvocationJob', 'batch-inference-job', 'arn:aws:bedrock:us-east-1:111122223333:model-invocation-job/nightly0001'],
    ['CreateAgentRuntime', 'agent-runtime', 'arn:aws:bedrock-agentcore:us-east-1:111122223333:runtime/support_runtime-Ab12Cd34Ef'],
    ['PutObject', 'model-artifact-store', 'arn:aws:s3:::fraud-model-artifacts'],
    ['PutModelInvocationLoggingConfiguration', 'invocation-logging-config', 'arn:aws:bedrock:us-east-1:111122223333:model-invocation-logging-configuration/default'],
  ])('%s -> %s', (eventName, kind, arn) => {
    expect(run(documentedRecord(eventName)).resources).toContainEqual(expect.objectContaining({ kind, arn, status: 'active' }));
  });

  it('inference-profile: a cross-region profile id and an application profile ARN as modelId', () => {
    expect(kinds(run(documentedRecord('InvokeModel')))).toEqual([['inference-profile', 'arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'active']]);
    expect(kinds(run(documentedRecord('Converse')))).toEqual([['inference-profile', 'arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/supportbot1', 'active']]);
  });

  it('agent-alias: CreateAgentAlias and DeleteAgentAlias (built from the documented shape)', () => {
    const aliasArn = 'arn:aws:bedrock:us-east-1:111122223333:agent-alias/AGENT12345/ALIAS00001';
    expect(kinds(run(built('CreateAgentAlias', { requestParameters: { agentId: 'AGENT12345', agentAliasName: 'prod' }, responseElements: { agentAlias: { agentAliasArn: aliasArn, agentAliasId: 'ALIAS00001', agentId: 'AGENT12345' } } })))).toEqual([['agent-alias', aliasArn, 'active']]);
    expect(kinds(run(built('DeleteAgentAlias', { requestParameters: { agentId: 'AGENT12345', agentAliasId: 'ALIAS00001' }, responseElements: { agentAliasStatus: 'DELETING' } })))).toEqual([['agent-alias', aliasArn, 'deleted']]);
  });

  it('flow: CreateFlow and DeleteFlow (built from the documented shape)', () => {
    const arn = 'arn:aws:bedrock:us-east-1:111122223333:flow/FLOW123456';
    expect(kinds(run(built('CreateFlow', { requestParameters: { name: 'triage', executionRoleArn: 'arn:aws:iam::111122223333:role/FlowRole' }, responseElements: { arn, id: 'FLOW123456', status: 'NotPrepared' } })))).toEqual([['flow', arn, 'active']]);
    expect(kinds(run(built('DeleteFlow', { requestParameters: { flowIdentifier: 'FLOW123456' }, responseElements: { id: 'FLOW123456' } })))).toEqual([['flow', arn, 'deleted']]);
  });

  it('custom-model and imported-model: created and deleted by ARN (built from the documented shape)', () => {
    const custom = 'arn:aws:bedrock:us-east-1:111122223333:custom-model/amazon.titan-text-express-v1:0:8k/abc123xyz';
    expect(kinds(run(built('CreateCustomModel', { requestParameters: { modelName: 'tuned', modelSourceConfig: { s3DataSource: { s3Uri: 's3://models/tuned/' } } }, responseElements: { modelArn: custom } })))).toEqual([['custom-model', custom, 'active']]);
    expect(kinds(run(built('DeleteCustomModel', { requestParameters: { modelIdentifier: custom }, responseElements: null })))).toEqual([['custom-model', custom, 'deleted']]);
    const imported = 'arn:aws:bedrock:us-east-1:111122223333:imported-model/im0123456789';
    expect(kinds(run(built('DeleteImportedModel', { requestParameters: { modelIdentifier: imported }, responseElements: null })))).toEqual([['imported-model', imported, 'deleted']]);
    const converse = run(built('Converse', { requestParameters: { modelId: imported }, responseElements: null, readOnly: true }));
    expect(kinds(converse)).toEqual([['imported-model', imported, 'active']]);
  });

  it('model-import-job: CreateModelImportJob (built from the documented shape)', () => {
    const job = 'arn:aws:bedrock:us-east-1:111122223333:model-import-job/imp0123456789';
    const c = run(built('CreateModelImportJob', { requestParameters: { jobName: 'import-llama', importedModelName: 'llama-ft', roleArn: 'arn:aws:iam::111122223333:role/Import', modelDataSource: { s3DataSource: { s3Uri: 's3://models/llama-ft/' } } }, responseElements: { jobArn: job } }));
    expect(kinds(c)).toEqual([['model-import-job', job, 'active']]);
    expect(c.resources[0].attributes).toMatchObject({ importedModelName: 'llama-ft', modelDataS3Uri: 's3://models/llama-ft/' });
  });

  it('processing-job and transform-job on GPU instances (built from the documented shape)', () => {
    const processing = run(built('CreateProcessingJob', { eventSource: 'sagemaker.amazonaws.com', requestParameters: { processingJobName: 'Featurize', processingResources: { clusterConfig: { instanceType: 'ml.g5.xlarge', instanceCount: 1, volumeSizeInGB: 30 } }, roleArn: 'arn:aws:iam::111122223333:role/P' }, responseElements: { processingJobArn: 'arn:aws:sagemaker:us-east-1:111122223333:processing-job/featurize' } }));
    expect(kinds(processing)).toEqual([['processing-job', 'arn:aws:sagemaker:us-east-1:111122223333:processing-job/featurize', 'active']]);
    expect(processing.resources[0].attributes).toMatchObject({ instanceType: 'ml.g5.xlarge' });
    const transform = run(built('CreateTransformJob', { eventSource: 'sagemaker.amazonaws.com', requestParameters: { transformJobName: 'Score', modelName: 'fraud-model', transformResources: { instanceType: 'ml.g4dn.xlarge', instanceCount: 2 } }, responseElements: { transformJobArn: 'arn:aws:sagemaker:us-east-1:111122223333:transform-job/score' } }));
    expect(kinds(transform)).toEqual([['transform-job', 'arn:aws:sagemaker:us-east-1:111122223333:transform-job/score', 'active']]);
  });

  it('deletes carry only names: rebuilt ARNs meet the ARNs create events returned', () => {
    expect(kinds(run(documentedRecord('DeleteEndpoint')))).toEqual([['inference-endpoint', 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model', 'deleted']]);
  });

  it('gpu-instance: a launch-template launch with the type only in the response', () => {
    const c = run(documentedRecord('RunInstances'));
    expect(kinds(c)).toEqual([['gpu-instance', 'arn:aws:ec2:us-east-1:111122223333:instance/i-0gpu0000000000001', 'active']]);
    expect(c.resources[0].attributes).toMatchObject({ instanceType: 'g6.12xlarge' });
  });

  it('Start/Stop/Terminate update only instances the inventory knows, and never record their caller', () => {
    const stop = run(documentedRecord('StopInstances'));
    expect(stop.resources.map((r) => [r.arn, r.onlyIfKnown, r.attributes.instanceState])).toEqual([
      ['arn:aws:ec2:us-east-1:111122223333:instance/i-0gpu0000000000001', true, 'stopping'],
      ['arn:aws:ec2:us-east-1:111122223333:instance/i-0web0000000000002', true, 'stopping'],
    ]);
    expect(stop.principal).toBeUndefined();
    const terminate = run({ ...documentedRecord('StopInstances'), eventName: 'TerminateInstances', responseElements: null });
    expect(terminate.resources.every((r) => r.status === 'deleted' && r.onlyIfKnown)).toBe(true);
  });

  it('model-artifact-store: only model files count, and bucket tags update only known buckets unless they declare one', () => {
    const notModel = documentedRecord('PutObject');
    (notModel.requestParameters as Record<string, unknown>).key = 'reports/q3.csv';
    expect(run(notModel)).toEqual({ resources: [], findings: [], ignoredBecause: 'not a model file' });
    const declared = run(documentedRecord('PutBucketTagging'));
    expect(declared.resources[0]).toMatchObject({ kind: 'model-artifact-store', onlyIfKnown: false, attributes: { tags: { 'ai-visibility:kind': 'model-artifact-store', 'data-classification': 'confidential' } } });
    const plain = documentedRecord('PutBucketTagging');
    (plain.requestParameters as { Tagging: { TagSet: { Tag: unknown } } }).Tagging.TagSet.Tag = { Key: 'team', Value: 'ml' }; // one tag: an object, not a list
    expect(run(plain).resources[0]).toMatchObject({ onlyIfKnown: true, attributes: { tags: { team: 'ml' } } });
  });

  it('agent-memory and any other AI ARN are found in requests and responses without a rule of their own', () => {
    const memory = 'arn:aws:bedrock-agentcore:us-east-1:111122223333:memory/support_memory-AbCdEf1234';
    const c = run(built('CreateMemory', { eventSource: 'bedrock-agentcore.amazonaws.com', requestParameters: { name: 'support_memory', eventExpiryDuration: 30 }, responseElements: { memory: { arn: memory, id: 'support_memory-AbCdEf1234', status: 'CREATING' } } }));
    expect(kinds(c)).toEqual([['agent-memory', memory, 'active']]);
  });

  it('a failed call changes no resource', () => {
    const failed = { ...documentedRecord('CreateAgent'), errorCode: 'AccessDeniedException', errorMessage: 'not allowed', responseElements: null };
    const c = run(failed);
    expect(c.resources).toEqual([]);
    expect(c.principal?.arn).toBe('arn:aws:iam::111122223333:user/bob');
  });
});

describe('principals and roles', () => {
  it('ai-application: an IAM user invoking a model with an SDK (real record)', () => {
    expect(run(aiFixture('InvokeModel')).principal).toMatchObject({ arn: 'arn:aws:iam::956882123456:user/himan', role: 'ai-application', type: 'IAMUser' });
  });

  it('ai-application: a workload role that customizes, trains or batch-invokes models', () => {
    expect(run(documentedRecord('CreateTrainingJob')).principal).toMatchObject({ arn: 'arn:aws:iam::111122223333:role/ml-pipeline', role: 'ai-application' });
    expect(run(documentedRecord('CreateModelInvocationJob')).principal).toMatchObject({ role: 'ai-application' });
    expect(run({ ...aiFixture('CreateModelCustomizationJob'), eventTime: '2024-05-01T10:00:00Z' }).principal).toBeUndefined(); // trimmed: no userIdentity
  });

  it('human: an IAM Identity Center session in the console is the person, not the shared role (real record)', () => {
    expect(run(aiFixture('DeleteGuardrail')).principal).toMatchObject({ arn: 'arn:aws:sts::123123123123:assumed-role/DevAdmin/dr.evil', role: 'human' });
  });

  it('service: service-linked roles and roles used programmatically (real records)', () => {
    // Roles are named without their path (names are unique in an account); the exact ARN stays beside it.
    expect(run(aiFixture('ListTags')).principal).toMatchObject({
      arn: 'arn:aws:iam::956882708938:role/AWSServiceRoleForConfig',
      iamArn: 'arn:aws:iam::956882708938:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig',
      role: 'service',
    });
    expect(run(aiFixture('Failed-Unusual-EC2')).principal).toMatchObject({ arn: 'arn:aws:iam::900138736586:role/stratus-red-team-ec2lui-role-idtzskbvtd', role: 'service' });
  });

  it('unknown: JWT callers of an AgentCore gateway are named by issuer and subject (real record)', () => {
    expect(run(aiFixture('InvokeGateway__success')).principal).toMatchObject({
      arn: 'urn:ai-visibility:jwt:https://cognito-idp.us-west-2.amazonaws.com/us-west-2_Fxxxxxhtq#4ammgxxxxxxxxxxxm3b8c',
      type: 'JWT',
      role: 'unknown',
    });
    expect(run(aiFixture('InvokeGateway__auth-error')).principal).toMatchObject({ arn: 'urn:ai-visibility:account:anonymous', role: 'unknown' });
  });

  it('a failed invocation does not make its caller an AI application', () => {
    const denied = { ...aiFixture('InvokeModel'), errorCode: 'AccessDeniedException' };
    expect(run(denied).principal?.role).toBe('human');
  });

  it("ai-visibility's own calls are dropped", () => {
    const own = documentedRecords().find((r) => JSON.stringify(r.userIdentity).includes('/ai-visibility/'))!;
    expect(run(own)).toEqual({ resources: [], findings: [], ignoredBecause: 'own activity of ai-visibility' });
  });
});

describe('findings', () => {
  it('invocation-logging-disabled: logging deleted (real record)', () => {
    const [f] = run(aiFixture('DeleteModelInvocationLoggingConfiguration')).findings;
    expect(f).toMatchObject({ rule: 'invocation-logging-disabled', severity: 'high', confidence: 'confirmed', principal: 'arn:aws:sts::123123123123:assumed-role/DevAdmin/dr.evil', eventId: '28773860-a4fd-47c7-a215-6f0e6e6e532f', time: '2025-01-21T17:49:47.000Z' });
    expect(f.frameworks.map((x) => x.id)).toEqual(['T1562.008', 'AML.TA0007', 'LLM10:2025']);
  });

  it('invocation-logging-disabled: every data type off, or no destination (built from the documented shape)', () => {
    expect(rules(run(documentedRecord('PutModelInvocationLoggingConfiguration')))).toEqual(['invocation-logging-disabled']);
    const noDestination = documentedRecord('PutModelInvocationLoggingConfiguration');
    noDestination.requestParameters = { loggingConfig: { textDataDeliveryEnabled: true } };
    expect(rules(run(noDestination))).toEqual(['invocation-logging-disabled']);
    const healthy = documentedRecord('PutModelInvocationLoggingConfiguration');
    healthy.requestParameters = { loggingConfig: { s3Config: { bucketName: 'logs' }, textDataDeliveryEnabled: true, imageDataDeliveryEnabled: false } };
    expect(rules(run(healthy))).toEqual([]);
  });

  it('guardrail-deleted (real record)', () => {
    expect(run(aiFixture('DeleteGuardrail')).findings).toEqual([expect.objectContaining({ rule: 'guardrail-deleted', resource: 'arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo', severity: 'high' })]);
  });

  it('guardrail-weakened: possible when CloudTrail hides the policies (real record), confirmed when filters drop to NONE (built from the documented shape)', () => {
    expect(run(aiFixture('UpdateGuardrail')).findings).toEqual([expect.objectContaining({ rule: 'guardrail-weakened', confidence: 'possible' })]);
    const confirmed = run(documentedRecord('UpdateGuardrail')).findings;
    expect(confirmed).toEqual([expect.objectContaining({ rule: 'guardrail-weakened', confidence: 'confirmed' })]);
    expect(confirmed[0].signals.map((s) => s.value)).toEqual(['UpdateGuardrail', 'NONE', 'NONE']);
    const strong = documentedRecord('UpdateGuardrail');
    (strong.requestParameters as { contentPolicyConfig: { filtersConfig: Array<Record<string, string>> } }).contentPolicyConfig.filtersConfig[0].inputStrength = 'HIGH';
    (strong.requestParameters as { contentPolicyConfig: { filtersConfig: Array<Record<string, string>> } }).contentPolicyConfig.filtersConfig[0].outputStrength = 'MEDIUM';
    expect(rules(run(strong))).toEqual([]);
  });

  it('model-access-enabled: entitlement, agreement and use-case form (built from the documented shape)', () => {
    const entitlement = run(documentedRecord('PutFoundationModelEntitlement')).findings[0];
    expect(entitlement).toMatchObject({ rule: 'model-access-enabled', resource: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-opus-20240229-v1:0' });
    const agreement = built('CreateFoundationModelAgreement', { requestParameters: { offerToken: 'HIDDEN', modelId: 'meta.llama3-70b-instruct-v1:0' }, responseElements: { modelId: 'meta.llama3-70b-instruct-v1:0' } });
    expect(rules(run(agreement))).toEqual(['model-access-enabled']);
    const useCase = run(built('PutUseCaseForModelAccess', { requestParameters: { formData: 'HIDDEN_DUE_TO_SECURITY_REASONS' }, responseElements: null }));
    expect(useCase.findings[0]).toMatchObject({ rule: 'model-access-enabled', resource: 'arn:aws:bedrock:us-east-1::foundation-model/*' });
  });

  it("model access as an inventory item of the account: an agreement made, the retired entitlement still recognized, an agreement deleted; a Marketplace agreement accepted is possible model access (built from the documented shapes)", () => {
    const agreement = run(built('CreateFoundationModelAgreement', { requestParameters: { offerToken: 'HIDDEN', modelId: 'meta.llama3-70b-instruct-v1:0' }, responseElements: { modelId: 'meta.llama3-70b-instruct-v1:0' } }));
    const item = agreement.resources.find((r) => r.kind === 'model-agreement')!;
    expect(item).toMatchObject({ arn: 'arn:aws:bedrock:us-east-1:111122223333:foundation-model-agreement/meta.llama3-70b-instruct-v1:0', status: 'active', account: '111122223333', attributes: { modelId: 'meta.llama3-70b-instruct-v1:0', grantedBy: 'agreement' } });
    expect(run(documentedRecord('PutFoundationModelEntitlement')).resources.find((r) => r.kind === 'model-agreement')?.attributes).toMatchObject({ grantedBy: 'entitlement' });
    const deleted = run(built('DeleteFoundationModelAgreement', { requestParameters: { modelId: 'meta.llama3-70b-instruct-v1:0' }, responseElements: null }));
    expect(kinds(deleted)).toEqual([['model-agreement', item.arn, 'deleted']]);
    expect(deleted.findings).toEqual([]);
    // The Agreement API's AcceptAgreementRequest: the agreement request in, the agreement out.
    const accepted = run(built('AcceptAgreementRequest', { eventSource: 'agreement-marketplace.amazonaws.com', requestParameters: { agreementRequestId: 'ar-example1234567' }, responseElements: { agreementId: 'agmt-example1234567890' } }));
    expect(accepted.findings).toEqual([expect.objectContaining({ rule: 'model-access-enabled', confidence: 'possible', resource: 'arn:aws:bedrock:us-east-1::foundation-model/*' })]);
    expect(accepted.findings[0].summary).toContain('agmt-example1234567890');
    const refused = run(built('AcceptAgreementRequest', { eventSource: 'agreement-marketplace.amazonaws.com', errorCode: 'AccessDeniedException', requestParameters: { agreementRequestId: 'ar-example1234567' }, responseElements: null }));
    expect(refused.resources).toEqual([]);
  });

  describe('long-term Bedrock API keys (built from the IAM API reference shapes)', () => {
    const iam = (eventName: string, requestParameters: Record<string, unknown>, responseElements: unknown = null, identity: Record<string, unknown> = {}) =>
      built(eventName, { eventSource: 'iam.amazonaws.com', awsRegion: 'us-east-1', requestParameters, responseElements, userIdentity: { type: 'AssumedRole', principalId: 'AROAEXAMPLE:admin', arn: 'arn:aws:sts::111122223333:assumed-role/Admin/admin', accountId: '111122223333', accessKeyId: 'ASIAEXAMPLE', sessionContext: { sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/Admin', userName: 'Admin' } }, ...identity } });
    const credential = (userName: string, extra: Record<string, unknown> = {}) => ({ serviceSpecificCredential: { createDate: 'Nov 30, 2026, 10:00:00 AM', serviceName: 'bedrock.amazonaws.com', serviceUserName: `${userName}-at-111122223333`, serviceCredentialAlias: `${userName}-at-111122223333+1-abc`, serviceSpecificCredentialId: 'ACCAEXAMPLE123456789', userName, status: 'Active', ...extra } });
    const KEY = 'arn:aws:iam::111122223333:bedrock-api-key/BedrockAPIKey-x7qz/ACCAEXAMPLE123456789';

    it('records a key made by the console flow, with its user, creator, dates and status, and raises bedrock-api-key-created at medium', () => {
      const c = run(iam('CreateServiceSpecificCredential', { userName: 'BedrockAPIKey-x7qz', serviceName: 'bedrock.amazonaws.com', credentialAgeDays: 30 }, credential('BedrockAPIKey-x7qz', { expirationDate: 'Dec 30, 2026, 10:00:00 AM' })));
      expect(c.resources).toEqual([expect.objectContaining({ kind: 'bedrock-api-key', arn: KEY, status: 'active', service: 'iam', account: '111122223333', attributes: expect.objectContaining({ userName: 'BedrockAPIKey-x7qz', credentialId: 'ACCAEXAMPLE123456789', createdAt: '2026-11-30T10:00:00.000Z', expiresAt: '2026-12-30T10:00:00.000Z', keyStatus: 'Active', createdBy: 'arn:aws:iam::111122223333:role/Admin' }) })]);
      expect(c.findings).toEqual([expect.objectContaining({ rule: 'bedrock-api-key-created', severity: 'medium', resource: KEY })]);
      expect(c.findings[0].summary).toContain('expires 2026-12-30T10:00:00.000Z');
    });

    it('raises it high for a key on an existing user, or minted with a long-term access key, and says when it never expires', () => {
      const onUser = run(iam('CreateServiceSpecificCredential', { userName: 'ci-deployer', serviceName: 'bedrock.amazonaws.com' }, credential('ci-deployer')));
      expect(onUser.findings[0]).toMatchObject({ severity: 'high' });
      expect(onUser.findings[0].summary).toContain('never expires');
      const byAkia = run(iam('CreateServiceSpecificCredential', { userName: 'BedrockAPIKey-x7qz', serviceName: 'bedrock.amazonaws.com' }, credential('BedrockAPIKey-x7qz'), { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/dev', userName: 'dev', accessKeyId: 'AKIAEXAMPLE', sessionContext: undefined }));
      expect(byAkia.findings[0]).toMatchObject({ severity: 'high' });
      expect(byAkia.findings[0].signals.map((s) => s.path)).toContain('userIdentity.accessKeyId');
    });

    it('leaves credentials for other services alone, and a refused create records nothing', () => {
      expect(run(iam('CreateServiceSpecificCredential', { userName: 'dev', serviceName: 'codecommit.amazonaws.com' }, credential('dev', { serviceName: 'codecommit.amazonaws.com' })))).toMatchObject({ resources: [], findings: [] });
      expect(run({ ...iam('CreateServiceSpecificCredential', { userName: 'dev', serviceName: 'bedrock.amazonaws.com' }), errorCode: 'AccessDenied' })).toMatchObject({ resources: [], findings: [] });
    });

    it("updates, resets and deletes a console key user's keys, and only known keys of other users (they may be CodeCommit or Keyspaces credentials)", () => {
      const ids = { userName: 'BedrockAPIKey-x7qz', serviceSpecificCredentialId: 'ACCAEXAMPLE123456789' };
      expect(run(iam('UpdateServiceSpecificCredential', { ...ids, status: 'Inactive' })).resources).toEqual([expect.objectContaining({ arn: KEY, onlyIfKnown: false, attributes: expect.objectContaining({ keyStatus: 'Inactive' }) })]);
      expect(run(iam('ResetServiceSpecificCredential', ids)).resources[0]).toMatchObject({ arn: KEY, onlyIfKnown: false });
      expect(run(iam('DeleteServiceSpecificCredential', ids)).resources[0]).toMatchObject({ arn: KEY, status: 'deleted' });
      expect(run(iam('DeleteServiceSpecificCredential', ids)).findings).toEqual([]);
      expect(run(iam('DeleteServiceSpecificCredential', { ...ids, userName: 'ci-deployer' })).resources[0]).toMatchObject({ onlyIfKnown: true, status: 'deleted' });
    });

    it('marks a principal that called with a bearer token', () => {
      const call = { ...documentedRecord('InvokeModel'), additionalEventData: { callWithBearerToken: true } };
      expect(run(call).principal?.signals).toContainEqual(expect.objectContaining({ path: 'additionalEventData.callWithBearerToken', value: true }));
      expect(run(documentedRecord('InvokeModel')).principal?.signals.map((s) => s.path)).not.toContain('additionalEventData.callWithBearerToken');
    });
  });

  describe('enforced guardrails (built from the Bedrock API reference shapes)', () => {
    const put = (requestParameters: Record<string, unknown>) => built('PutEnforcedGuardrailConfiguration', { requestParameters, responseElements: { configId: 'cfg1abc', updatedAt: '2026-11-30T10:00:00Z', updatedBy: 'arn:aws:iam::111122223333:role/Admin' } });
    const CONFIG = 'arn:aws:bedrock:us-east-1:111122223333:enforced-guardrail-configuration/cfg1abc';
    const GUARDRAIL = 'arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1';

    it('inventories a new enforced configuration and its guardrail, and raises nothing for it', () => {
      const c = run(put({ guardrailInferenceConfig: { guardrailIdentifier: 'gr7example1', guardrailVersion: '3' } }));
      expect(kinds(c)).toEqual(expect.arrayContaining([['enforced-guardrail-config', CONFIG, 'active'], ['guardrail', GUARDRAIL, 'active']]));
      expect(c.resources.find((r) => r.arn === CONFIG)?.attributes).toMatchObject({ configId: 'cfg1abc', guardrail: GUARDRAIL, guardrailVersion: '3' });
      expect(c.findings).toEqual([]);
    });

    it('raises enforced-guardrail-changed on a Put to an existing configuration, high when it exempts models', () => {
      const changed = run(put({ configId: 'cfg1abc', guardrailInferenceConfig: { guardrailIdentifier: GUARDRAIL, guardrailVersion: '4' } }));
      expect(changed.findings).toEqual([expect.objectContaining({ rule: 'enforced-guardrail-changed', severity: 'medium', confidence: 'possible', resource: CONFIG })]);
      const exempting = run(put({ configId: 'cfg1abc', guardrailInferenceConfig: { guardrailIdentifier: GUARDRAIL, guardrailVersion: '4', modelEnforcement: { excludedModels: ['anthropic.claude-3-haiku-20240307-v1:0'] } } }));
      expect(exempting.findings[0]).toMatchObject({ severity: 'high' });
      expect(exempting.findings[0].summary).toContain('exempting anthropic.claude-3-haiku-20240307-v1:0');
    });

    it('raises enforced-guardrail-removed on a delete, and nothing for a refused one', () => {
      const removed = run(built('DeleteEnforcedGuardrailConfiguration', { requestParameters: { configId: 'cfg1abc' }, responseElements: null }));
      expect(kinds(removed)).toEqual([['enforced-guardrail-config', CONFIG, 'deleted']]);
      expect(removed.findings).toEqual([expect.objectContaining({ rule: 'enforced-guardrail-removed', severity: 'high', resource: CONFIG })]);
      expect(run(built('DeleteEnforcedGuardrailConfiguration', { requestParameters: { configId: 'cfg1abc' }, responseElements: null, errorCode: 'AccessDeniedException' }))).toMatchObject({ resources: [], findings: [] });
    });
  });

  describe('GuardDuty findings about AI workloads (built from the documented shape: fixtures/guardduty)', () => {
    const findings = readJson(join(FIXTURES, '..', 'guardduty', 'ai-protection-findings.json')) as unknown as Array<Record<string, unknown>>;

    it('raises guardduty-ai-finding on the model GuardDuty names, for the identity it names, at its severity, corroborated', () => {
      const c = run(findings[0]);
      expect(c.findings).toEqual([expect.objectContaining({ rule: 'guardduty-ai-finding', severity: 'high', confidence: 'confirmed', resource: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0', principal: 'arn:aws:iam::111122223333:user/ci-deployer' })]);
      expect(c.findings[0].summary).toContain('Impact:IAMUser/AnomalousModelInvocation');
      expect(c.findings[0].summary).toContain('corroborated by GuardDuty, finding a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6');
    });

    it('joins a prompt injection to the guardrail that intervened (a known one only) and to the role', () => {
      const c = run(findings[1]);
      expect(c.findings[0]).toMatchObject({ severity: 'medium', resource: 'arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1', principal: 'arn:aws:iam::111122223333:role/ops-agent-role' });
      expect(c.resources).toEqual([expect.objectContaining({ kind: 'guardrail', onlyIfKnown: true })]);
    });

    it('maps GuardDuty severities (1-3.9 low, 4-6.9 medium, 7-8.9 high, 9+ critical)', () => {
      expect([1, 3.9, 4, 6.9, 7, 8.9, 9, 'x'].map(severityOf)).toEqual(['low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'medium']);
    });
  });

  it('gpu-launch-refused: RunInstances refused for permissions (real record)', () => {
    const c = run(aiFixture('Failed-Unusual-EC2'));
    expect(c.resources).toEqual([]);
    expect(c.findings).toEqual([expect.objectContaining({ rule: 'gpu-launch-refused', resource: 'arn:aws:ec2:ca-south-3r:900138736586:instance/*', principal: 'arn:aws:iam::900138736586:role/stratus-red-team-ec2lui-role-idtzskbvtd' })]);
    expect(c.findings[0].summary).toContain('p2.xlarge (up to 10)');
  });

  it('gpu-launch-refused: quota refusals and per-override fleet errors count, capacity shortages and non-GPU types do not', () => {
    const quota = { ...aiFixture('Failed-Unusual-EC2'), errorCode: 'VcpuLimitExceeded' };
    expect(rules(run(quota))).toEqual(['gpu-launch-refused']);
    const capacity = { ...aiFixture('Failed-Unusual-EC2'), errorCode: 'InsufficientInstanceCapacity' };
    expect(rules(run(capacity))).toEqual([]);
    const cpu = aiFixture('Failed-Unusual-EC2');
    (cpu.requestParameters as Record<string, unknown>).instanceType = 'm5.large';
    expect(run(cpu).ignoredBecause).toBe('not a GPU/accelerator instance type');
    // Built from the documented CreateFleet shape: the call succeeds, one override is refused.
    expect(run(documentedRecord('CreateFleet')).findings).toEqual([expect.objectContaining({ rule: 'gpu-launch-refused', principal: 'arn:aws:iam::111122223333:role/stolen-ci-role' })]);
    const spot = built('RequestSpotInstances', { eventSource: 'ec2.amazonaws.com', requestParameters: { instanceCount: 4, launchSpecification: { instanceType: 'p4d.24xlarge', imageId: 'ami-1' } }, responseElements: null, errorCode: 'MaxSpotInstanceCountExceeded' });
    expect(rules(run(spot))).toEqual(['gpu-launch-refused']);
  });

  it('notebook-direct-internet-access and notebook-root-access: absent settings take the risky API defaults (built from the documented shape)', () => {
    const c = run(documentedRecord('CreateNotebookInstance'));
    expect(rules(c)).toEqual(['notebook-direct-internet-access', 'notebook-root-access']);
    expect(c.findings[0].signals[0]).toMatchObject({ path: 'requestParameters.directInternetAccess', value: null, note: 'absent: CreateNotebookInstance defaults to Enabled' });
    const locked = documentedRecord('CreateNotebookInstance');
    Object.assign(locked.requestParameters as object, { directInternetAccess: 'Disabled', rootAccess: 'Disabled', subnetId: 'subnet-1' });
    expect(rules(run(locked))).toEqual([]);
    const update = built('UpdateNotebookInstance', { eventSource: 'sagemaker.amazonaws.com', requestParameters: { notebookInstanceName: 'research-notebook', rootAccess: 'Enabled' }, responseElements: null });
    expect(rules(run(update))).toEqual(['notebook-root-access']);
  });

  it('endpoint-config-without-kms: only instance-backed variants need a key (built from the documented shape)', () => {
    expect(rules(run(documentedRecord('CreateEndpointConfig')))).toEqual(['endpoint-config-without-kms']);
    const withKey = documentedRecord('CreateEndpointConfig');
    (withKey.requestParameters as Record<string, unknown>).kmsKeyId = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(rules(run(withKey))).toEqual([]);
    const serverless = documentedRecord('CreateEndpointConfig');
    (serverless.requestParameters as Record<string, unknown>).productionVariants = [{ variantName: 'AllTraffic', modelName: 'fraud-model', serverlessConfig: { memorySizeInMB: 2048, maxConcurrency: 5 } }];
    expect(rules(run(serverless))).toEqual([]);
  });

  it('agent-gateway-without-authorizer: authorizerType NONE (built from the documented shape); a JWT gateway is fine (real record)', () => {
    expect(rules(run(documentedRecord('CreateGateway')))).toEqual(['agent-gateway-without-authorizer']);
    expect(rules(run(aiFixture('CreateGateway')))).toEqual([]);
  });
});
