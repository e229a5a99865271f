/**
 * The tagger: what it plans for the real inventory of the fixtures' replay, how its writes batch
 * (20 ARNs a Tagging API call, one region), retries (FailedResourcesMap, throttling) and the S3
 * read-merge-write against a concurrent change, with the SDK clients mocked in the documented
 * response shapes, and the handler against the replay's table (dynalite).
 */
import { TagResourceCommand as BedrockTagResource, BedrockClient } from '@aws-sdk/client-bedrock';
import { ResourceGroupsTaggingAPIClient, TagResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import { GetBucketTaggingCommand, PutBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { desiredTags, planTags, prefixProblem, routeOf, tagBatches, TAGGING_API_BATCH, tagValue, type TagBatch, type TagPlan, type TaggingSettings } from '../../lambdas/core/tagging';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { ENTITY, keys, keyString, readResource, readTaggerState, taggableOf, type ResourceItem } from '../../lambdas/shared/items';
import { TAGGER_SERVICE } from '../../lambdas/tagger/environment';
import { createTaggerHandler, tagResources } from '../../lambdas/tagger/handler';
import { awsTagWriter, mergeBucketTags, writeWithRetries, type TagClients, type TagFailure, type TagFailures, type TagWriter } from '../../lambdas/tagger/writers';
import { LOCAL_TABLE_NAME } from '../../local/handlers';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { scanTable } from '../../local/replay/report';
import { cliRunner, useTempDirs } from '../support';
import { documentedRecord, FIXTURES } from '../helpers';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORE_TAG_KEY, OWNER_TAG_KEY } from '../../lambdas/core/constants';

const temp = useTempDirs();
const cli = cliRunner();
const STORE = temp.dir('ai-visibility-tagger-');
const SETTINGS: TaggingSettings = { prefix: 'ai-visibility:', exclude: [], account: '111122223333' };
const NOW = Date.parse('2026-12-02T00:00:00.000Z');
let db: LocalDynamoDb;
let resources: ResourceItem[];
let planned: Array<{ arn: string; set?: Record<string, string>; untaggable?: string }>;

beforeAll(async () => {
  const { code, stdout } = await cli('replay', '--json', '--allow-quarantine', '--store', STORE, FIXTURES);
  expect(code).toBe(0);
  planned = (JSON.parse(stdout) as { tagging: typeof planned }).tagging;
  db = await startLocalDynamoDb({ path: STORE });
  resources = (await scanTable(db.documents, LOCAL_TABLE_NAME)).flatMap((i) => {
    const r = readResource(i);
    return r ? [r] : [];
  });
}, 120_000);
afterAll(async () => db.close());

const noSleep = { sleep: async () => undefined, random: () => 0.5 };

describe('what the tagger plans for the real inventory', () => {
  it('tags every resource of its account it can, with the tags that are not already right, and says why for the rest', () => {
    expect(resources.length).toBeGreaterThan(20);
    const plans = resources.map((r) => planTags(taggableOf(r), undefined, SETTINGS));
    for (const [r, p] of resources.map((r, i) => [r, plans[i]] as const)) {
      if (r.kind === 'foundation-model') expect(p).toMatchObject({ action: 'untaggable', reason: 'a foundation model is owned by AWS' });
      else if (r.account !== '111122223333' && r.status !== 'deleted') expect(p).toMatchObject({ action: 'untaggable', reason: expect.stringContaining(`in account ${r.account}`) });
      if (p.action !== 'set') continue;
      // Each tag is written unless the resource already carries that value (a bucket's tag set).
      const want = { 'ai-visibility:kind': r.kind, 'ai-visibility:first-seen': r.firstSeen.slice(0, 10) };
      for (const [k, v] of Object.entries(want)) expect([k, p.set[k] ?? r.tags?.[k]]).toEqual([k, v]);
      for (const [k, v] of Object.entries(p.set)) {
        expect(k.startsWith('ai-visibility:')).toBe(true);
        expect(v.length).toBeLessThanOrEqual(256);
        expect(v).toMatch(/^[a-zA-Z0-9 ._:/=+@-]*$/);
      }
    }
    expect(plans.filter((p) => p.action === 'set').length).toBeGreaterThan(5);
    // Sensitivity from lineage and the agent tags reach the resources that have them.
    const sensitive = resources.find((r) => r.sensitivity && r.account === '111122223333' && routeOf(r, SETTINGS) && r.kind !== 'foundation-model');
    if (sensitive) expect(desiredTags(taggableOf(sensitive), 'ai-visibility:')['ai-visibility:data-sensitivity']).toBe(sensitive.sensitivity);
  });

  it('writes nothing already right, nothing for deleted, excluded or untaggable-recorded resources', () => {
    const r = taggableOf(resources.find((x) => x.kind === 'guardrail' && x.account === '111122223333' && x.status !== 'deleted') ?? resources.find((x) => x.kind !== 'foundation-model' && x.account === '111122223333' && x.status !== 'deleted')!);
    const first = planTags(r, undefined, SETTINGS) as Extract<TagPlan, { action: 'set' }>;
    expect(first.action).toBe('set');
    expect(planTags(r, { applied: first.set }, SETTINGS)).toMatchObject({ action: 'skip', reason: 'tags already right' });
    // One changed value: only that tag.
    expect(planTags({ ...r, sensitivity: 'restricted' }, { applied: first.set }, SETTINGS)).toMatchObject({ action: 'set', set: { 'ai-visibility:data-sensitivity': 'restricted' } });
    expect(planTags({ ...r, status: 'deleted' }, undefined, SETTINGS)).toMatchObject({ action: 'skip', reason: 'deleted' });
    expect(planTags(r, undefined, { ...SETTINGS, exclude: [r.kind] })).toMatchObject({ action: 'skip' });
    expect(planTags(r, { applied: {}, untaggable: 'x' }, SETTINGS)).toMatchObject({ action: 'skip', reason: 'untaggable: x' });
    // A tag outside the prefix is never written, whatever the resource already carries.
    expect(Object.keys(desiredTags(r, 'team:')).every((k) => k.startsWith('team:'))).toBe(true);
  });

  it('routes each kind to the API that tags it, and names what cannot be tagged', () => {
    const at = (arn: string, kind: string) => routeOf({ arn, kind, account: '111122223333' }, SETTINGS);
    expect(at('arn:aws:ec2:us-east-1:111122223333:instance/i-1', 'gpu-instance')).toEqual({ route: 'tagging-api' });
    expect(at('arn:aws:sagemaker:us-east-1:111122223333:endpoint/e', 'inference-endpoint')).toEqual({ route: 'tagging-api' });
    expect(at('arn:aws:bedrock:us-east-1:111122223333:guardrail/g1', 'guardrail')).toEqual({ route: 'bedrock' });
    expect(at('arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/p', 'inference-profile')).toEqual({ route: 'bedrock' });
    expect(at('arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude', 'inference-profile')).toMatchObject({ untaggable: expect.stringContaining('system-defined') });
    expect(at('arn:aws:bedrock:us-east-1:111122223333:agent/A1', 'agent')).toEqual({ route: 'bedrock-agent' });
    expect(at('arn:aws:bedrock:us-east-1:111122223333:knowledge-base/K1', 'knowledge-base')).toEqual({ route: 'bedrock-agent' });
    expect(at('arn:aws:bedrock-agentcore:us-east-1:111122223333:runtime/r', 'agent-runtime')).toEqual({ route: 'agentcore' });
    expect(at('arn:aws:bedrock-agentcore:us-east-1:111122223333:memory/m', 'agent-memory')).toMatchObject({ untaggable: expect.stringContaining('memory cannot be tagged') });
    expect(at('arn:aws:s3:::models', 'model-artifact-store')).toEqual({ route: 's3' });
    expect(at('arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude', 'foundation-model')).toMatchObject({ untaggable: expect.any(String) });
    expect(at('urn:ai-visibility:jwt:x', 'agent')).toMatchObject({ untaggable: 'not an AWS resource ARN' });
    expect(at('arn:aws:ec2:us-east-1:999999999999:instance/i-1', 'gpu-instance')).toMatchObject({ untaggable: expect.stringContaining('in account 999999999999') });
  });

  it('keeps values within what every tagging API takes, and refuses a reserved or unusable prefix', () => {
    expect(tagValue('x'.repeat(300))).toHaveLength(256);
    expect(tagValue('a#b*c')).toBe('a_b_c');
    expect(prefixProblem('aws:')).toMatch(/AWS reserves/);
    expect(prefixProblem('AWS:x:')).toMatch(/AWS reserves/);
    expect(prefixProblem('')).toMatch(/empty/);
    expect(prefixProblem('a#b:')).toMatch(/character/);
    expect(prefixProblem('ai-visibility:')).toBeUndefined();
  });
});

describe('replay --json', () => {
  it('lists the tags the tagger would write and what it cannot tag, as if a stack ran in each account', () => {
    const byArn = new Map(planned.map((p) => [p.arn, p]));
    expect(byArn.get('arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1')?.set).toMatchObject({ 'ai-visibility:kind': 'guardrail', 'ai-visibility:first-seen': '2025-06-02' });
    expect(byArn.get('arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345')?.set).toMatchObject({ 'ai-visibility:agent': 'true' });
    expect(byArn.get('arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0')?.untaggable).toMatch(/system-defined/);
    for (const r of resources.filter((x) => x.kind === 'foundation-model')) expect(byArn.get(r.arn)?.untaggable).toBe('a foundation model is owned by AWS');
    // Another account's resources are planned too (an organization deployment would reach them).
    expect(planned.some((p) => p.set && !p.arn.includes(':111122223333:') && !p.arn.startsWith('arn:aws:s3'))).toBe(true);
    // What an agent created carries its creator.
    const created = resources.find((r) => typeof r.configuration.createdByAgent === 'string' && r.status !== 'deleted');
    if (created) expect(byArn.get(created.arn)?.set?.['ai-visibility:created-by-agent']).toBe(created.configuration.createdByAgent);
  });
});

describe('batching', () => {
  it('puts at most 20 ARNs of one region with the same tags in a Tagging API call, and one resource a call elsewhere', () => {
    const plan = (i: number, region: string, route: TagPlan & { action: 'set' } extends infer P ? P extends { route: infer R } ? R : never : never = 'tagging-api'): TagPlan => ({ arn: `arn:aws:ec2:${region}:111122223333:instance/i-${i}`, action: 'set', route, account: '111122223333', region, set: { 'ai-visibility:kind': 'gpu-instance' } });
    const plans = [...Array.from({ length: 45 }, (_, i) => plan(i, 'us-east-1')), ...Array.from({ length: 3 }, (_, i) => plan(100 + i, 'eu-west-1')), plan(200, 'us-east-1', 'bedrock'), plan(201, 'us-east-1', 'bedrock')];
    const batches = tagBatches(plans);
    const api = batches.filter((b) => b.route === 'tagging-api');
    expect(api.map((b) => [b.region, b.arns.length])).toEqual([['us-east-1', 20], ['us-east-1', 20], ['us-east-1', 5], ['eu-west-1', 3]]);
    for (const b of api) expect(b.arns.every((a) => a.includes(`:${b.region}:`))).toBe(true);
    expect(batches.filter((b) => b.route === 'bedrock').map((b) => b.arns.length)).toEqual([1, 1]);
    expect(TAGGING_API_BATCH).toBe(20);
    // Different tags never share a call.
    const mixed = tagBatches([plan(1, 'us-east-1'), { ...(plan(2, 'us-east-1') as Extract<TagPlan, { action: 'set' }>), set: { 'ai-visibility:kind': 'notebook' } }]);
    expect(mixed).toHaveLength(2);
  });

  it('batches the real inventory within the limits', () => {
    const batches = tagBatches(resources.map((r) => planTags(taggableOf(r), undefined, SETTINGS)));
    for (const b of batches) {
      expect(b.arns.length).toBeLessThanOrEqual(b.route === 'tagging-api' ? 20 : 1);
      expect(new Set(b.arns).size).toBe(b.arns.length);
    }
  });
});

describe('retries', () => {
  const batch: TagBatch = { route: 'tagging-api', account: '111122223333', region: 'us-east-1', tags: { 'ai-visibility:kind': 'gpu-instance' }, arns: ['arn:a', 'arn:b', 'arn:c'] };

  it('retries only the ARNs that failed in a retriable way, with growing jittered delays, and reports what never succeeded', async () => {
    const seen: string[][] = [];
    const delays: number[] = [];
    const write: TagWriter = async (b) => {
      seen.push([...b.arns]);
      const out = new Map<string, { code: string; message: string; retriable: boolean }>();
      if (b.arns.includes('arn:b') && seen.length < 3) out.set('arn:b', { code: 'InternalServiceException', message: 'try again', retriable: true });
      if (b.arns.includes('arn:c')) out.set('arn:c', { code: 'InvalidParameterException', message: 'no', retriable: false });
      return out;
    };
    const { failures, attempts } = await writeWithRetries(batch, write, { sleep: async (ms) => void delays.push(ms), random: () => 1 });
    expect(seen).toEqual([['arn:a', 'arn:b', 'arn:c'], ['arn:b'], ['arn:b']]);
    expect(attempts).toBe(3);
    expect(delays).toEqual([200, 400]);
    expect([...failures.keys()]).toEqual(['arn:c']);
  });

  it('retries a thrown throttling error, at most the given tries, and gives up on the rest', async () => {
    let calls = 0;
    const throttled: TagWriter = async () => {
      calls++;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' });
    };
    const { failures, attempts } = await writeWithRetries(batch, throttled, { ...noSleep, attempts: 4 });
    expect([calls, attempts]).toEqual([4, 4]);
    expect(failures.get('arn:a')).toMatchObject({ code: 'ThrottledException', retriable: true });
    calls = 0;
    const denied: TagWriter = async () => {
      calls++;
      throw Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    };
    expect((await writeWithRetries(batch, denied, noSleep)).failures.get('arn:a')).toMatchObject({ retriable: false });
    expect(calls).toBe(1);
  });
});

describe('the writers, against the documented API shapes', () => {
  const tagging = mockClient(ResourceGroupsTaggingAPIClient);
  const bedrock = mockClient(BedrockClient);
  const s3 = mockClient(S3Client);
  beforeEach(() => {
    tagging.reset();
    bedrock.reset();
    s3.reset();
  });
  afterAll(() => {
    tagging.restore();
    bedrock.restore();
    s3.restore();
  });
  const clients = (): TagClients => ({
    taggingApi: () => new ResourceGroupsTaggingAPIClient({ region: 'us-east-1' }),
    bedrock: () => new BedrockClient({ region: 'us-east-1' }),
    bedrockAgent: () => {
      throw new Error('not used');
    },
    agentCore: () => {
      throw new Error('not used');
    },
    s3: () => new S3Client({ region: 'us-east-1' }),
  });

  it('TagResources: the ARN list and tag map in, FailedResourcesMap out (FailureInfo: StatusCode, ErrorCode, ErrorMessage)', async () => {
    tagging.on(TagResourcesCommand).resolves({ FailedResourcesMap: { 'arn:b': { StatusCode: 500, ErrorCode: 'InternalServiceException', ErrorMessage: 'retry' }, 'arn:c': { StatusCode: 400, ErrorCode: 'InvalidParameterException', ErrorMessage: 'bad' } } });
    const failures: TagFailures = await awsTagWriter(clients())({ route: 'tagging-api', account: '111122223333', region: 'us-east-1', tags: { 'ai-visibility:kind': 'notebook' }, arns: ['arn:a', 'arn:b', 'arn:c'] });
    expect(tagging.commandCalls(TagResourcesCommand)[0].args[0].input).toEqual({ ResourceARNList: ['arn:a', 'arn:b', 'arn:c'], Tags: { 'ai-visibility:kind': 'notebook' } });
    expect(failures.get('arn:b')).toMatchObject({ retriable: true });
    expect(failures.get('arn:c')).toMatchObject({ retriable: false });
    expect(failures.has('arn:a')).toBe(false);
  });

  it('Bedrock TagResource: resourceARN and a list of key/value tags', async () => {
    bedrock.on(BedrockTagResource).resolves({});
    const arn = 'arn:aws:bedrock:us-east-1:111122223333:guardrail/g1';
    expect((await awsTagWriter(clients())({ route: 'bedrock', account: '111122223333', region: 'us-east-1', tags: { 'ai-visibility:kind': 'guardrail' }, arns: [arn] })).size).toBe(0);
    expect(bedrock.commandCalls(BedrockTagResource)[0].args[0].input).toEqual({ resourceARN: arn, tags: [{ key: 'ai-visibility:kind', value: 'guardrail' }] });
  });

  it('S3: merges into the whole set, and keeps a tag another writer added between the read and the write', async () => {
    // First read {team}; someone adds {cost-center} before our write; we read again, see it, and merge it in.
    s3.on(GetBucketTaggingCommand)
      .resolvesOnce({ TagSet: [{ Key: 'team', Value: 'ml' }, { Key: 'ai-visibility:kind', Value: 'old' }] })
      .resolvesOnce({ TagSet: [{ Key: 'team', Value: 'ml' }, { Key: 'ai-visibility:kind', Value: 'old' }, { Key: 'cost-center', Value: '42' }] })
      .resolves({ TagSet: [{ Key: 'team', Value: 'ml' }, { Key: 'ai-visibility:kind', Value: 'old' }, { Key: 'cost-center', Value: '42' }] });
    s3.on(PutBucketTaggingCommand).resolves({});
    expect(await mergeBucketTags(new S3Client({ region: 'us-east-1' }), 'models', { 'ai-visibility:kind': 'model-artifact-store' })).toBeUndefined();
    const put = s3.commandCalls(PutBucketTaggingCommand);
    expect(put).toHaveLength(1);
    expect(put[0].args[0].input.Tagging!.TagSet).toEqual([
      { Key: 'team', Value: 'ml' },
      { Key: 'cost-center', Value: '42' },
      { Key: 'ai-visibility:kind', Value: 'model-artifact-store' },
    ]);
    expect(s3.commandCalls(GetBucketTaggingCommand)).toHaveLength(3);
  });

  it('S3: a bucket with no tags (NoSuchTagSet) gets ours; a set that would pass 50 tags is refused for good; one that never settles is retried', async () => {
    s3.on(GetBucketTaggingCommand).rejects(Object.assign(new Error('The TagSet does not exist'), { name: 'NoSuchTagSet' }));
    s3.on(PutBucketTaggingCommand).resolves({});
    expect(await mergeBucketTags(new S3Client({ region: 'us-east-1' }), 'b', { 'ai-visibility:kind': 'model-artifact-store' })).toBeUndefined();
    expect(s3.commandCalls(PutBucketTaggingCommand)[0].args[0].input).toEqual({ Bucket: 'b', Tagging: { TagSet: [{ Key: 'ai-visibility:kind', Value: 'model-artifact-store' }] } });
    s3.reset();
    s3.on(GetBucketTaggingCommand).resolves({ TagSet: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) });
    expect(await mergeBucketTags(new S3Client({ region: 'us-east-1' }), 'b', { 'ai-visibility:kind': 'x' })).toMatchObject({ code: 'TooManyTags', retriable: false });
    expect(s3.commandCalls(PutBucketTaggingCommand)).toHaveLength(0);
    s3.reset();
    let n = 0;
    s3.on(GetBucketTaggingCommand).callsFake(async () => ({ TagSet: [{ Key: 'moving', Value: String(n++) }] }));
    expect(await mergeBucketTags(new S3Client({ region: 'us-east-1' }), 'b', { 'ai-visibility:kind': 'x' })).toMatchObject({ code: 'ConcurrentChange', retriable: true });
    expect(s3.commandCalls(PutBucketTaggingCommand)).toHaveLength(0);
  });
});

describe('the tagger against the replay table', () => {
  const context = { functionName: 'tagger', awsRequestId: 'r' } as Context;
  const env = { ...houseEnvironment(TAGGER_SERVICE), TABLE_NAME: LOCAL_TABLE_NAME, TAG_PREFIX: 'ai-visibility:', EXCLUDE_KINDS: '[]', ACCOUNT_ID: '111122223333', ORGANIZATION_MODE: 'false' };
  const sqs = (arns: string[], type = 'Resource Inventoried'): SQSEvent => ({ Records: arns.map((arn, i) => ({ messageId: `m${i}`, body: JSON.stringify({ source: 'ai-visibility', 'detail-type': type, detail: { resource: { arn } } }) })) as SQSEvent['Records'] });
  beforeAll(() => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  });

  it('tags, records what it wrote and what cannot be tagged, and writes nothing the second time', async () => {
    const calls: TagBatch[] = [];
    const writer: TagWriter = async (b) => {
      calls.push(b);
      return new Map();
    };
    const handler = createTaggerHandler(env, { dynamodb: db.client, writer, tagLookup: null, now: () => NOW, logLevel: 'SILENT' });
    const arns = resources.map((r) => r.arn);
    expect(await handler(sqs(arns), context)).toEqual({ batchItemFailures: [] });
    const taggable = resources.filter((r) => planTags(taggableOf(r), undefined, SETTINGS).action === 'set');
    expect(new Set(calls.flatMap((c) => c.arns))).toEqual(new Set(taggable.map((r) => r.arn)));
    const store = createInventoryStore(db.documents, LOCAL_TABLE_NAME);
    const states = await store.getItems(resources.map((r) => keys.taggerState(r.arn)));
    const foundation = resources.find((r) => r.kind === 'foundation-model')!;
    expect(readTaggerState(states.get(keyString(keys.taggerState(foundation.arn))))).toMatchObject({ untaggable: 'a foundation model is owned by AWS' });
    expect(readTaggerState(states.get(keyString(keys.taggerState(taggable[0].arn))))?.applied).toMatchObject({ 'ai-visibility:kind': taggable[0].kind });
    // Redelivered, or the resource changed in a way the tags do not show: no write.
    calls.length = 0;
    expect(await handler(sqs(arns, 'Resource Changed'), context)).toEqual({ batchItemFailures: [] });
    expect(calls).toEqual([]);
    // The tagger's bookkeeping is no domain event: it is not an entity the change feed reads.
    expect(ENTITY.taggerState).toBe('tagger-state');
  });

  it('hands back the messages of resources whose write may still succeed, and records a refusal without retrying it', async () => {
    const [a, b] = resources.filter((r) => r.kind !== 'foundation-model' && r.account === '111122223333' && r.status !== 'deleted').map((r) => r.arn);
    // Forget what the first test wrote for these two.
    const store = createInventoryStore(db.documents, LOCAL_TABLE_NAME);
    await store.putItems([a, b].map((arn) => ({ ...keys.taggerState(arn), entity: 'tagger-state', arn, applied: {}, updatedAt: '' })));
    let n = 0;
    const writer: TagWriter = async (batch) => {
      n++;
      const out = new Map<string, TagFailure>();
      for (const arn of batch.arns) {
        if (arn === a) out.set(arn, { code: 'ThrottlingException', message: 'slow down', retriable: true });
        if (arn === b) out.set(arn, { code: 'AccessDeniedException', message: 'no', retriable: false });
      }
      return out;
    };
    const outcome = await tagResources([a, b], { store, writer, settings: SETTINGS, retry: { ...noSleep, attempts: 3 }, now: () => NOW });
    expect([...outcome.retry]).toEqual([a]);
    expect([...outcome.refused.keys()]).toEqual([b]);
    expect(n).toBeGreaterThanOrEqual(3);
    const state = readTaggerState((await store.getItems([keys.taggerState(b)])).get(keyString(keys.taggerState(b))));
    expect(state).toMatchObject({ lastError: 'AccessDeniedException: no', applied: {} });
    const handler = createTaggerHandler(env, { dynamodb: db.client, writer, tagLookup: null, retry: { ...noSleep, attempts: 2 }, now: () => NOW, logLevel: 'SILENT' });
    expect(await handler(sqs([a, b]), context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
  });
});

describe('organization mode: member accounts are tagged through their member role', () => {
  const HUB = '111122223333';
  const MEMBER = '444455556666';
  const context = { functionName: 'tagger', awsRequestId: 'r' } as Context;
  const guardrail = `arn:aws:bedrock:eu-west-1:${MEMBER}:guardrail/gr0member01`;

  it("plans a member account's resources with their account, one Tagging API group per account and region", () => {
    const settings: TaggingSettings = { ...SETTINGS, account: null };
    const r = (arn: string, account: string) => ({ arn, kind: 'gpu-instance', account, region: 'us-east-1', status: 'active', firstSeen: '2026-12-01T00:00:00Z', sensitivity: null, gpuVerdict: null, createdByAgent: null, tags: null, excluded: false });
    const plans = [r(`arn:aws:ec2:us-east-1:${HUB}:instance/i-1`, HUB), r(`arn:aws:ec2:us-east-1:${MEMBER}:instance/i-2`, MEMBER), r(`arn:aws:ec2:us-east-1:${MEMBER}:instance/i-3`, MEMBER)].map((x) => planTags(x, undefined, settings));
    expect(plans.map((p) => (p.action === 'set' ? p.account : p.action))).toEqual([HUB, MEMBER, MEMBER]);
    expect(tagBatches(plans).map((b) => [b.account, b.arns.length])).toEqual([[HUB, 1], [MEMBER, 2]]);
    // A bucket ARN names no account: the inventory's.
    const bucket = planTags({ ...r('arn:aws:s3:::member-models', MEMBER), kind: 'model-artifact-store' }, undefined, settings);
    expect(bucket).toMatchObject({ action: 'set', route: 's3', account: MEMBER });
    // Single-account mode: the member's is untaggable, as before.
    expect(planTags(r(`arn:aws:ec2:us-east-1:${MEMBER}:instance/i-2`, MEMBER), undefined, SETTINGS)).toMatchObject({ action: 'untaggable', reason: expect.stringContaining(`in account ${MEMBER}`) });
  });

  it("gives a member account's clients its member role's credentials, and the hub's its own", async () => {
    const { defaultTagClients } = await import('../../lambdas/tagger/writers');
    const roleCredentials = { accessKeyId: 'ASIAMEMBER', secretAccessKey: 's', sessionToken: 't', expiration: new Date(NOW + 3_600_000) };
    const asked: string[] = [];
    const clients = defaultTagClients((account, region) => {
      asked.push(`${account}:${region}`);
      return account === HUB ? undefined : async () => roleCredentials;
    });
    const member = clients.bedrock('eu-west-1', MEMBER) as BedrockClient;
    expect(await member.config.credentials()).toMatchObject({ accessKeyId: 'ASIAMEMBER', sessionToken: 't' });
    expect(clients.bedrock('eu-west-1', MEMBER)).toBe(member);
    clients.bedrock('eu-west-1', HUB);
    expect(asked).toEqual([`${MEMBER}:eu-west-1`, `${HUB}:eu-west-1`]);
  });

  it('a member role that cannot be assumed: the write is refused and recorded, and member-role-unavailable is raised once for the account', async () => {
    const { MemberRoleUnavailableError, memberRoleArn } = await import('../../lambdas/shared/member-credentials');
    const store = createInventoryStore(db.documents, LOCAL_TABLE_NAME);
    await store.putItems([{ ...keys.resource(guardrail), entity: 'resource', arn: guardrail, kind: 'guardrail', service: 'bedrock', account: MEMBER, region: 'eu-west-1', status: 'active', firstSeen: '2026-12-01T00:00:00.000Z', lastSeen: '2026-12-01T00:00:00.000Z' }]);
    const writer: TagWriter = async (batch) => {
      if (batch.account === MEMBER) throw new MemberRoleUnavailableError(MEMBER, memberRoleArn('aws', MEMBER), 'AccessDenied: not authorized to perform sts:AssumeRole');
      return new Map();
    };
    const env = { ...houseEnvironment(TAGGER_SERVICE), TABLE_NAME: LOCAL_TABLE_NAME, TAG_PREFIX: 'ai-visibility:', EXCLUDE_KINDS: '[]', ACCOUNT_ID: HUB, ORGANIZATION_MODE: 'true' };
    const handler = createTaggerHandler(env, { dynamodb: db.client, writer, tagLookup: null, retry: { ...noSleep, attempts: 1 }, now: () => NOW, logLevel: 'SILENT', memberCredentials: () => undefined });
    const sqs: SQSEvent = { Records: [{ messageId: 'm0', body: JSON.stringify({ source: 'ai-visibility', 'detail-type': 'Resource Inventoried', detail: { resource: { arn: guardrail } } }) }] as SQSEvent['Records'] };
    expect(await handler(sqs, context)).toEqual({ batchItemFailures: [] });
    const state = readTaggerState((await store.getItems([keys.taggerState(guardrail)])).get(keyString(keys.taggerState(guardrail))));
    expect(state).toMatchObject({ lastError: 'MemberRoleUnavailableError: AccessDenied: not authorized to perform sts:AssumeRole', applied: {} });
    const findings = (await scanTable(db.documents, LOCAL_TABLE_NAME)).filter((i) => i.entity === ENTITY.finding && i.rule === 'member-role-unavailable');
    expect(findings).toEqual([expect.objectContaining({ account: MEMBER, resource: memberRoleArn('aws', MEMBER), eventId: `member-role-unavailable:${MEMBER}:2026-12-02`, producer: 'tagger' })]);
    expect(findings[0].summary).toBe(`the tagger could not assume ${memberRoleArn('aws', MEMBER)} (AccessDenied: not authorized to perform sts:AssumeRole): account ${MEMBER} is not swept, tagged or looked up until it can.`);
  });
});

describe('a tag event on a known resource', () => {
  it("changes the resource's owner, never its kind or first-seen, whatever tags it carries", async () => {
    const guardrail = resources.find((r) => r.arn === 'arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1')!;
    expect(guardrail).toMatchObject({ kind: 'guardrail' });
    const dir = temp.dir('ai-visibility-tagger-tagevent-');
    // A user's Bedrock TagResource (the API reference's shape), months after the guardrail appeared, with a kind tag of its own.
    const alice = { type: 'IAMUser', principalId: 'AIDAEXAMPLEALICE0001', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', userName: 'alice' };
    const tag = { ...documentedRecord('RunInstances'), eventSource: 'bedrock.amazonaws.com', eventName: 'TagResource', eventID: 'user-tag-1', eventTime: '2025-09-01T00:00:00Z', userIdentity: alice, requestParameters: { resourceARN: guardrail.arn, tags: [{ key: 'ai-visibility:kind', value: 'spaceship' }, { key: OWNER_TAG_KEY, value: 'trust-and-safety' }] }, responseElements: null };
    writeFileSync(join(dir, 'tag.json'), JSON.stringify({ Records: [tag] }));
    const { code, stdout } = await cli('replay', '--json', '--allow-quarantine', '--store', temp.dir('ai-visibility-tagger-tagevent-store-'), FIXTURES, dir);
    expect(code).toBe(0);
    const after = (JSON.parse(stdout) as { inventory: Array<{ arn: string; kind: string; firstSeen: string; lastSeen: string; attributes: Record<string, unknown> }> }).inventory.find((r) => r.arn === guardrail.arn)!;
    expect(after).toMatchObject({ kind: 'guardrail', firstSeen: guardrail.firstSeen, lastSeen: '2025-09-01T00:00:00.000Z' });
    expect(after.attributes.owner).toBe('trust-and-safety');
  }, 120_000);
});

describe('the ignore control, from the events', () => {
  const admin = { type: 'IAMUser', principalId: 'AIDAEXAMPLEADMIN0001', arn: 'arn:aws:iam::111122223333:user/admin', accountId: '111122223333', userName: 'admin' };
  const iam = (eventName: string, eventTime: string, requestParameters: Record<string, unknown>) => ({ ...documentedRecord('RunInstances'), eventSource: 'iam.amazonaws.com', eventName, eventTime, eventID: `ignore-${eventName}-${eventTime}`, userIdentity: admin, requestParameters, responseElements: null });
  const bedrockTag = { ...documentedRecord('RunInstances'), eventSource: 'bedrock.amazonaws.com', eventName: 'TagResource', eventTime: '2026-01-01T00:00:00Z', eventID: 'ignore-guardrail', userIdentity: admin, requestParameters: { resourceARN: 'arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1', tags: [{ key: IGNORE_TAG_KEY, value: 'true' }] }, responseElements: null };
  type Report = { findings: Array<{ principal: string | null; resource: string }>; events: Array<{ 'detail-type': string; detail: { finding?: { principal: string | null } } }>; excluded: Array<Record<string, unknown>>; tagging: Array<{ arn: string }> };
  const replay = async (records: unknown[]): Promise<{ report: Report; notified: Array<{ attributes: Record<string, string>; bodies: { email: string } }> }> => {
    const dir = temp.dir('ai-visibility-ignore-');
    writeFileSync(join(dir, 'controls.json'), JSON.stringify({ Records: records }));
    const file = join(temp.dir('ai-visibility-ignore-out-'), 'n.jsonl');
    // The tag calls first: an exclusion holds back what is raised after it (what was announced before stays announced).
    const { code, stdout } = await cli('replay', '--json', '--allow-quarantine', '--store', temp.dir('ai-visibility-ignore-store-'), '--notifications', file, dir, FIXTURES);
    expect(code).toBe(0);
    const notified = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'sns-publish');
    return { report: JSON.parse(stdout) as Report, notified };
  };
  const MALLORY = 'arn:aws:sts::111122223333:assumed-role/DevAdmin/mallory';

  it("holds back the findings of an ignored principal (a session's role) and resource everywhere, says who excluded them and when, and writes no tags", async () => {
    const { report, notified } = await replay([iam('TagRole', '2026-01-01T00:00:00Z', { roleName: 'DevAdmin', tags: [{ key: IGNORE_TAG_KEY, value: 'true' }] }), bedrockTag]);
    const all = (await cli('replay', '--json', '--allow-quarantine', '--store', temp.dir('ai-visibility-ignore-base-'), FIXTURES)).stdout;
    const before = (JSON.parse(all) as Report).findings.filter((f) => f.principal === MALLORY).length;
    expect(before).toBeGreaterThan(0);
    expect(report.findings.filter((f) => f.principal === MALLORY)).toEqual([]);
    expect(report.events.filter((e) => e['detail-type'] === 'Finding Recorded' && e.detail.finding?.principal === MALLORY)).toEqual([]);
    expect(notified.filter((n) => n.bodies.email.includes('assumed-role/DevAdmin/mallory'))).toEqual([]);
    expect(report.excluded).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ arn: 'arn:aws:iam::111122223333:role/DevAdmin', type: 'principal', by: admin.arn, at: '2026-01-01T00:00:00.000Z', eventId: 'ignore-TagRole-2026-01-01T00:00:00Z' }),
        expect.objectContaining({ arn: 'arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1', type: 'resource', by: admin.arn, eventId: 'ignore-guardrail' }),
      ]),
    );
    // Each held-back finding is counted once, against the resource's exclusion first.
    expect(report.excluded.reduce((n, e) => n + Number(e.findingsHeldBack), 0)).toBeGreaterThanOrEqual(before);
    expect(report.tagging.map((t) => t.arn)).not.toContain('arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1');
  }, 180_000);

  it('brings them back once the tag is removed (the newest tag call wins, whatever the order)', async () => {
    const { report } = await replay([iam('UntagRole', '2026-02-01T00:00:00Z', { roleName: 'DevAdmin', tagKeys: [IGNORE_TAG_KEY] }), iam('TagRole', '2026-01-01T00:00:00Z', { roleName: 'DevAdmin', tags: [{ key: IGNORE_TAG_KEY, value: 'true' }] })]);
    expect(report.findings.filter((f) => f.principal === MALLORY).length).toBeGreaterThan(0);
    expect(report.excluded).toEqual([]);
  }, 120_000);
});
