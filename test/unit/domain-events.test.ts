/**
 * The change feed's pure parts: table item images in, domain events out (domain-events.ts), on
 * items built by the item module from real CloudTrail records; PutEvents entry sizing and
 * batching (publish.ts) against the documented quotas, and its retries against a mocked
 * EventBridge; the agent capture sync's answer to events a run already covered.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { coveredByLastRun, INDEX_PROPAGATION_SLACK_MS } from '../../lambdas/agent-capture-sync/handler';
import { domainEventsOf, type ItemChange } from '../../lambdas/change-feed/domain-events';
import { entrySize, fittedEntry, MAX_ENTRIES, MAX_REQUEST_BYTES, putEventsPublisher, requests } from '../../lambdas/change-feed/publish';
import { classify } from '../../lambdas/classifier/classify';
import { DETAIL_TYPES, type DomainEvent, type FindingRecorded } from '../../lambdas/core/events';
import { agentProfileLatest, evidenceAttribute, findingId, findingItem, keys, resourceLatest, watchItem, type RawItem } from '../../lambdas/shared/items';
import { aiFixture, normalized } from '../helpers';

const AT = '2026-12-01T10:00:00.000Z';
const deleted = classify(normalized(aiFixture('DeleteGuardrail')));
const guardrail = deleted.resources[0];
const finding = deleted.findings[0];

/** A resource item as the store keeps it after a few writes. */
const resourceImage = (overrides: Record<string, unknown> = {}): RawItem => ({
  ...keys.resource(guardrail.arn),
  ...resourceLatest({ ...guardrail, status: 'active' }, 'CreateGuardrail'),
  firstSeen: '2025-01-01T00:00:00.000Z',
  firstEventId: 'e-1',
  lastSeen: '2025-01-02T00:00:00.000Z',
  lastEventId: 'e-2',
  rev: 2,
  ...overrides,
});
const change = (kind: ItemChange['kind'], newImage?: RawItem, oldImage?: RawItem): ItemChange => ({ kind, at: AT, newImage, oldImage });
const types = (events: DomainEvent[]) => events.map((e) => e.detailType);

describe('table changes become domain events', () => {
  it('a finding inserted is one Finding Recorded, with its stable id, its producer and the record\'s evidence', () => {
    const [event, ...rest] = domainEventsOf(change('INSERT', findingItem(finding, 'classifier')));
    expect(rest).toEqual([]);
    expect(event.detailType).toBe(DETAIL_TYPES.findingRecorded);
    const detail = event.detail as FindingRecorded;
    expect(detail).toMatchObject({ version: 1, id: findingId(finding), changedAt: AT });
    expect(detail.finding).toMatchObject({ findingId: findingId(finding), producer: 'classifier', rule: 'guardrail-deleted', severity: 'high', resource: guardrail.arn, eventId: finding.eventId });
    expect(detail.finding.signals).toEqual(finding.signals);
    expect(event.resources).toEqual([guardrail.arn]);
  });

  it('the same finding has the same id whoever writes it, and a different one at another event', () => {
    expect(findingId(finding)).toBe(findingId({ ...finding }));
    expect(findingId(finding)).not.toBe(findingId({ ...finding, eventId: 'another' }));
    // A finding item modified (it never should be: findings are immutable) is not a new finding.
    expect(domainEventsOf(change('MODIFY', findingItem(finding, 'classifier'), findingItem(finding, 'classifier')))).toEqual([]);
  });

  it('a resource inserted is Resource Inventoried; a newer lastSeen or fresh evidence alone is no event', () => {
    expect(types(domainEventsOf(change('INSERT', resourceImage())))).toEqual([DETAIL_TYPES.resourceInventoried]);
    const busier = resourceImage({ lastSeen: '2025-02-01T00:00:00.000Z', lastEventId: 'e-9', signals: [{ eventName: 'GetGuardrail', path: 'eventName', value: 'GetGuardrail' }], rev: 3 });
    expect(domainEventsOf(change('MODIFY', busier, resourceImage()))).toEqual([]);
  });

  it('a resource that changes status is Resource Changed, naming the aspect and its old value', () => {
    const [event] = domainEventsOf(change('MODIFY', resourceImage({ status: 'deleted', rev: 3 }), resourceImage()));
    expect(event.detailType).toBe(DETAIL_TYPES.resourceChanged);
    expect(event.detail).toMatchObject({ changed: ['status'], before: { status: 'active' }, resource: { arn: guardrail.arn, status: 'deleted', kind: 'guardrail' } });
  });

  it('sensitivity (with where it comes from) and tags are aspects too; every change of an item has its own id', () => {
    const from = { arn: 'arn:aws:s3:::fraud-training-data', tag: 'data-classification=confidential', path: ['arn:aws:s3:::fraud-training-data', guardrail.arn] };
    const classified = resourceImage({ sensitivity: 'confidential', sensitivityFrom: from, rev: 3 });
    const [up] = domainEventsOf(change('MODIFY', classified, resourceImage()));
    expect(up.detail).toMatchObject({ changed: ['sensitivity'], before: { sensitivity: null, sensitivityFrom: null }, resource: { sensitivity: 'confidential', sensitivityFrom: from } });
    const [down] = domainEventsOf(change('MODIFY', resourceImage({ sensitivity: null, sensitivityFrom: null, rev: 4 }), classified));
    expect(down.detail).toMatchObject({ changed: ['sensitivity'], before: { sensitivity: 'confidential' } });
    expect(down.detail.id).not.toBe(up.detail.id);
    // The same change seen twice (a retried batch) has the same id.
    expect(domainEventsOf(change('MODIFY', classified, resourceImage()))[0].detail.id).toBe(up.detail.id);

    const tagged = resourceImage({ tags: { team: 'ml', 'data-classification': 'internal' }, rev: 5 });
    expect(domainEventsOf(change('MODIFY', tagged, resourceImage()))[0].detail).toMatchObject({ changed: ['tags'], before: { tags: null }, resource: { tags: { team: 'ml', 'data-classification': 'internal' } } });
  });

  it("a new GPU sweep verdict is an aspect (the tagger's gpu-verdict); the same verdict an hour later is no event", () => {
    const sweep = (verdict: string, sweepId: string, gpuUtilization: number) => ({ lastSweep: { verdict, gpuUtilization, gpuMemoryUsedPct: 1, wastedPerHour: 3, window: { start: '2026-12-01T09:00:00.000Z', end: '2026-12-01T10:00:00.000Z' }, sweepId } });
    const busy = resourceImage({ ...sweep('busy', 's-1', 80), rev: 6 });
    const idle = resourceImage({ ...sweep('idle', 's-2', 1), rev: 7 });
    expect(domainEventsOf(change('MODIFY', idle, busy))[0].detail).toMatchObject({ changed: ['gpuVerdict'], before: { gpuVerdict: 'busy' }, resource: { gpuVerdict: 'idle' } });
    expect(domainEventsOf(change('MODIFY', resourceImage({ ...sweep('idle', 's-3', 2), rev: 8 }), idle))).toEqual([]);
    expect(domainEventsOf(change('MODIFY', busy, resourceImage()))[0].detail).toMatchObject({ changed: ['gpuVerdict'], before: { gpuVerdict: null } });
  });

  it('an item that only now becomes a resource (the sweep fills one in) is inventoried', () => {
    const { entity: _entity, ...withoutEntity } = resourceImage();
    expect(types(domainEventsOf(change('MODIFY', resourceImage(), withoutEntity)))).toEqual([DETAIL_TYPES.resourceInventoried]);
  });

  it('an agent profile inserted is Agent Identified, with its evidence; a watched principal is Principal Watched', () => {
    const agent = 'arn:aws:iam::111122223333:role/support-tools-role';
    const profile = {
      ...keys.agentProfile(agent),
      ...agentProfileLatest(agent, '111122223333', { eventName: 'CreateAgentActionGroup', eventSource: 'bedrock.amazonaws.com' }),
      [evidenceAttribute('constructed')]: { how: 'constructed', agent: 'arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345', eventId: 'agent-0002', time: '2025-06-01T00:00:00.000Z', signals: [] },
      agentOf: new Set(['arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345']),
      firstSeen: '2025-06-01T00:00:00.000Z',
      lastSeen: '2025-06-01T00:00:00.000Z',
    };
    const [identified] = domainEventsOf(change('INSERT', profile));
    expect(identified).toMatchObject({
      detailType: DETAIL_TYPES.agentIdentified,
      detail: { agent: { arn: agent, account: '111122223333', identifiedBy: [{ how: 'constructed', agent: 'arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345', eventId: 'agent-0002' }], agentOf: ['arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345'] } },
    });
    const [watched] = domainEventsOf(change('INSERT', watchItem({ principal: agent, iamArn: 'arn:aws:iam::111122223333:role/service-role/support-tools-role', reason: 'agent' })));
    expect(watched).toMatchObject({ detailType: DETAIL_TYPES.principalWatched, detail: { principal: agent, iamArn: 'arn:aws:iam::111122223333:role/service-role/support-tools-role', reason: 'agent' } });
  });

  it('removals (expired ledger entries, lookups) and items of other kinds are no event', () => {
    expect(domainEventsOf(change('REMOVE', undefined, resourceImage()))).toEqual([]);
    expect(domainEventsOf(change('INSERT', { ...keys.lookup('function-role', 'f'), entity: 'lookup', value: 'r' }))).toEqual([]);
    expect(domainEventsOf(change('INSERT', { pk: 'X', sk: 'Y' }))).toEqual([]);
  });
});

describe('PutEvents entries: the documented quotas', () => {
  const event = (n: number, signalBytes = 10): DomainEvent => {
    const f = { ...finding, eventId: `e-${n}`, signals: Array.from({ length: 8 }, (_, i) => ({ eventName: 'x', path: `p${i}`, value: 'v'.repeat(signalBytes) })) };
    return domainEventsOf(change('INSERT', findingItem(f, 'classifier')))[0];
  };

  it('sizes an entry as EventBridge does: Source, DetailType, Detail and Resources in UTF-8, 14 bytes for Time', () => {
    const entry: PutEventsRequestEntry = { Source: 'ai-visibility', DetailType: 'Finding Recorded', Detail: '{"é":1}', Resources: ['arn:aws:s3:::b'], Time: new Date() };
    expect(entrySize(entry)).toBe(14 + 13 + 16 + 8 + 14); // é is two bytes in UTF-8
  });

  it('packs at most 10 entries and 256 KB a request, in order', () => {
    const small = Array.from({ length: 25 }, (_, i) => fittedEntry(event(i), 'bus'));
    expect(requests(small).map((r) => r.length)).toEqual([MAX_ENTRIES, MAX_ENTRIES, 5]);
    expect(requests(small).flat()).toEqual(small);
    const large = Array.from({ length: 4 }, (_, i) => fittedEntry(event(i, 12_000), 'bus')); // about 96 KB each
    const packed = requests(large);
    expect(packed.map((r) => r.length)).toEqual([2, 2]);
    for (const r of packed) expect(r.reduce((n, e) => n + entrySize(e), 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
  });

  it('cuts a finding too large for one entry to its first signals, and says so', () => {
    const huge = event(1, 60_000); // eight signals of 60 KB
    const entry = fittedEntry(huge, 'bus');
    expect(entrySize(entry)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    const detail = JSON.parse(entry.Detail!) as FindingRecorded;
    expect(detail.finding.signalsTruncated).toBe(true);
    expect(detail.finding.signals.length).toBeGreaterThan(0);
    expect(detail.finding.signals).toEqual((huge.detail as FindingRecorded).finding.signals.slice(0, detail.finding.signals.length));
    expect(JSON.parse(fittedEntry(event(2), 'bus').Detail!).finding.signalsTruncated).toBeUndefined();
  });

  describe('publishing', () => {
    const eventbridge = mockClient(EventBridgeClient);
    afterEach(() => eventbridge.reset());
    afterAll(() => eventbridge.restore());
    const client = () => eventbridge as unknown as EventBridgeClient;

    it('retries the entries EventBridge refuses, and only those', async () => {
      let calls = 0;
      eventbridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
        calls++;
        const results = input.Entries.map((_, i) => (calls === 1 && i === 1 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : { EventId: `id-${i}` }));
        return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
      });
      const events = [event(1), event(2), event(3)];
      expect(await putEventsPublisher(client(), 'bus', { backoffMs: 1 }).publish(events)).toEqual({ published: 3 });
      const sent = eventbridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.map((e) => (JSON.parse(e.Detail!) as FindingRecorded).id));
      expect(sent).toEqual([events.map((e) => e.detail.id), [events[1].detail.id]]);
    });

    it('says how many events, from the start, are on the bus when one keeps failing', async () => {
      const events = Array.from({ length: 13 }, (_, i) => event(i));
      const refused = events[11].detail.id;
      eventbridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
        const results = input.Entries.map((e) => ((JSON.parse(e.Detail!) as FindingRecorded).id === refused ? { ErrorCode: 'InternalFailure', ErrorMessage: 'no' } : { EventId: 'ok' }));
        return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
      });
      const outcome = await putEventsPublisher(client(), 'bus', { backoffMs: 1 }).publish(events);
      expect(outcome).toEqual({ published: 11, error: 'InternalFailure: no' });
    });

    it('treats a request that throws like one whose entries all failed', async () => {
      eventbridge.on(PutEventsCommand).rejects(new Error('socket hang up'));
      expect(await putEventsPublisher(client(), 'bus', { backoffMs: 1 }).publish([event(1)])).toEqual({ published: 0, error: 'Error: socket hang up' });
      expect(eventbridge.commandCalls(PutEventsCommand)).toHaveLength(5);
    });
  });
});

describe('the agent capture sync on the feed', () => {
  const run = Date.parse('2026-12-01T10:00:00Z');
  const watched = (time: string) => ({ source: 'ai-visibility', 'detail-type': 'Principal Watched', time, detail: {} });

  it('answers a Principal Watched event written before its last run started (with the index\'s slack) without another run', () => {
    expect(coveredByLastRun(watched(new Date(run - INDEX_PROPAGATION_SLACK_MS - 1).toISOString()), run)).toBe(true);
    expect(coveredByLastRun(watched(new Date(run - INDEX_PROPAGATION_SLACK_MS + 1).toISOString()), run)).toBe(false);
    expect(coveredByLastRun(watched(new Date(run + 1).toISOString()), run)).toBe(false);
  });

  it('always runs for the first event, the hourly repair, and anything it does not recognise', () => {
    expect(coveredByLastRun(watched('2020-01-01T00:00:00Z'), undefined)).toBe(false);
    expect(coveredByLastRun({ source: 'aws.events', 'detail-type': 'Scheduled Event', time: '2020-01-01T00:00:00Z' }, run)).toBe(false);
    expect(coveredByLastRun({}, run)).toBe(false);
    expect(coveredByLastRun(watched('not a time'), run)).toBe(false);
  });
});
