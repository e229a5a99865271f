/**
 * The capture rules (lib/capture/patterns.ts), evaluated with the replay's EventBridge matcher
 * on real records: every record of fixtures/cloudtrail/ai must reach a rule, every record of
 * fixtures/cloudtrail/non-ai none.
 */
import { AGENT_TAG_KEY, captureRules, GPU_FAMILY_PREFIXES, guardDutyAiRule, MODEL_FILE_SUFFIXES, OWN_ROLE_PATH } from '../../lib/capture/patterns';
import { compileRules, matchingRules, mayMatch, toEnvelope, isEnvelope } from '../../local/replay/event-bus';
import { GPU_INSTANCE_TYPE } from '../../lambdas/classifier/rules/ec2';
import { MODEL_FILE } from '../../lambdas/classifier/rules/s3';
import { aiFixtureFiles, documentedRecord, documentedRecords, FIXTURES, nonAiRecords, readJson } from '../helpers';
import { basename } from 'node:path';
import { OWNER_TAG_KEY } from '../../lambdas/core/constants';

const rules = compileRules();
const envelopeOf = (value: Record<string, unknown>) => (isEnvelope(value) ? value : toEnvelope(value));
const rulesFor = (record: Record<string, unknown>) => matchingRules(envelopeOf(record), rules);

describe('real AI records', () => {
  it.each(aiFixtureFiles().map((f) => [basename(f), f]))('%s reaches a capture rule', (_name, file) => {
    expect(rulesFor(readJson(file))).not.toHaveLength(0);
  });

  it('routes each record to the rule of its service', () => {
    const byName = Object.fromEntries(aiFixtureFiles().map((f) => [/__([A-Za-z]+)/.exec(basename(f))![1], rulesFor(readJson(f))]));
    expect(byName.InvokeModel).toEqual(['Bedrock']);
    expect(byName.CreateGateway).toEqual(['AgentCore']);
    expect(byName.CreateEndpoint).toEqual(['SageMaker']);
    expect(byName.RunInstances).toEqual(['GpuInstances']);
  });
});

describe('real non-AI records', () => {
  const records = nonAiRecords();

  it('include the records SOURCES.md lists (103 OTRF lines, 3 RunInstances, 2 CreateBucket envelopes)', () => {
    expect(records).toHaveLength(108);
  });

  it.each(records.map((r) => [r.source, r.value]))('%s reaches no rule', (_source, value) => {
    expect(rulesFor(value as Record<string, unknown>)).toEqual([]);
  });
});

describe('records built from the documented API shapes (not real records)', () => {
  it('reach the rule of their service, except calls by ai-visibility itself', () => {
    for (const record of documentedRecords()) {
      const own = JSON.stringify(record.userIdentity).includes(`:role${OWN_ROLE_PATH}`);
      expect({ event: record.eventName, own, matched: rulesFor(record).length > 0 }).toEqual({ event: record.eventName, own, matched: !own });
    }
  });

  it('catch GPU launches whose type is only in the response, and refused fleet launches', () => {
    expect(rulesFor(documentedRecord('RunInstances'))).toEqual(['GpuInstances']);
    expect(rulesFor(documentedRecord('CreateFleet'))).toEqual(['GpuInstances']);
  });

  it('catch a model file upload but not other objects, whatever the case of the suffix', () => {
    const upload = documentedRecord('PutObject');
    expect(rulesFor(upload)).toEqual(['ModelArtifacts']);
    (upload.requestParameters as Record<string, unknown>).key = 'exports/MODEL.GGUF';
    expect(rulesFor(upload)).toEqual(['ModelArtifacts']);
    (upload.requestParameters as Record<string, unknown>).key = 'reports/q3.pdf';
    expect(rulesFor(upload)).toEqual([]);
  });
});

describe('rule states', () => {
  it('deliver read-only management events only to rules that ask for them', () => {
    const invoke = { ...documentedRecord('InvokeModel'), readOnly: true };
    expect(rulesFor(invoke)).toEqual(['Bedrock']);
    const bedrock = captureRules().find((r) => r.id === 'Bedrock')!;
    expect(matchingRules(toEnvelope(invoke), compileRules([{ ...bedrock, includeReadOnlyManagementEvents: false }]))).toEqual([]);
  });

  it('leave out the high-volume read-only calls named in docs/capture.md', () => {
    // The model catalogue read by a known AI application (the application's role is configured).
    const listModels = { ...documentedRecord('InvokeModel'), eventName: 'ListFoundationModels' };
    expect(matchingRules(toEnvelope(listModels), compileRules(captureRules({ knownAiApplications: ['arn:aws:iam::*:role/support-bot-*'] })))).toEqual([]);
    expect(rulesFor({ ...listModels, eventName: 'GetFoundationModel' })).toEqual([]);
    const describeJob = { ...documentedRecord('CreateTrainingJob'), eventName: 'DescribeTrainingJob', readOnly: true };
    expect(rulesFor(describeJob)).toEqual([]);
  });
});

describe('the stack never captures itself', () => {
  it('drops calls whose session issuer is under the ai-visibility IAM path, in any partition', () => {
    const own = documentedRecords().find((r) => JSON.stringify(r.userIdentity).includes('/ai-visibility/'))!;
    expect(rulesFor(own)).toEqual([]);
    const govCloud = structuredClone(own);
    (govCloud.userIdentity as { sessionContext: { sessionIssuer: { arn: string } } }).sessionContext.sessionIssuer.arn = 'arn:aws-us-gov:iam::111122223333:role/ai-visibility/Tagger';
    expect(rulesFor(govCloud)).toEqual([]);
  });

  it('still captures roles merely named like it, and callers without a session issuer', () => {
    const lookalike = documentedRecord('InvokeModel');
    (lookalike.userIdentity as { sessionContext: { sessionIssuer: { arn: string } } }).sessionContext.sessionIssuer.arn = 'arn:aws:iam::111122223333:role/ai-visibility-dashboard';
    expect(rulesFor(lookalike)).toEqual(['Bedrock']);
    const user = { ...documentedRecord('InvokeModel'), userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333' } };
    expect(rulesFor(user)).toEqual(['Bedrock']);
  });
});

describe('the replay\'s source prefilter', () => {
  it('never drops a record a rule would match', () => {
    expect(rules.eventSources).toEqual(new Set(['bedrock.amazonaws.com', 'bedrock-agentcore.amazonaws.com', 'sagemaker.amazonaws.com', 'ec2.amazonaws.com', 'lambda.amazonaws.com', 'iam.amazonaws.com', 'sts.amazonaws.com', 's3.amazonaws.com', 'agreement-marketplace.amazonaws.com']));
    const all = [...aiFixtureFiles().map((f) => readJson(f)), ...nonAiRecords().map((r) => r.value), ...documentedRecords()].map((v) => (isEnvelope(v) ? (v.detail as Record<string, unknown>) : v));
    for (const record of all) if (!mayMatch(record, rules)) expect(rulesFor(record)).toEqual([]);
    expect(all.filter((r) => !mayMatch(r, rules)).length).toBeGreaterThan(0);
  });
});

describe('agent declarations', () => {
  const tag = (eventName: string, key: string) => ({
    ...(readJson(`${FIXTURES}/documented/agents-2-activity.json`).Records as Record<string, unknown>[]).find((r) => r.eventName === 'AttachRolePolicy')!,
    eventName,
    eventID: `${eventName}-${key}`,
    requestParameters: { roleName: 'triage-bot', userName: 'triage-bot', roleArn: 'arn:aws:iam::111122223333:role/triage-bot', tags: [{ key: 'team', value: 'ml' }, { key, value: 'true' }] },
  });

  it.each(['TagRole', 'TagUser', 'AssumeRole'])('bring in %s with the ai-visibility:agent tag, in any case, and nothing else (built from the documented shape)', (eventName) => {
    expect(rulesFor(tag(eventName, 'ai-visibility:agent'))).toEqual(['AgentDeclarations']);
    expect(rulesFor(tag(eventName, 'AI-Visibility:Agent'))).toEqual(['AgentDeclarations']);
    expect(rulesFor(tag(eventName, 'team'))).toEqual([]);
  });

  it.each(['TagRole', 'TagUser', 'CreateRole', 'CreateUser'])("bring in %s setting the ai-visibility:owner tag (a principal's owner routes its findings)", (eventName) => {
    expect(rulesFor(tag(eventName, OWNER_TAG_KEY))).toEqual(['AgentDeclarations']);
  });

  it('bring in UntagRole and UntagUser removing the owner tag, and no session tagged with an owner', () => {
    const untag = (eventName: string, tagKeys: string[]) => ({ ...tag(eventName, 'team'), requestParameters: { roleName: 'triage-bot', userName: 'triage-bot', tagKeys } });
    expect(rulesFor(untag('UntagRole', ['team', OWNER_TAG_KEY]))).toEqual(['AgentDeclarations']);
    expect(rulesFor(untag('UntagUser', [OWNER_TAG_KEY]))).toEqual(['AgentDeclarations']);
    expect(rulesFor(untag('UntagRole', ['team']))).toEqual([]);
    expect(rulesFor(tag('AssumeRole', OWNER_TAG_KEY))).toEqual([]);
  });

  it("bring in EC2 CreateTags and DeleteTags with the owner tag (an instance's owner), and no other tag call", () => {
    const tagCall = (eventName: string, key: string) => ({ ...documentedRecord('RunInstances'), eventName, eventID: `${eventName}-${key}`, requestParameters: { resourcesSet: { items: [{ resourceId: 'i-0gpu0000000000001' }] }, tagSet: { items: [{ key: 'team', value: 'x' }, { key }] } } });
    expect(rulesFor(tagCall('CreateTags', OWNER_TAG_KEY))).toEqual(['GpuInstances']);
    expect(rulesFor(tagCall('DeleteTags', OWNER_TAG_KEY))).toEqual(['GpuInstances']);
    expect(rulesFor(tagCall('CreateTags', 'team'))).toEqual([]);
  });

  it('use the documented agent tag key', () => {
    expect(AGENT_TAG_KEY).toBe('ai-visibility:agent');
  });
});

describe('pattern hygiene', () => {
  it('keeps every pattern under the 4,096-character EventBridge limit', () => {
    for (const rule of captureRules()) expect(JSON.stringify(rule.pattern).length).toBeLessThan(4096);
  });

  it('keeps the classifier regular expressions in step with the pattern data', () => {
    for (const suffix of MODEL_FILE_SUFFIXES) {
      expect(MODEL_FILE.test(`dir/file${suffix}`)).toBe(true);
      expect(MODEL_FILE.test(`dir/file${suffix.toUpperCase()}`)).toBe(true);
    }
    expect(MODEL_FILE.test('dir/firmware.bin')).toBe(false);
    for (const type of ['p2.xlarge', 'p4d.24xlarge', 'p6-b200.48xlarge', 'g4dn.xlarge', 'g5g.2xlarge', 'gr6.4xlarge', 'inf2.48xlarge', 'trn1n.32xlarge', 'dl2q.24xlarge']) {
      expect(GPU_INSTANCE_TYPE.test(type)).toBe(true);
      expect(GPU_FAMILY_PREFIXES.some((p) => type.startsWith(p))).toBe(true);
    }
    for (const type of ['t2.micro', 'm3.medium', 'c7g.large', 'r6i.xlarge', 'mac2.metal']) expect(GPU_INSTANCE_TYPE.test(type)).toBe(false);
  });
});

describe("the tagger's own tag calls (loop safety)", () => {
  // The tag calls the tagger makes, in each API's CloudTrail shape (the documented RunInstances
  // record's envelope, with the request parameters of TagResources, CreateTags, Bedrock
  // TagResource, SageMaker AddTags, AgentCore TagResource and PutBucketTagging), made by a role
  // under the stack's path (every role of the stack is: test/infra/stack.test.ts).
  const taggerSession = {
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLETAGGER0001:AiVisibility-TaggerFunction',
    arn: 'arn:aws:sts::111122223333:assumed-role/AiVisibility-TaggerFunctionServiceRole-1A2B3C/AiVisibility-TaggerFunction',
    accountId: '111122223333',
    sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLETAGGER0001', arn: `arn:aws:iam::111122223333:role${OWN_ROLE_PATH}AiVisibility-TaggerFunctionServiceRole-1A2B3C`, accountId: '111122223333', userName: 'AiVisibility-TaggerFunctionServiceRole-1A2B3C' } },
  };
  const call = (eventSource: string, eventName: string, requestParameters: Record<string, unknown>, userIdentity: Record<string, unknown> = taggerSession) => ({
    ...documentedRecord('RunInstances'),
    eventSource,
    eventName,
    eventID: `tagger-${eventName}-${eventSource}`,
    userIdentity,
    requestParameters,
    responseElements: null,
  });
  const ours = { 'ai-visibility:kind': 'gpu-instance', [OWNER_TAG_KEY]: 'not ours to write, but even so' };
  const calls = [
    call('tagging.amazonaws.com', 'TagResources', { resourceARNList: ['arn:aws:ec2:us-east-1:111122223333:instance/i-0gpu0000000000001'], tags: ours }),
    call('ec2.amazonaws.com', 'CreateTags', { resourcesSet: { items: [{ resourceId: 'i-0gpu0000000000001' }] }, tagSet: { items: Object.entries(ours).map(([key, value]) => ({ key, value })) } }),
    call('bedrock.amazonaws.com', 'TagResource', { resourceARN: 'arn:aws:bedrock:us-east-1:111122223333:guardrail/g1', tags: [{ key: 'ai-visibility:kind', value: 'guardrail' }] }),
    call('sagemaker.amazonaws.com', 'AddTags', { resourceArn: 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/e', tags: [{ key: 'ai-visibility:kind', value: 'inference-endpoint' }] }),
    call('bedrock-agentcore.amazonaws.com', 'TagResource', { resourceArn: 'arn:aws:bedrock-agentcore:us-east-1:111122223333:runtime/r', tags: { 'ai-visibility:kind': 'agent-runtime' } }),
    call('s3.amazonaws.com', 'PutBucketTagging', { bucketName: 'models', Tagging: { TagSet: { Tag: [{ Key: 'ai-visibility:kind', Value: 'model-artifact-store' }] } } }),
  ];

  it('match no capture rule, so they never come back as events', () => {
    for (const c of calls) expect([c.eventSource, c.eventName, rulesFor(c)]).toEqual([c.eventSource, c.eventName, []]);
  });

  it('while the same calls by anyone else are captured (the exclusion is the role, not the call)', () => {
    const alice = { type: 'IAMUser', principalId: 'AIDAEXAMPLEALICE0001', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', userName: 'alice' };
    const theirs = calls.slice(1).map((c) => ({ ...c, userIdentity: alice }));
    for (const c of theirs) expect([c.eventSource, c.eventName, rulesFor(c).length]).toEqual([c.eventSource, c.eventName, 1]);
  });
});

describe('model agreements', () => {
  const call = (eventName: string, readOnly = false) => ({ eventVersion: '1.09', eventSource: 'agreement-marketplace.amazonaws.com', eventName, eventType: 'AwsApiCall', readOnly, managementEvent: true, awsRegion: 'us-east-1', eventTime: '2026-11-30T10:00:00Z', eventID: `m-${eventName}`, recipientAccountId: '111122223333', userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/dev', accountId: '111122223333' } });

  it('captures a Marketplace agreement accepted, and none of the Agreement API reads (built from the documented shape)', () => {
    expect(rulesFor(call('AcceptAgreementRequest'))).toEqual(['ModelAgreements']);
    expect(rulesFor(call('SearchAgreements', true))).toEqual([]);
    expect(rulesFor(call('DescribeAgreement', true))).toEqual([]);
  });
});

describe('Bedrock API keys', () => {
  const call = (eventName: string, requestParameters: Record<string, unknown>) => ({ eventVersion: '1.09', eventSource: 'iam.amazonaws.com', eventName, eventType: 'AwsApiCall', readOnly: false, managementEvent: true, awsRegion: 'us-east-1', eventTime: '2026-11-30T10:00:00Z', eventID: `k-${eventName}`, recipientAccountId: '111122223333', requestParameters, userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/dev', accountId: '111122223333' } });

  it('captures Bedrock keys created and every service-specific credential changed, not other services\' keys created (built from the documented shape)', () => {
    expect(rulesFor(call('CreateServiceSpecificCredential', { userName: 'BedrockAPIKey-x7qz', serviceName: 'bedrock.amazonaws.com' }))).toEqual(['BedrockApiKeys']);
    expect(rulesFor(call('CreateServiceSpecificCredential', { userName: 'dev', serviceName: 'codecommit.amazonaws.com' }))).toEqual([]);
    for (const name of ['UpdateServiceSpecificCredential', 'ResetServiceSpecificCredential', 'DeleteServiceSpecificCredential']) expect(rulesFor(call(name, { userName: 'BedrockAPIKey-x7qz', serviceSpecificCredentialId: 'ACCAEXAMPLE123456789' }))).toEqual(['BedrockApiKeys']);
  });
});

describe('model reconnaissance reads (ModelRecon), on the real InvokeModel record turned into each read', () => {
  const INVOKE = readJson(`${FIXTURES}/ai/sumologic-documentation__InvokeModel.json`);
  const read = (eventName: string, userIdentity: unknown = INVOKE.userIdentity) => ({ ...INVOKE, eventName, requestParameters: null, userIdentity });
  const app = documentedRecord('InvokeModel').userIdentity as Record<string, unknown>;
  const known = compileRules(captureRules({ knownAiApplications: ['arn:aws:iam::*:role/support-bot-*'] }));
  const READS = ['ListFoundationModels', 'GetFoundationModelAvailability', 'ListFoundationModelAgreementOffers', 'GetUseCaseForModelAccess'];

  it.each(READS)('%s arrives from an IAM user with a long-term key, and from a role that is not a known AI application', (eventName) => {
    expect(rulesFor(read(eventName))).toEqual(['ModelRecon']);
    expect(rulesFor(read(eventName, { ...(INVOKE.userIdentity as object), type: 'Root', arn: 'arn:aws:iam::956882123456:root' }))).toEqual(['ModelRecon']);
    expect(rulesFor(read(eventName, app))).toEqual(['ModelRecon']);
  });

  it.each(READS)('%s stays out for known AI applications, ai-visibility itself and AWS services', (eventName) => {
    expect(matchingRules(toEnvelope(read(eventName, app)), known)).toEqual([]);
    const own = { ...app, sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::111122223333:role${OWN_ROLE_PATH}Discovery` } } };
    expect(rulesFor(read(eventName, own))).toEqual([]);
    expect(rulesFor(read(eventName, { type: 'AWSService', invokedBy: 'config.amazonaws.com' }))).toEqual([]);
  });

  it('takes a known application calling with a long-term key all the same (a leaked key is not the application)', () => {
    const withKey = { ...app, accessKeyId: 'AKIAEXAMPLEKEY00009' };
    expect(matchingRules(toEnvelope(read('ListFoundationModels', withKey)), known)).toEqual(['ModelRecon']);
  });

  it('leaves the other Bedrock rules as they were: the reads reach ModelRecon alone', () => {
    for (const r of READS) expect(rulesFor(read(r))).not.toContain('Bedrock');
    expect(rulesFor(read('GetModelInvocationLoggingConfiguration'))).toEqual(['Bedrock']);
  });

  it('fits the default event-pattern quota with a dozen known applications', () => {
    const apps = Array.from({ length: 12 }, (_, i) => `arn:aws:iam::*:role/application-number-${i}-*`);
    const rule = captureRules({ knownAiApplications: apps }).find((r) => r.id === 'ModelRecon')!;
    expect(JSON.stringify(rule.pattern).length).toBeLessThanOrEqual(2048);
  });
});

describe('GuardDuty findings (opt-in rule; findings built from the documented shape)', () => {
  const findings = readJson(`${FIXTURES}/../guardduty/ai-protection-findings.json`) as unknown as Array<Record<string, unknown>>;
  const withGuardDuty = compileRules([...captureRules(), guardDutyAiRule()]);

  it('takes the AI Protection types and findings naming models or guardrails, not the rest, and only when enabled', () => {
    expect(findings.map((f) => matchingRules(f, withGuardDuty))).toEqual([['GuardDutyAiFindings'], ['GuardDutyAiFindings'], []]);
    expect(findings.map((f) => matchingRules(f, rules))).toEqual([[], [], []]);
    const typeOnly = { ...findings[0], detail: { ...(findings[0].detail as object), type: 'Impact:IAMUser/CostHarvesting', resource: { resourceType: 'AccessKey' } } };
    expect(matchingRules(typeOnly, withGuardDuty)).toEqual(['GuardDutyAiFindings']);
  });
});
