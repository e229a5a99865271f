/**
 * Tags set before the deploy: the cached lookups (Tagging API GetResources, IAM ListRoleTags,
 * mocked in their documented response shapes) against a real table (dynalite), and every
 * control through them: ignore (the change feed holds back the finding), owner (the notifier),
 * expected-idle and idle-action (the sweep), and the tagger (no value already right rewritten).
 * Each also set after (by an event, newer than the lookup) and removed.
 */
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { IAMClient, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { excludedFindings } from '../../lambdas/change-feed/exclusions';
import { EXPECTED_IDLE_TAG_KEY, IDLE_ACTION_TAG_KEY, IGNORE_TAG_KEY, OWNER_TAG_KEY } from '../../lambdas/core/constants';
import { DETAIL_TYPES, DETAIL_VERSION, type DomainEvent } from '../../lambdas/core/events';
import { planTags } from '../../lambdas/core/tagging';
import { createNotifierHandler } from '../../lambdas/notifier/handler';
import { NOTIFIER_SERVICE } from '../../lambdas/notifier/environment';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { createInventoryStore, type InventoryStore } from '../../lambdas/shared/inventory-store';
import { controlsOf, keys, keyString, lookupItem, readResource, taggableOf, type RawItem } from '../../lambdas/shared/items';
import { awsTagLookupApis, lookUpTags, TAG_LOOKUP_TTL_SECONDS, type TagLookupApis } from '../../lambdas/shared/tag-lookup';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { analyzeAgents } from '../../lambdas/classifier/agents/analyze';
import { createAgentDirectory } from '../../lambdas/classifier/agents/directory';
import { classify } from '../../lambdas/classifier/classify';
import { taggedPrincipalOf } from '../../lambdas/core/arn';
import { aiFixture, normalized } from '../helpers';
import { createClassifierHandler } from '../../lambdas/classifier/handler';
import { localClassifierEnvironment } from '../../local/handlers';
import { toEnvelope } from '../../local/replay/event-bus';

const NOW = Date.parse('2026-12-02T00:00:00.000Z');
const GUARDRAIL = 'arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1';
const ROLE = 'arn:aws:iam::111122223333:role/DevAdmin';
let db: LocalDynamoDb;
let tables = 0;
beforeAll(async () => {
  db = await startLocalDynamoDb();
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});
afterAll(async () => db.close());
async function store(): Promise<{ name: string; store: InventoryStore }> {
  const name = `lookup-${++tables}`;
  await db.createInventoryTable(name);
  return { name, store: createInventoryStore(db.documents, name) };
}

/** A fake of the two lookups, counting calls. */
function fakeApis(resourceTags: Record<string, Record<string, string>>, principalTags: Record<string, Record<string, string>>) {
  const calls = { resources: [] as string[][], principals: [] as string[] };
  const apis: TagLookupApis = {
    resourceTags: async (_region, arns) => {
      calls.resources.push([...arns]);
      return new Map(arns.flatMap((a) => (resourceTags[a] ? [[a, resourceTags[a]] as const] : [])));
    },
    principalTags: async (arn) => {
      calls.principals.push(arn);
      if (arn.includes('forbidden')) throw Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
      return principalTags[arn] ?? {};
    },
  };
  return { apis, calls };
}

describe('the lookups, over the documented API shapes', () => {
  const tagging = mockClient(ResourceGroupsTaggingAPIClient);
  const iam = mockClient(IAMClient);
  afterAll(() => {
    tagging.restore();
    iam.restore();
  });

  it('GetResources by ARN list (following PaginationToken) and ListRoleTags (following Marker)', async () => {
    tagging.on(GetResourcesCommand).resolvesOnce({ ResourceTagMappingList: [{ ResourceARN: GUARDRAIL, Tags: [{ Key: IGNORE_TAG_KEY, Value: 'true' }] }], PaginationToken: 'p2' }).resolves({ ResourceTagMappingList: [], PaginationToken: '' });
    iam.on(ListRoleTagsCommand).resolvesOnce({ Tags: [{ Key: OWNER_TAG_KEY, Value: 'red-team' }], IsTruncated: true, Marker: 'm2' }).resolves({ Tags: [{ Key: 'team', Value: 'red' }], IsTruncated: false });
    const apis = awsTagLookupApis();
    expect(await apis.resourceTags('us-east-1', [GUARDRAIL])).toEqual(new Map([[GUARDRAIL, { [IGNORE_TAG_KEY]: 'true' }]]));
    expect(tagging.commandCalls(GetResourcesCommand).map((c) => c.args[0].input)).toEqual([{ ResourceARNList: [GUARDRAIL] }, { ResourceARNList: [GUARDRAIL], PaginationToken: 'p2' }]);
    expect(await apis.principalTags!(ROLE)).toEqual({ [OWNER_TAG_KEY]: 'red-team', team: 'red' });
    expect(iam.commandCalls(ListRoleTagsCommand).map((c) => c.args[0].input)).toEqual([{ RoleName: 'DevAdmin', Marker: undefined }, { RoleName: 'DevAdmin', Marker: 'm2' }]);
  });

  it('are cached for six hours (one call for a burst), in batches of 100 ARNs a region, and a failure is cached as such and leaves the ARN to the events', async () => {
    const { store: s } = await store();
    const arns = Array.from({ length: 150 }, (_, i) => `arn:aws:ec2:us-east-1:111122223333:instance/i-${i}`);
    const { apis, calls } = fakeApis({ [arns[0]]: { [EXPECTED_IDLE_TAG_KEY]: 'true' } }, { [ROLE]: { [IGNORE_TAG_KEY]: 'true' } });
    let clock = NOW;
    const ask = () => lookUpTags({ resources: arns.map((arn) => ({ arn, region: 'us-east-1' })), principals: [ROLE, 'arn:aws:iam::111122223333:role/forbidden'] }, { store: s, apis, now: () => clock });
    const first = await ask();
    expect(calls.resources.map((b) => b.length)).toEqual([100, 50]);
    expect(first.get(arns[0])).toEqual({ tags: { [EXPECTED_IDLE_TAG_KEY]: 'true' }, at: '2026-12-02T00:00:00.000Z' });
    expect(first.get(arns[1])).toEqual({ tags: {}, at: '2026-12-02T00:00:00.000Z' });
    expect(first.get(ROLE)?.tags).toEqual({ [IGNORE_TAG_KEY]: 'true' });
    expect(first.has('arn:aws:iam::111122223333:role/forbidden')).toBe(false);
    await ask();
    expect([calls.resources.length, calls.principals.length]).toEqual([2, 2]);
    // Six hours later the answers are looked up again (the failed one after one).
    clock = NOW + TAG_LOOKUP_TTL_SECONDS * 1000 + 1;
    await ask();
    expect([calls.resources.length, calls.principals.length]).toEqual([4, 4]);
    // What GetResources cannot answer for (an AWS-owned foundation model) is never asked: one bad ARN would fail the call.
    await lookUpTags({ resources: [{ arn: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2', region: 'us-east-1' }, { arn: 'arn:aws:s3:::models', region: 'us-east-1' }] }, { store: s, apis, now: () => clock });
    expect(calls.resources.at(-1)).toEqual(['arn:aws:s3:::models']);
  });
});

describe('organization mode: a member account is looked up in its own account', () => {
  const MEMBER = '444455556666';
  it('asks per account and region (a bucket by the account the request names), on the member role for a member and the own credentials for the hub', async () => {
    const { store: s } = await store();
    const asked: Array<[string, string | undefined, string[]]> = [];
    const apis: TagLookupApis = {
      async resourceTags(region, arns, account) {
        asked.push([region, account, [...arns]]);
        return new Map();
      },
    };
    const hubInstance = 'arn:aws:ec2:us-east-1:111122223333:instance/i-hub';
    const memberInstance = `arn:aws:ec2:us-east-1:${MEMBER}:instance/i-member`;
    await lookUpTags({ resources: [{ arn: hubInstance, region: 'us-east-1' }, { arn: memberInstance, region: 'us-east-1' }, { arn: 'arn:aws:s3:::member-models', region: 'us-east-1', account: MEMBER }] }, { store: s, apis, now: () => NOW });
    expect(asked).toEqual([
      ['us-east-1', '111122223333', [hubInstance]],
      ['us-east-1', MEMBER, [memberInstance, 'arn:aws:s3:::member-models']],
    ]);
    // Over the SDK: each account's client on its own credentials (the member role's for a member).
    const roleCredentials = { accessKeyId: 'ASIAMEMBER', secretAccessKey: 's', sessionToken: 't', expiration: new Date(NOW + 3_600_000) };
    const tagging = mockClient(ResourceGroupsTaggingAPIClient);
    const seen: string[] = [];
    tagging.on(GetResourcesCommand).callsFake(async (_input, getClient) => {
      const client = getClient() as ResourceGroupsTaggingAPIClient;
      seen.push((await client.config.credentials()).accessKeyId);
      return { ResourceTagMappingList: [] };
    });
    process.env.AWS_ACCESS_KEY_ID = 'AKIAHUBOWN';
    process.env.AWS_SECRET_ACCESS_KEY = 'hub';
    try {
      const sdk = awsTagLookupApis((account) => (account === MEMBER ? async () => roleCredentials : undefined));
      await sdk.resourceTags('us-east-1', [memberInstance], MEMBER);
      await sdk.resourceTags('us-east-1', [hubInstance], '111122223333');
      expect(seen).toEqual(['ASIAMEMBER', 'AKIAHUBOWN']);
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      tagging.restore();
    }
  });
});

describe('a lookup under the events: the newer wins', () => {
  const item = (attrs: Record<string, unknown>): RawItem => ({ ...keys.resource(GUARDRAIL), entity: 'resource', arn: GUARDRAIL, ...attrs });
  const lookup = (tags: Record<string, string>, at = '2026-12-01T00:00:00.000Z') => ({ tags, at });

  it('counts a tag set before the deploy, lets a later tag call override it or remove it, and keeps an event newer than the lookup', () => {
    expect(controlsOf(item({}), lookup({ [IGNORE_TAG_KEY]: 'true' })).excluded).toEqual({ by: 'tag lookup', at: '2026-12-01T00:00:00.000Z', eventId: '' });
    // Removed by an UntagResource after the lookup: not excluded.
    expect(controlsOf(item({ ignore: '', 'ignore@': '2026-12-01T12:00:00.000Z#untag-1' }), lookup({ [IGNORE_TAG_KEY]: 'true' })).excluded).toBeNull();
    // Set by an event after the lookup that did not see it yet: excluded.
    expect(controlsOf(item({ ignore: 'true', 'ignore@': '2026-12-01T12:00:00.000Z#tag-1', ignoreSetBy: { by: 'arn:aws:iam::111122223333:user/alice', at: '2026-12-01T12:00:00.000Z', eventId: 'tag-1' } }), lookup({})).excluded?.by).toBe('arn:aws:iam::111122223333:user/alice');
    // An old event, a newer lookup that no longer shows the tag: the lookup wins.
    expect(controlsOf(item({ ignore: 'true', 'ignore@': '2026-11-01T00:00:00.000Z#tag-0' }), lookup({})).excluded).toBeNull();
    expect(controlsOf(item({}), lookup({ [EXPECTED_IDLE_TAG_KEY]: 'true', [IDLE_ACTION_TAG_KEY]: 'stop' }))).toMatchObject({ expectedIdle: true, idleAction: 'stop' });
  });
});

describe('every control, tagged before the deploy', () => {
  const finding = (resource: string, principal: string | null) =>
    ({
      detailType: DETAIL_TYPES.findingRecorded,
      resources: [resource],
      detail: { version: DETAIL_VERSION, id: 'f', changedAt: '2026-12-02T00:00:00.000Z', finding: { findingId: 'f', producer: 'classifier', rule: 'guardrail-deleted', severity: 'high', title: 't', summary: 's', confidence: 'confirmed', resource, principal, eventId: 'e', time: '2026-12-01T00:00:00.000Z', account: '111122223333', region: 'us-east-1', frameworks: [], signals: [] } },
    }) as unknown as DomainEvent;

  it('ignore: the change feed holds back the findings of a resource or role a lookup finds ignored', async () => {
    const { store: s } = await store();
    const { apis } = fakeApis({ [GUARDRAIL]: { [IGNORE_TAG_KEY]: 'true' } }, { [ROLE]: { [IGNORE_TAG_KEY]: 'true' } });
    const lookup = (request: Parameters<typeof lookUpTags>[0]) => lookUpTags(request, { store: s, apis, now: () => NOW });
    const other = 'arn:aws:bedrock:us-east-1:111122223333:guardrail/other';
    const events = [finding(GUARDRAIL, null), finding(other, 'arn:aws:sts::111122223333:assumed-role/DevAdmin/mallory'), finding(other, 'arn:aws:iam::111122223333:user/alice')];
    expect([...(await excludedFindings(events, s, lookup))]).toEqual([0, 1]);
    // Without lookups (the replay), only what the events showed counts.
    expect([...(await excludedFindings(events, s))]).toEqual([]);
  });

  it('owner: the notifier routes by the tags the change feed looked up', async () => {
    const { name, store: s } = await store();
    await s.putItems([lookupItem('principal-tags', ROLE, { tags: { [OWNER_TAG_KEY]: 'red-team' }, at: '2026-12-01T00:00:00.000Z' }, Math.floor(NOW / 1000) + 3600)]);
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const env = { ...houseEnvironment(NOTIFIER_SERVICE), TABLE_NAME: name, FINDINGS_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:findings', MIN_SEVERITY: 'medium', DEDUP_WINDOW_HOURS: '24', ACCOUNT_OWNERS: '{}', OWNER_TAG_KEY };
    const f = (finding(GUARDRAIL, 'arn:aws:sts::111122223333:assumed-role/DevAdmin/mallory').detail as unknown as { finding: Record<string, unknown> }).finding;
    const event: SQSEvent = { Records: [{ messageId: 'm0', body: JSON.stringify({ 'detail-type': 'Finding Recorded', detail: { finding: f } }) }] as SQSEvent['Records'] };
    await createNotifierHandler(env, { dynamodb: db.client, now: () => NOW, logLevel: 'SILENT' })(event, { functionName: 'n', awsRequestId: 'r' } as Context);
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.MessageAttributes?.owner.StringValue).toBe('red-team');
    sns.restore();
  });

  it('the tagger: a value a lookup shows already right is not rewritten, and a resource a lookup finds ignored is not tagged', async () => {
    const r = readResource({ ...keys.resource(GUARDRAIL), entity: 'resource', arn: GUARDRAIL, kind: 'guardrail', service: 'bedrock', account: '111122223333', region: 'us-east-1', status: 'active', firstSeen: '2025-06-02T11:30:00.000Z', lastSeen: '2025-06-02T11:30:00.000Z' })!;
    const settings = { prefix: 'ai-visibility:', exclude: [], account: '111122223333' };
    expect(planTags(taggableOf(r, { tags: { 'ai-visibility:kind': 'guardrail' }, at: '2026-12-01T00:00:00.000Z' }), undefined, settings)).toEqual({ arn: GUARDRAIL, action: 'set', route: 'bedrock', account: '111122223333', region: 'us-east-1', set: { 'ai-visibility:first-seen': '2025-06-02' } });
    expect(planTags(taggableOf(r, { tags: { [IGNORE_TAG_KEY]: 'true' }, at: '2026-12-01T00:00:00.000Z' }), undefined, settings)).toMatchObject({ action: 'skip', reason: 'excluded (ai-visibility:ignore)' });
    expect(keyString(keys.lookup('resource-tags', GUARDRAIL))).toContain('LOOKUP#resource-tags#');
  });
});

describe('agent=true, tagged before the deploy', () => {
  it("declares an AI application an agent when a lookup finds the tag on its role, and not without it", async () => {
    const event = normalized(aiFixture('InvokeModel'));
    const classification = classify(event);
    expect(classification.principal?.role).toBe('ai-application');
    const caller = classification.principal!.arn;
    const role = taggedPrincipalOf(caller)!;
    const { store: s } = await store();
    const batch = [{ messageId: 'm1', event, classification }];
    const { apis, calls } = fakeApis({}, { [role]: { 'AI-Visibility:Agent': 'True' } });
    const withLookup = createAgentDirectory(s, (request) => lookUpTags(request, { store: s, apis, now: () => NOW }));
    const found = await analyzeAgents(batch, withLookup);
    expect(found.evidence).toEqual([expect.objectContaining({ evidence: expect.objectContaining({ principal: caller, how: 'declared', signals: [expect.objectContaining({ note: `ai-visibility:agent=true on ${role} (tag lookup)` })] }) })]);
    expect(calls.principals).toEqual([role]);
    // Untagged, or no lookups (the replay): not an agent by tag.
    const { apis: untagged } = fakeApis({}, {});
    const { store: other } = await store();
    expect((await analyzeAgents(batch, createAgentDirectory(other, (request) => lookUpTags(request, { store: other, apis: untagged, now: () => NOW })))).evidence).toEqual([]);
    expect((await analyzeAgents(batch, createAgentDirectory(s))).evidence).toEqual([]);
  });
});

describe('principal tags: looked up by the classifier, read from the cache by the change feed', () => {
  it('the classifier caches the tags of the principals of the findings it writes; a lookup without IAM reads only the cache', async () => {
    const { name, store: s } = await store();
    const record = aiFixture('DeleteGuardrail');
    const { apis, calls } = fakeApis({}, {});
    const taggedApis: TagLookupApis = { ...apis, principalTags: async (arn) => ((calls.principals.push(arn), { [IGNORE_TAG_KEY]: 'true' })) };
    const handler = createClassifierHandler({ ...localClassifierEnvironment(name), AGENT_TAG_LOOKUPS: 'true' }, { store: s, lineageQueue: { send: async () => undefined }, tagLookup: taggedApis, logLevel: 'SILENT' });
    const body = JSON.stringify(toEnvelope(record));
    await handler({ Records: [{ messageId: 'm1', body, attributes: { SentTimestamp: String(NOW), ApproximateReceiveCount: '1' } }] } as unknown as SQSEvent, { getRemainingTimeInMillis: () => 60_000 } as unknown as Context);
    const principal = classify(normalized(record)).findings[0].principal!;
    const role = taggedPrincipalOf(principal)!;
    expect(calls.principals).toContain(role);
    // The change feed's lookups (no IAM) find it in the cache; an uncached principal is not looked up.
    const resourceOnly: TagLookupApis = { resourceTags: apis.resourceTags };
    const found = await lookUpTags({ principals: [role, 'arn:aws:iam::111122223333:role/never-seen'] }, { store: s, apis: resourceOnly, now: () => NOW + 1000 });
    expect(found.get(role)?.tags).toEqual({ [IGNORE_TAG_KEY]: 'true' });
    expect(found.has('arn:aws:iam::111122223333:role/never-seen')).toBe(false);
  });
});
