/**
 * Hostile and broken records, one crash class each (found by mutating the real fixtures): the
 * typed boundary and the pure steps after it never throw, and say what they did instead.
 */
import { classify } from '../../lambdas/classifier/classify';
import { analyzeAgents, type AgentDirectory } from '../../lambdas/classifier/agents/analyze';
import { LIMITS } from '../../lambdas/classifier/boundary';
import { lineageOf } from '../../lambdas/classifier/lineage/extract';
import { contentHashOf, EARLIEST_EVENT_TIME, normalize } from '../../lambdas/classifier/normalize';
import { kindOfArn } from '../../lambdas/core/arn';
import { compileRules } from '../../local/replay/event-bus';
import { messageOf } from '../../local/replay/replay';
import { aiFixture, documentedRecord, normalized } from '../helpers';

const directory: AgentDirectory = { principals: async () => new Map(), functionRoles: async () => new Map(), deniedBefore: async () => [], deniedAfter: async () => [] };
const NOW = Date.parse('2026-12-01T00:00:00Z');

/** Everything after normalization, on one record: it must not throw. */
async function pipeline(record: Record<string, unknown>) {
  const result = normalize(record, NOW);
  if (!result.ok) return { quarantined: result.reason };
  const classification = classify(result.event);
  lineageOf(result.event);
  await analyzeAgents([{ messageId: 'm', event: result.event, classification }], directory);
  return { event: result.event, classification };
}

describe('names of Object.prototype members', () => {
  it.each(['__proto__', 'constructor', 'hasOwnProperty', 'toLocaleString', 'valueOf'])('an eventName of %s is an unknown call, not a crash', async (eventName) => {
    const out = await pipeline({ ...aiFixture('DeleteGuardrail'), eventName });
    expect(out).toHaveProperty('classification');
    expect(out.classification?.findings).toEqual([]);
  });

  it('an ARN whose resource type is a prototype member names no kind', () => {
    expect(kindOfArn('arn:aws:bedrock:us-east-1:111122223333:constructor/x')).toBeUndefined();
    expect(kindOfArn('arn:aws:bedrock:us-east-1:111122223333:__proto__/x')).toBeUndefined();
  });
});

describe('fields of the wrong type', () => {
  it.each([
    ['a number', 42],
    ['an object', { arn: 'arn:aws:iam::1:user/x' }],
    ['a list', ['arn:aws:iam::1:user/x']],
  ])('a caller ARN that is %s is dropped, and the call still classified', async (_what, arn) => {
    const record = aiFixture('InvokeModel') as Record<string, unknown> & { userIdentity: Record<string, unknown> };
    const out = await pipeline({ ...record, userIdentity: { ...record.userIdentity, arn } });
    expect(out.event?.notes).toEqual([expect.stringMatching(/^userIdentity\.arn: a (number|object|list) where a string belongs, dropped$/)]);
    expect(out.classification?.resources.map((r) => r.kind)).toEqual(['foundation-model']);
  });

  it('resources that is an object, not a list, is dropped', async () => {
    const out = await pipeline({ ...documentedRecord('CreateEndpoint'), resources: { ARN: 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/x' } });
    expect(out.event?.notes).toContain('resources: a object where a list belongs, dropped');
    expect(out.event?.record.resources).toBeUndefined();
  });

  it('requestParameters that is a string is dropped', async () => {
    const out = await pipeline({ ...aiFixture('InvokeModel'), requestParameters: 'modelId=x' });
    expect(out.event?.notes).toContain('requestParameters: a string where an object belongs, dropped');
  });

  it('an eventTime that is an object is quarantined with its reason, and the replay makes a problem of it, never a crash', async () => {
    const record = { ...aiFixture('InvokeModel'), eventTime: { toString: 'not a function' } };
    expect(await pipeline(record)).toEqual({ quarantined: 'unreadable eventTime (a object): expected ISO 8601 or "YYYY-MM-DD hh:mm:ss"' });
    expect(messageOf(record, compileRules(), 0)).toMatchObject({ kind: 'message' });
    expect(messageOf({ version: '0', 'detail-type': 'AWS API Call via CloudTrail', time: { toString: 1 }, detail: aiFixture('InvokeModel') }, compileRules(), 0)).toMatchObject({ kind: 'not-matched' });
  });
});

describe('sizes', () => {
  it('requestParameters nested 5,000 levels deep are cut at the boundary', async () => {
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 5_000; i++) deep = { next: deep };
    const out = await pipeline({ ...aiFixture('InvokeModel'), requestParameters: { modelId: 'anthropic.claude-v2', deep } });
    expect(out.event?.notes).toEqual([expect.stringContaining(`nested deeper than ${LIMITS.depth} levels, cut`)]);
    expect(out.classification?.resources).toHaveLength(1);
  });

  it('a record too deeply nested to serialize is a replay problem, not a crash', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(messageOf({ ...aiFixture('InvokeModel'), requestParameters: { deep } }, compileRules(), 0)).toEqual({ kind: 'problem', reason: expect.stringContaining('nested too deeply to deliver') });
  });

  it('a list of 100,000 ARNs and an object of 100,000 keys are cut, with a note', async () => {
    const out = await pipeline({ ...aiFixture('InvokeModel'), requestParameters: { modelId: 'anthropic.claude-v2', many: Array.from({ length: 100_000 }, (_, i) => `arn:aws:bedrock:us-east-1:1:agent/${i}`), wide: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i])) } });
    expect(out.event?.notes).toEqual([`requestParameters.many: 100000 elements, cut to ${LIMITS.entries}`, `requestParameters.wide: 100000 keys, cut to ${LIMITS.entries}`]);
  });
});

describe('times', () => {
  it('a far-future eventTime is quarantined: it would pin an item, every later real event looking older', async () => {
    expect(await pipeline({ ...aiFixture('InvokeModel'), eventTime: '9999-12-31T23:59:59Z' })).toEqual({ quarantined: 'eventTime 9999-12-31T23:59:59.000Z is more than 24 hours in the future' });
    expect(await pipeline({ ...aiFixture('InvokeModel'), eventTime: new Date(NOW + 3_600_000).toISOString() })).toHaveProperty('event');
  });

  it('a time before CloudTrail existed is quarantined', async () => {
    expect(await pipeline({ ...aiFixture('InvokeModel'), eventTime: '2012-01-01T00:00:00Z' })).toEqual({ quarantined: `eventTime 2012-01-01T00:00:00.000Z is before CloudTrail existed (${EARLIEST_EVENT_TIME})` });
  });
});

describe('ids', () => {
  it('an over-long eventID is replaced by its hash, the same for the same id', () => {
    const a = normalized({ ...aiFixture('DeleteGuardrail'), eventID: 'e'.repeat(1_100) });
    const b = normalized({ ...aiFixture('DeleteGuardrail'), eventID: 'e'.repeat(1_100) });
    expect(a.eventId).toMatch(/^hashed:sha256:[0-9a-f]{64}$/);
    expect(a.eventId).toBe(b.eventId);
    expect(a.notes).toEqual(['eventID: 1100 characters (CloudTrail\'s are 36), replaced by its hash']);
  });

  it('two different records with one eventID have different content hashes; the same record the same one', () => {
    const base = documentedRecord('CreateEndpoint');
    const other = { ...base, requestParameters: { ...(base.requestParameters as object), endpointConfigName: 'another-config' } };
    expect(contentHashOf(normalized(base))).toBe(contentHashOf(normalized(structuredClone(base))));
    expect(contentHashOf(normalized(other))).not.toBe(contentHashOf(normalized(base)));
  });
});
