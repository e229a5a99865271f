/**
 * The trail reader's logic, without the SDK: what a queue message asks for, and which records of
 * a log file go on to the classifier.
 *
 * A message is one of:
 * - an S3 event notification (`s3:ObjectCreated:*`, S3 User Guide, "Event message structure"),
 *   keys URL-encoded with `+` for spaces; S3's `s3:TestEvent` when the notification is set up;
 * - CloudTrail's own SNS notification of a delivery (`{"s3Bucket", "s3ObjectKey": [...]}`), raw or
 *   in its SNS envelope (CloudTrail User Guide, "Configuring Amazon SNS notifications");
 * - a `Principal Watched` domain event of an agent: a look-back over the files already delivered.
 */
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../core/events';
import { MAX_MESSAGE_BYTES } from '../shared/capture-queue';
import { toEnvelope } from '../shared/cloudtrail-envelope';
import { parseLogFile, type ReadProblem } from '../shared/trail-records';

export interface S3Object {
  readonly bucket: string;
  readonly key: string;
}

export interface LookBackRequest {
  readonly principal: string;
  readonly iamArn?: string;
  /** When the principal became watched (the domain event's changedAt), epoch milliseconds. */
  readonly watchedAt: number;
}

export type MessageRequest =
  | { readonly kind: 'files'; readonly files: readonly S3Object[] }
  | { readonly kind: 'look-back'; readonly request: LookBackRequest }
  | { readonly kind: 'ignore'; readonly reason: string }
  | { readonly kind: 'refuse'; readonly reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** S3 notification keys are URL-encoded, spaces as `+`. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** What a message body asks the reader to do. Never throws. */
export function requestOf(body: string): MessageRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { kind: 'refuse', reason: 'not JSON' };
  }
  if (isObject(doc) && doc.Type === 'Notification' && typeof doc.Message === 'string') return requestOf(doc.Message);
  if (!isObject(doc)) return { kind: 'refuse', reason: 'not a JSON object' };
  if (doc.Event === 's3:TestEvent') return { kind: 'ignore', reason: "S3's test event" };
  if (Array.isArray(doc.Records)) {
    const files: S3Object[] = [];
    for (const r of doc.Records) {
      const s3 = isObject(r) && isObject(r.s3) ? r.s3 : undefined;
      const name = s3 && isObject(s3.bucket) ? s3.bucket.name : undefined;
      const key = s3 && isObject(s3.object) ? s3.object.key : undefined;
      if (!(isObject(r) && typeof r.eventName === 'string' && r.eventName.startsWith('ObjectCreated:'))) continue;
      if (typeof name !== 'string' || typeof key !== 'string') return { kind: 'refuse', reason: 'an S3 notification without bucket name or object key' };
      try {
        files.push({ bucket: name, key: decodeS3Key(key) });
      } catch {
        return { kind: 'refuse', reason: `an object key that is not URL-encoded: ${key.slice(0, 200)}` };
      }
    }
    return files.length ? { kind: 'files', files } : { kind: 'ignore', reason: 'no object created' };
  }
  if (typeof doc.s3Bucket === 'string' && Array.isArray(doc.s3ObjectKey)) {
    const keys = doc.s3ObjectKey.filter((k): k is string => typeof k === 'string');
    return keys.length ? { kind: 'files', files: keys.map((key) => ({ bucket: doc.s3Bucket as string, key })) } : { kind: 'refuse', reason: 'a CloudTrail notification without object keys' };
  }
  if (doc.source === DOMAIN_EVENT_SOURCE && doc['detail-type'] === DETAIL_TYPES.principalWatched && isObject(doc.detail)) {
    const { principal, iamArn, changedAt, reason } = doc.detail;
    // A model caller that may become an agent: its calls are kept from now on; the look-back
    // comes when it becomes one (a new Principal Watched, reason agent).
    if (reason === 'candidate') return { kind: 'ignore', reason: 'a candidate, not an agent: no look-back' };
    const at = typeof changedAt === 'string' ? Date.parse(changedAt) : typeof doc.time === 'string' ? Date.parse(doc.time) : NaN;
    if (typeof principal !== 'string' || !Number.isFinite(at)) return { kind: 'refuse', reason: 'a Principal Watched event without principal or time' };
    return { kind: 'look-back', request: { principal, ...(typeof iamArn === 'string' ? { iamArn } : {}), watchedAt: at } };
  }
  return { kind: 'refuse', reason: 'neither an S3 or CloudTrail delivery notification nor a Principal Watched event' };
}


export interface KeptRecords {
  /** Records in the file. */
  readonly records: number;
  /** EventBridge envelopes (JSON) of the watched principals' calls, for the capture queue. */
  readonly messages: readonly string[];
  /** eventIDs of kept records too large for one message (256 KiB), not sent. */
  readonly tooLarge: readonly string[];
  readonly problems: readonly ReadProblem[];
}

/**
 * The records of a log file that the agent capture rules would deliver, as the messages a rule
 * would send: the EventBridge envelope of each (shared/cloudtrail-envelope.ts).
 */
export function keptRecords(bytes: Buffer, key: string, keep: (envelope: Record<string, unknown>) => boolean, maxBytes: number): KeptRecords {
  const problems: ReadProblem[] = [];
  const records = parseLogFile(bytes, key, problems, maxBytes);
  const messages: string[] = [];
  const tooLarge: string[] = [];
  for (const { source, value } of records) {
    if (!isObject(value) || typeof value.eventSource !== 'string') {
      problems.push({ source, reason: 'not a CloudTrail record (no eventSource)' });
      continue;
    }
    const envelope = toEnvelope(value);
    if (!keep(envelope)) continue;
    let body: string;
    try {
      body = JSON.stringify(envelope);
    } catch (error) {
      problems.push({ source, reason: `cannot be sent: ${(error as Error).message}` });
      continue;
    }
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) tooLarge.push(typeof value.eventID === 'string' ? value.eventID : source);
    else messages.push(body);
  }
  return { records: records.length, messages, tooLarge, problems };
}
