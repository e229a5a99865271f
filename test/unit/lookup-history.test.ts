/**
 * Paging CloudTrail event history (lambdas/discovery/lookup-history.ts) against an event history
 * that answers as LookupEvents does (test/support/event-history.ts), on a virtual clock. Records:
 * the real ones of fixtures/cloudtrail/ai, re-timed into the window (and, for volume, copied with
 * fresh eventIDs).
 */
import { readFileSync } from 'node:fs';
import { compileRules, matchingRules, toEnvelope } from '../../lambdas/shared/capture-rules';
import { LOOKUP_INTERVAL_MS, LOOKUP_QUERIES, lookUpHistory, lookupWindow, NO_TOTALS, type LookupDependencies, type LookupRequest, type LookupState } from '../../lambdas/discovery/lookup-history';
import { aiFixtureFiles } from '../helpers';
import { eventHistory, virtualClock, type HistoryEntry } from '../support/event-history';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const rules = compileRules();
const keep = (envelope: Record<string, unknown>) => matchingRules(envelope, rules).length > 0;
const REAL = aiFixtureFiles().map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>);

/** Each real record `copies` times, a minute apart going back from an hour before NOW, with fresh eventIDs. */
function history(copies: number): HistoryEntry[] {
  let minute = 60;
  return Array.from({ length: copies }, (_, c) => REAL.map((r) => ({ record: { ...r, eventID: `${String(r.eventID)}-${c}`, eventTime: new Date(NOW - minute++ * 60_000).toISOString() } }))).flat();
}

const target = { account: '111122223333', region: 'us-east-1', runId: 'run', ...lookupWindow(90, NOW) };
const start: Omit<LookupState, 'done'> = { target, cursor: null, totals: NO_TOTALS };

function harness(entries: readonly HistoryEntry[], options: { failures?: Array<Error | undefined>; pagesPerInvocation?: number } = {}) {
  const store = eventHistory(entries);
  const clock = virtualClock(NOW);
  const times: number[] = [];
  const sent: string[] = [];
  const failures = [...(options.failures ?? [])];
  let pages = 0;
  const deps: LookupDependencies = {
    lookup: async (r: LookupRequest) => {
      times.push(clock.now());
      const failure = failures.shift();
      if (failure) throw failure;
      pages++;
      return store.answer({ LookupAttributes: [{ AttributeKey: r.query.key, AttributeValue: r.query.value }], StartTime: r.startTime, EndTime: r.endTime, MaxResults: 50, NextToken: r.nextToken });
    },
    send: async (messages) => void sent.push(...messages),
    keep,
    hasTime: () => options.pagesPerInvocation === undefined || pages < options.pagesPerInvocation,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0.5,
  };
  return { deps, store, times, sent, clock, resetPages: () => (pages = 0) };
}

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });

describe('looking up event history', () => {
  it('asks for each AI event source and accelerator launch, page by page, and sends exactly what the capture rules take', async () => {
    const entries = history(30);
    const h = harness(entries);
    const done = await lookUpHistory(start, h.deps);
    expect(done.done).toBe(true);
    expect(done.cursor).toBeNull();
    const expected = entries.filter((e) => LOOKUP_QUERIES.some((q) => e.record[q.key === 'EventSource' ? 'eventSource' : 'eventName'] === q.value)).map((e) => e.record);
    const matched = expected.filter((r) => keep(toEnvelope(r)));
    expect(done.totals).toMatchObject({ events: expected.length, matched: matched.length, unreadable: 0, throttled: 0 });
    expect(h.sent.map((m) => (JSON.parse(m) as { detail: { eventID: string } }).detail.eventID).sort()).toEqual(matched.map((r) => r.eventID).sort());
    // Every query asked, several pages of the busy ones, one attribute a request.
    const asked = h.store.requests.map((r) => r.LookupAttributes![0].AttributeValue);
    expect(new Set(asked)).toEqual(new Set(LOOKUP_QUERIES.map((q) => q.value)));
    expect(asked.filter((v) => v === 'bedrock.amazonaws.com').length).toBeGreaterThan(1);
    expect(h.store.requests.every((r) => r.MaxResults === 50 && r.LookupAttributes!.length === 1)).toBe(true);
    expect(done.totals.requests).toBe(h.store.requests.length);
  });

  it('keeps to two requests a second per account-region, throttled retries included, and backs off when throttled anyway', async () => {
    const h = harness(history(30), { failures: [undefined, throttled(), throttled()] });
    const done = await lookUpHistory(start, h.deps);
    expect(done.totals.throttled).toBe(2);
    const gaps = h.times.slice(1).map((t, i) => t - h.times[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(LOOKUP_INTERVAL_MS);
    // The throttled retries waited longer than the pace: full-jitter back-off from 1 s (random 0.5: 500 ms, then 1,000 ms).
    expect(gaps[1]).toBeGreaterThanOrEqual(500);
    expect(gaps[2]).toBeGreaterThanOrEqual(1_000);
    expect(done.totals.requests).toBe(h.times.length);
  });

  it('gives up on a query throttled past its retries (the state machine retries the invocation from its cursor)', async () => {
    const h = harness(history(1), { failures: Array.from({ length: 8 }, throttled) });
    await expect(lookUpHistory(start, h.deps)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('counts entries whose CloudTrailEvent is not a record, and goes on', async () => {
    const entries = [...history(1), { record: { eventID: 'broken', eventSource: 'bedrock.amazonaws.com', eventTime: new Date(NOW - 1_000).toISOString() }, raw: '{"eventSource": "bedrock.amaz' }, { record: { eventID: 'list', eventSource: 'bedrock.amazonaws.com', eventTime: new Date(NOW - 2_000).toISOString() }, raw: '[1, 2]' }];
    const whole = await lookUpHistory(start, harness(history(1)).deps);
    const h = harness(entries);
    const done = await lookUpHistory(start, h.deps);
    expect(done.totals).toEqual({ ...whole.totals, events: whole.totals.events + 2, unreadable: 2 });
  });

  it('stops when its time runs short and resumes from the cursor to the same result as one long invocation', async () => {
    const entries = history(30);
    const whole = harness(entries);
    const once = await lookUpHistory(start, whole.deps);

    const h = harness(entries, { pagesPerInvocation: 3 });
    let state: LookupState = { ...start, done: false };
    let invocations = 0;
    while (!state.done) {
      h.resetPages();
      // Between invocations the state goes through Step Functions as JSON.
      state = JSON.parse(JSON.stringify(await lookUpHistory(state, h.deps))) as LookupState;
      invocations++;
      if (!state.done) expect(state.cursor).toEqual(expect.objectContaining({ query: expect.any(Number), endTime: expect.any(String) }));
    }
    expect(invocations).toBeGreaterThan(2);
    // The pace holds across invocations too (the cursor carries the last request's time).
    expect(Math.min(...h.times.slice(1).map((t, i) => t - h.times[i]))).toBeGreaterThanOrEqual(LOOKUP_INTERVAL_MS);
    expect(state.totals).toEqual(once.totals);
    expect(h.sent.sort()).toEqual(whole.sent.sort());
  });

  it('restarts a query from the oldest event it reached when a token is no longer taken, losing nothing', async () => {
    const entries = history(30);
    const h = harness(entries, { pagesPerInvocation: 1 });
    const first = await lookUpHistory(start, h.deps);
    expect(first.cursor?.nextToken).toBeDefined();
    h.resetPages();
    const stale = { ...first, cursor: { ...first.cursor!, nextToken: Buffer.from('{"request":"expired","offset":50}').toString('base64') } };
    const unlimited = { ...h.deps, hasTime: () => true };
    const done = await lookUpHistory(stale, unlimited);
    expect(done.done).toBe(true);
    const ids = new Set(h.sent.map((m) => (JSON.parse(m) as { detail: { eventID: string } }).detail.eventID));
    const all = harness(entries);
    await lookUpHistory(start, all.deps);
    expect(ids).toEqual(new Set(all.sent.map((m) => (JSON.parse(m) as { detail: { eventID: string } }).detail.eventID)));
  });

  it('ends a query whose token repeats instead of paging forever', async () => {
    const h = harness(history(1));
    let calls = 0;
    const looping: LookupDependencies = { ...h.deps, lookup: async () => (calls++, { Events: [], NextToken: 'same' }) };
    const done = await lookUpHistory(start, looping);
    expect(done.done).toBe(true);
    expect(calls).toBe(LOOKUP_QUERIES.length * 2);
  });

  it('asks only for sources the capture rules read', () => {
    for (const q of LOOKUP_QUERIES.filter((x) => x.key === 'EventSource')) expect(rules.eventSources?.has(q.value)).toBe(true);
    for (const q of LOOKUP_QUERIES.filter((x) => x.key === 'EventName')) expect([q.value, rules.some((r) => JSON.stringify(r.spec.pattern).includes(`"${q.value}"`))]).toEqual([q.value, true]);
  });

  it('looks up 1 to 90 days back, and refuses more than event history keeps', () => {
    expect(lookupWindow(undefined, NOW)).toEqual({ since: '2026-09-02T12:00:00.000Z', until: '2026-12-01T12:00:00.000Z' });
    expect(lookupWindow(1, NOW).since).toBe('2026-11-30T12:00:00.000Z');
    for (const bad of [0, 91, 1.5, '30', null]) expect(() => lookupWindow(bad, NOW)).toThrow(/days must be a whole number from 1 to 90/);
  });
});
