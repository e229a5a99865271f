/**
 * The typed boundary every record crosses once, at normalization: whatever reached the classifier,
 * what comes out has the types the rules expect and sizes the table can hold. Pure.
 *
 * A caller with stolen credentials controls much of what CloudTrail logs (request parameters,
 * names, ids); a replayed file can hold anything. So:
 * - the fields rules read (identity, names, flags, `resources`) are checked for type; a field
 *   of the wrong type is dropped, never coerced;
 * - every string is cut to `LIMITS.string` characters, keeping its length and a hash of the
 *   whole, so two long values stay distinct;
 * - nesting beyond `LIMITS.depth` levels and lists or objects beyond `LIMITS.entries` entries are
 *   cut;
 * - an `eventID` longer than any CloudTrail id is replaced by a hash of itself.
 * Each cut is a note; the classifier turns notes into signals on what the record reveals, so a
 * reader sees that a value was bounded and why.
 */
import { sha256Hex } from '../core/hash';
import type { CloudTrailRecord } from './types';

export const LIMITS = {
  /** Characters kept of a string (request parameters, names, ids); DynamoDB items hold 400 KB. */
  string: 4_096,
  /** Levels of nesting kept in a record. */
  depth: 32,
  /** Elements kept of a list, keys of an object. */
  entries: 1_000,
  /** Characters of an `eventID`: CloudTrail writes 36-character UUIDs; a longer one is hashed. */
  eventId: 128,
  /** Characters of a value an item keeps (a configuration attribute, a signal's value). */
  value: 1_024,
  /** Entries of a list or map an item keeps as one attribute (tags: AWS allows 50). */
  valueEntries: 100,
  /** Signals kept per observation; input notes kept per record. */
  signals: 50,
  notes: 5,
} as const;

const sha = (text: string) => sha256Hex(text);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const MARK = /…\[\d+ characters, sha256:[0-9a-f]{16}\]$/;

/**
 * A string cut to `max` characters, marked with its length and a hash of the whole. A value cut
 * before keeps its first mark (the original length and hash), only its text gets shorter.
 */
export function cut(value: string, max: number): string {
  if (value.length <= max) return value;
  const earlier = MARK.exec(value)?.[0];
  const mark = earlier ?? `…[${value.length} characters, sha256:${sha(value).slice(0, 16)}]`;
  const text = earlier ? value.slice(0, value.length - earlier.length) : value;
  return `${text.slice(0, Math.max(0, max - mark.length))}${mark}`;
}

/** What an item keeps of one value the events showed: strings of `LIMITS.value`, lists and maps of `LIMITS.valueEntries`. */
export function boundedValue<T>(value: T): T {
  if (typeof value === 'string') return cut(value, LIMITS.value) as T;
  if (Array.isArray(value)) return value.slice(0, LIMITS.valueEntries).map((v) => (typeof v === 'string' ? cut(v, LIMITS.value) : v)) as T;
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).slice(0, LIMITS.valueEntries).map(([k, v]) => [k, typeof v === 'string' ? cut(v, LIMITS.value) : v])) as T;
  return value;
}

/** The dotted path of the value being pruned; built only when a note needs it. */
const dotted = (path: ReadonlyArray<string | number>): string => path.join('.');

/** Define a data property (a key named __proto__ stays data, never a prototype). */
function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** Strings, depth and breadth bounded; objects rebuilt with own properties only. `path` is the walk's stack. */
function prune(value: unknown, path: Array<string | number>, depth: number, notes: string[]): unknown {
  if (typeof value === 'string') {
    if (value.length <= LIMITS.string) return value;
    notes.push(`${dotted(path)}: ${value.length} characters, cut to ${LIMITS.string}`);
    return cut(value, LIMITS.string);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= LIMITS.depth) {
    notes.push(`${dotted(path)}: nested deeper than ${LIMITS.depth} levels, cut`);
    return `[cut: nested deeper than ${LIMITS.depth} levels]`;
  }
  if (Array.isArray(value)) {
    if (value.length > LIMITS.entries) notes.push(`${dotted(path)}: ${value.length} elements, cut to ${LIMITS.entries}`);
    const n = Math.min(value.length, LIMITS.entries);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      path.push(i);
      out[i] = prune(value[i], path, depth + 1, notes);
      path.pop();
    }
    return out;
  }
  const keys = Object.keys(value);
  if (keys.length > LIMITS.entries) notes.push(`${dotted(path)}: ${keys.length} keys, cut to ${LIMITS.entries}`);
  const out: Record<string, unknown> = {};
  const n = Math.min(keys.length, LIMITS.entries);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    path.push(k);
    put(out, k.length > 256 ? cut(k, 256) : k, prune((value as Record<string, unknown>)[k], path, depth + 1, notes));
    path.pop();
  }
  return out;
}

const STRING_FIELDS = ['eventVersion', 'eventID', 'eventTime', 'eventSource', 'eventName', 'eventType', 'eventCategory', 'awsRegion', 'sourceIPAddress', 'userAgent', 'errorCode', 'errorMessage', 'recipientAccountId'] as const;
const FLAG_FIELDS = ['readOnly', 'managementEvent', 'sessionCredentialFromConsole'] as const;
const OBJECT_FIELDS = ['requestParameters', 'responseElements', 'additionalEventData', 'serviceEventDetails'] as const;
const IDENTITY_STRINGS = ['type', 'principalId', 'arn', 'accountId', 'userName', 'invokedBy', 'accessKeyId'] as const;
const ISSUER_STRINGS = ['type', 'principalId', 'arn', 'accountId', 'userName'] as const;

function keepStrings(obj: Record<string, unknown>, fields: readonly string[], path: string, notes: string[]): void {
  for (const f of fields) {
    if (Object.hasOwn(obj, f) && obj[f] !== undefined && obj[f] !== null && typeof obj[f] !== 'string') {
      notes.push(`${path}${f}: a ${Array.isArray(obj[f]) ? 'list' : typeof obj[f]} where a string belongs, dropped`);
      delete obj[f];
    }
  }
}

function keepObject(obj: Record<string, unknown>, field: string, path: string, notes: string[]): Record<string, unknown> | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (isPlainObject(v)) return v;
  notes.push(`${path}${field}: a ${Array.isArray(v) ? 'list' : typeof v} where an object belongs, dropped`);
  delete obj[field];
  return undefined;
}

/** A record that has crossed the boundary, and what was bounded on the way. */
export function sanitizeRecord(raw: Record<string, unknown>): { record: CloudTrailRecord; notes: string[] } {
  const notes: string[] = [];
  // eventID before the general cut: an over-long one is replaced, not cut.
  const eventID = raw.eventID;
  const pruned = prune({ ...raw, eventID: typeof eventID === 'string' && eventID.length > LIMITS.eventId ? undefined : eventID }, [], 0, notes) as Record<string, unknown>;
  if (typeof eventID === 'string' && eventID.length > LIMITS.eventId) {
    pruned.eventID = `hashed:sha256:${sha(eventID)}`;
    notes.push(`eventID: ${eventID.length} characters (CloudTrail's are 36), replaced by its hash`);
  }
  keepStrings(pruned, STRING_FIELDS, '', notes);
  for (const f of FLAG_FIELDS) {
    const v = pruned[f];
    if (v !== undefined && v !== null && typeof v !== 'boolean' && v !== 'true' && v !== 'false') {
      notes.push(`${f}: ${JSON.stringify(v).slice(0, 40)} is not a flag, dropped`);
      delete pruned[f];
    }
  }
  for (const f of OBJECT_FIELDS) keepObject(pruned, f, '', notes);
  const identity = keepObject(pruned, 'userIdentity', '', notes);
  if (identity) {
    keepStrings(identity, IDENTITY_STRINGS, 'userIdentity.', notes);
    const session = keepObject(identity, 'sessionContext', 'userIdentity.', notes);
    if (session) {
      keepStrings(session, ['sourceIdentity'], 'userIdentity.sessionContext.', notes);
      const issuer = keepObject(session, 'sessionIssuer', 'userIdentity.sessionContext.', notes);
      if (issuer) keepStrings(issuer, ISSUER_STRINGS, 'userIdentity.sessionContext.sessionIssuer.', notes);
      keepObject(session, 'attributes', 'userIdentity.sessionContext.', notes);
    }
  }
  const resources = pruned.resources;
  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources)) {
      notes.push(`resources: a ${typeof resources} where a list belongs, dropped`);
      delete pruned.resources;
    } else {
      const kept = resources.filter(isPlainObject);
      if (kept.length < resources.length) notes.push(`resources: ${resources.length - kept.length} element(s) that are not objects, dropped`);
      for (const [i, r] of kept.entries()) keepStrings(r, ['ARN', 'arn', 'type', 'accountId'], `resources.${i}.`, notes);
      pruned.resources = kept;
    }
  }
  return { record: pruned as CloudTrailRecord, notes };
}
