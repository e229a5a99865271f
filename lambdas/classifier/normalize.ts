/**
 * Turn whatever reached the classifier into a validated `NormalizedEvent`, or say why not.
 *
 * Inputs are EventBridge envelopes (what the capture rules deliver through SQS) or bare
 * CloudTrail records (what the replay and archived logs hold). Times come as ISO 8601 or, from
 * some exporters (Panther, Athena), as `2025-01-21 17:49:47.000000000`; both are read as UTC.
 * Nothing here throws: a record it cannot use becomes a `{ ok: false, reason }` that the handler
 * turns into a quarantine record. Every record first crosses the typed boundary (boundary.ts):
 * fields of the wrong type are dropped, sizes are bounded, and what was bounded is noted.
 *
 * Times outside what CloudTrail can have written are refused: before CloudTrail existed
 * (`EARLIEST_EVENT_TIME`), or more than `FUTURE_SKEW_MS` after the clock. A far-future time would
 * otherwise pin an item's state, every later real event looking older.
 */
import { sha256Hex } from '../core/hash';
import { SERVICE_STATE_EVENTS } from '../core/constants';
import { own } from '../core/own';
import { cut, sanitizeRecord } from './boundary';
import type { CloudTrailRecord, NormalizedEvent } from './types';

export type NormalizeResult = { ok: true; event: NormalizedEvent } | { ok: false; reason: string };

const CLOUDTRAIL_DETAIL_TYPES = new Set(['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail']);

function fromStateEvent(input: Record<string, unknown>, detail: Record<string, unknown>, as: (typeof SERVICE_STATE_EVENTS)[string]): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    eventSource: as.eventSource,
    eventName: as.eventName,
    eventType: 'AwsServiceEvent',
    eventCategory: 'Management',
    managementEvent: true,
    readOnly: false,
    // The envelope id is unique per event and stable across redeliveries.
    ...(typeof input.id === 'string' && input.id ? { eventID: `${input.source ?? as.source}:${input.id}` } : {}),
    eventTime: input.time,
    awsRegion: input.region,
    recipientAccountId: input.account,
    userIdentity: { type: 'AWSService', invokedBy: as.eventSource },
    serviceEventDetails: detail,
    resources: Array.isArray(input.resources) ? input.resources.filter((r) => typeof r === 'string').map((ARN) => ({ ARN })) : [],
  };
}
const EVENT_SOURCE = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$/;

/** CloudTrail launched on 2013-11-13; nothing it recorded is older. */
export const EARLIEST_EVENT_TIME = '2013-11-01T00:00:00.000Z';
/** How far ahead of our clock an event's time may be (clock skew between AWS and us). */
export const FUTURE_SKEW_MS = 24 * 3_600_000;
const TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|z|[+-]\d{2}:?\d{2}|UTC)?$/;
const ACCOUNT = /^\d{12}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parse an ISO 8601 or space-separated timestamp into ISO 8601 UTC with milliseconds. */
export function parseEventTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TIME.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction = '', zone] = m;
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  let epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  // Date.UTC rolls 2025-02-30 over to March: reject instead of guessing.
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi) ||
    check.getUTCSeconds() !== Number(s)
  ) {
    return undefined;
  }
  if (zone && zone !== 'Z' && zone !== 'z' && zone !== 'UTC') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    epoch -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return new Date(epoch).toISOString();
}

/** JSON with object keys sorted, so the same record always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function sha256(text: string): string {
  return sha256Hex(text);
}

function asBoolean(value: unknown): boolean {
  return value === true || value === 'true';
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

/** Normalize an EventBridge envelope or a bare CloudTrail record; `now` bounds the event's time. */
export function normalize(input: unknown, now: number = Date.now()): NormalizeResult {
  if (!isObject(input)) return { ok: false, reason: 'input is not a JSON object' };

  let record: Record<string, unknown>;
  let envelope: Record<string, unknown> | undefined;
  if ('detail-type' in input || 'detail' in input) {
    const detailType = input['detail-type'];
    const stateEvent = typeof detailType === 'string' ? own(SERVICE_STATE_EVENTS, detailType) : undefined;
    if (typeof detailType !== 'string' || (!CLOUDTRAIL_DETAIL_TYPES.has(detailType) && (!stateEvent || input.source !== stateEvent.source))) {
      return { ok: false, reason: `unsupported EventBridge detail-type ${JSON.stringify(detailType ?? null)}: expected a CloudTrail event` };
    }
    if (!isObject(input.detail)) return { ok: false, reason: 'EventBridge envelope has no detail object' };
    record = stateEvent ? fromStateEvent(input, input.detail, stateEvent) : input.detail;
    envelope = input;
  } else {
    record = input;
  }
  // A time of the wrong type is dropped at the boundary: keep it to say so.
  const timeAsGiven = record.eventTime;
  const { record: bounded, notes } = sanitizeRecord(record);
  record = bounded;

  const { eventSource, eventName } = record;
  if (typeof eventSource !== 'string' || !EVENT_SOURCE.test(eventSource)) {
    return { ok: false, reason: `missing or malformed eventSource ${JSON.stringify(eventSource ?? null)}: not a CloudTrail record` };
  }
  if (typeof eventName !== 'string' || !/^[A-Za-z0-9_.:-]+$/.test(eventName)) {
    return { ok: false, reason: `missing or malformed eventName ${JSON.stringify(eventName ?? null)}` };
  }

  const rawTime = record.eventTime ?? timeAsGiven ?? envelope?.time;
  const time = parseEventTime(rawTime);
  if (time && time < EARLIEST_EVENT_TIME) return { ok: false, reason: `eventTime ${time} is before CloudTrail existed (${EARLIEST_EVENT_TIME})` };
  if (time && Date.parse(time) > now + FUTURE_SKEW_MS) return { ok: false, reason: `eventTime ${time} is more than ${FUTURE_SKEW_MS / 3_600_000} hours in the future` };
  if (!time) {
    return {
      ok: false,
      reason:
        rawTime === undefined
          ? 'missing eventTime: the event cannot be ordered against others'
          : `unreadable eventTime ${typeof rawTime === 'string' ? JSON.stringify(cut(rawTime, 64)) : `(a ${typeof rawTime})`}: expected ISO 8601 or "YYYY-MM-DD hh:mm:ss"`,
    };
  }

  const region = typeof record.awsRegion === 'string' && record.awsRegion ? record.awsRegion : typeof envelope?.region === 'string' ? envelope.region : undefined;
  if (!region || !/^[a-z0-9-]+$/.test(region)) {
    return { ok: false, reason: `missing or malformed awsRegion ${JSON.stringify(region ?? null)}` };
  }

  const identity = isObject(record.userIdentity) ? record.userIdentity : undefined;
  const accountCandidates = [record.recipientAccountId, envelope?.account, identity?.accountId];
  const account = (accountCandidates.find((a) => typeof a === 'string' && ACCOUNT.test(a)) ??
    accountCandidates.find((a) => typeof a === 'string' && a !== '' && a !== 'anonymous') ??
    'unknown') as string;

  const hasId = typeof record.eventID === 'string' && record.eventID.length > 0;
  const eventId = hasId ? (record.eventID as string) : `derived:sha256:${sha256(canonicalJson(record))}`;
  const errorCode = typeof record.errorCode === 'string' && record.errorCode ? record.errorCode : undefined;

  return {
    ok: true,
    event: {
      eventId,
      eventIdDerived: !hasId,
      time,
      eventSource,
      eventName,
      region,
      account,
      partition: partitionOf(region),
      readOnly: asBoolean(record.readOnly),
      errorCode,
      record: record as CloudTrailRecord,
      notes,
    },
  };
}

const contentHashes = new WeakMap<object, string>();

/**
 * A hash of the record as it crossed the boundary: it orders two different records with one
 * eventID, so any order of arrival ends in the same state. Only a write needs it, so it is
 * computed when first asked for (most matched records are never written), once per record.
 */
export function contentHashOf(event: Pick<NormalizedEvent, 'record'>): string {
  let hash = contentHashes.get(event.record);
  if (hash === undefined) {
    hash = sha256(JSON.stringify(event.record)).slice(0, 16);
    contentHashes.set(event.record, hash);
  }
  return hash;
}
