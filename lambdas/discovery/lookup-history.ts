/**
 * History without an S3 archive: CloudTrail event history (LookupEvents) holds the last 90 days of
 * an account-region's management events. The import asks it for the AI event sources, page by
 * page, and sends what the capture rules match to the capture queue, as the archive import does.
 *
 * LookupEvents (CloudTrail API Reference, "LookupEvents") takes one lookup attribute a request,
 * answers 50 events a page, newest first, and allows two requests per second per account and
 * region; over that it throttles. So each account-region pages alone, one request every 500 ms,
 * backing off when throttled anyway (another tool shares the quota); account-regions run in
 * parallel. A Lambda invocation pages until its time is nearly spent and returns a cursor; the
 * state machine invokes it again from there (lib/constructs/lookup-history-import.ts).
 *
 * No SDK here: the handler brings the LookupEvents call.
 */
import { MAX_MESSAGE_BYTES } from '../core/constants';
import { toEnvelope } from '../shared/cloudtrail-envelope';
import { retrying } from './listing-kit';

/** One lookup: LookupEvents takes a single attribute per request. */
export interface LookupQuery {
  readonly key: 'EventSource' | 'EventName';
  readonly value: string;
}

/**
 * The AI event sources, the EC2 calls that launch accelerator instances, and the global calls
 * that grant model access or mint a long-term Bedrock API key (by name: EC2 or IAM as a whole
 * would be most of an account's history; IAM and Marketplace events are in us-east-1's history
 * only, elsewhere their queries answer one empty page). Each is something a capture rule reads (a
 * test checks); what each page returns still goes through the rules.
 */
export const LOOKUP_QUERIES: readonly LookupQuery[] = [
  { key: 'EventSource', value: 'bedrock.amazonaws.com' },
  { key: 'EventSource', value: 'bedrock-agentcore.amazonaws.com' },
  { key: 'EventSource', value: 'sagemaker.amazonaws.com' },
  { key: 'EventName', value: 'RunInstances' },
  { key: 'EventName', value: 'RequestSpotInstances' },
  { key: 'EventName', value: 'CreateFleet' },
  { key: 'EventName', value: 'CreateServiceSpecificCredential' },
  { key: 'EventName', value: 'AcceptAgreementRequest' },
];

/** Event history keeps 90 days. */
export const LOOKUP_MAX_DAYS = 90;
/** Two requests per second per account and region. */
export const LOOKUP_INTERVAL_MS = 500;
export const LOOKUP_PAGE_SIZE = 50;

export interface LookupTarget {
  readonly account: string;
  readonly region: string;
  readonly runId: string;
  /** ISO times: the window looked up. */
  readonly since: string;
  readonly until: string;
}

/** Where a target's paging stands between invocations. */
export interface LookupCursor {
  /** Index in LOOKUP_QUERIES. */
  readonly query: number;
  readonly nextToken?: string;
  /** The EndTime of the query's requests: a token continues only the request it came from. */
  readonly endTime: string;
  /** The oldest event time the query has reached: where it restarts if its token is refused. */
  readonly reached?: string;
  /** When the last request went (epoch ms): the next invocation keeps the pace from there. */
  readonly lastRequestAt?: number;
}

export interface LookupTotals {
  readonly requests: number;
  readonly throttled: number;
  readonly events: number;
  /** Sent to the capture queue: a capture rule matched. */
  readonly matched: number;
  /** `CloudTrailEvent` not a JSON CloudTrail record: counted, never thrown. */
  readonly unreadable: number;
  /** Matched, but over the 256 KiB a message holds: counted and logged, not sent. */
  readonly tooLarge: number;
}

export const NO_TOTALS: LookupTotals = { requests: 0, throttled: 0, events: 0, matched: 0, unreadable: 0, tooLarge: 0 };

export interface LookupState {
  readonly target: LookupTarget;
  readonly cursor: LookupCursor | null;
  readonly totals: LookupTotals;
  readonly done: boolean;
}

export interface LookupRequest {
  readonly query: LookupQuery;
  readonly startTime: Date;
  readonly endTime: Date;
  readonly nextToken?: string;
}

/** A LookupEvents page, as the API answers it (Events[].CloudTrailEvent is the record as a JSON string). */
export interface LookupPage {
  readonly Events?: ReadonlyArray<{ readonly EventId?: string; readonly EventTime?: Date; readonly CloudTrailEvent?: string }>;
  readonly NextToken?: string;
}

export interface LookupDependencies {
  readonly lookup: (request: LookupRequest) => Promise<LookupPage>;
  readonly send: (messages: readonly string[]) => Promise<void>;
  /** Whether a capture rule takes the envelope. */
  readonly keep: (envelope: Record<string, unknown>) => boolean;
  /** Whether another page fits in the invocation's remaining time. */
  readonly hasTime: () => boolean;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Called with the eventIDs of matched records too large to send. */
  readonly onTooLarge?: (eventIds: readonly string[]) => void;
}

/** The window a run looks up: the last `days` days (1-90) up to `now`. */
export function lookupWindow(days: unknown, now: number): { since: string; until: string } {
  const d = days === undefined ? LOOKUP_MAX_DAYS : days;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > LOOKUP_MAX_DAYS) throw new Error(`days must be a whole number from 1 to ${LOOKUP_MAX_DAYS} (event history keeps ${LOOKUP_MAX_DAYS} days), got ${JSON.stringify(days)}`);
  return { since: new Date(now - d * 86_400_000).toISOString(), until: new Date(now).toISOString() };
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Page through a target's queries from its cursor until they are done or time runs short.
 * Idempotent: a page read twice (a retried invocation, a restarted query) sends records the
 * classifier merges on their eventID.
 */
export async function lookUpHistory(state: Omit<LookupState, 'done'>, deps: LookupDependencies): Promise<LookupState> {
  const { target } = state;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const since = new Date(target.since);
  const totals = { ...NO_TOTALS, ...state.totals };
  let cursor: LookupCursor = state.cursor ?? { query: 0, endTime: target.until };
  // The pace holds across invocations: the previous one's last request counts.
  let lastRequest = state.cursor?.lastRequestAt ?? -Infinity;
  // One request every LOOKUP_INTERVAL_MS, retries included.
  const paced = async (request: LookupRequest): Promise<LookupPage> => {
    const wait = lastRequest + LOOKUP_INTERVAL_MS - now();
    if (wait > 0) await sleep(wait);
    lastRequest = now();
    totals.requests++;
    return deps.lookup(request);
  };

  while (cursor.query < LOOKUP_QUERIES.length) {
    if (!deps.hasTime()) return { target, cursor: { ...cursor, ...(Number.isFinite(lastRequest) ? { lastRequestAt: lastRequest } : {}) }, totals, done: false };
    const query = LOOKUP_QUERIES[cursor.query];
    let page: LookupPage;
    try {
      const request = { query, startTime: since, endTime: new Date(cursor.endTime), ...(cursor.nextToken ? { nextToken: cursor.nextToken } : {}) };
      const result = await retrying(() => paced(request), { attempts: 8, baseDelayMs: 1_000, sleep, random: deps.random });
      totals.throttled += result.throttled;
      page = result.value;
    } catch (error) {
      // A token from an earlier invocation no longer taken: the query restarts from the oldest
      // event it reached (what it reads again merges on the eventID).
      if ((error as { name?: string }).name === 'InvalidNextTokenException' && cursor.nextToken) {
        cursor = { query: cursor.query, endTime: cursor.reached ?? cursor.endTime };
        continue;
      }
      throw error;
    }

    const messages: string[] = [];
    const tooLarge: string[] = [];
    let oldest = Date.parse(cursor.reached ?? cursor.endTime);
    for (const event of page.Events ?? []) {
      totals.events++;
      if (event.EventTime instanceof Date && event.EventTime.getTime() < oldest) oldest = event.EventTime.getTime();
      let record: unknown;
      try {
        record = JSON.parse(event.CloudTrailEvent ?? '');
      } catch {
        record = undefined;
      }
      if (!isRecord(record) || typeof record.eventSource !== 'string') {
        totals.unreadable++;
        continue;
      }
      const envelope = toEnvelope(record);
      if (!deps.keep(envelope)) continue;
      const body = JSON.stringify(envelope);
      if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) tooLarge.push(typeof record.eventID === 'string' ? record.eventID : (event.EventId ?? '?'));
      else messages.push(body);
    }
    await deps.send(messages);
    totals.matched += messages.length;
    totals.tooLarge += tooLarge.length;
    if (tooLarge.length) deps.onTooLarge?.(tooLarge);

    const token = page.NextToken || undefined;
    // A token that repeats would page forever: the query ends there.
    cursor = token && token !== cursor.nextToken ? { query: cursor.query, nextToken: token, endTime: cursor.endTime, reached: new Date(oldest).toISOString() } : { query: cursor.query + 1, endTime: target.until };
  }
  return { target, cursor: null, totals, done: true };
}

/** Totals of many targets (the run's summary). */
export function addTotals(a: LookupTotals, b: LookupTotals): LookupTotals {
  return {
    requests: a.requests + b.requests,
    throttled: a.throttled + b.throttled,
    events: a.events + b.events,
    matched: a.matched + b.matched,
    unreadable: a.unreadable + b.unreadable,
    tooLarge: a.tooLarge + b.tooLarge,
  };
}
