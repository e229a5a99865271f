/**
 * Parse recorded CloudTrail activity, whatever shape it was exported in (the local replay reads
 * files with it, the trail reader S3 objects):
 * - CloudTrail S3 log files: `{"Records":[...]}`, `.json` or `.json.gz`;
 * - JSON arrays of records or of EventBridge envelopes; a single record or envelope;
 * - JSON lines (`.jsonl`, `.ndjson`, or any text that is not one JSON document);
 * - `aws cloudtrail lookup-events` output: `{"Events":[{"CloudTrailEvent":"<json string>"}]}`;
 * - CloudTrail Lake query results: `{"QueryResultRows":[[{"eventJson":"<json string>"}]]}` or rows
 *   already flattened to objects with an `eventJson`/`CloudTrailEvent` string.
 * A document or line that cannot be read is reported with its location and reason; parsing goes
 * on. A UTF-8 byte order mark is not content. Decompression is bounded by `maxBytes` (a small
 * gzip can expand a thousandfold).
 */
import { gunzipSync } from 'node:zlib';

export interface SourcedRecord {
  /** `path#index` (documents) or `path:line` (JSON lines). */
  readonly source: string;
  readonly value: unknown;
}

export interface ReadProblem {
  readonly source: string;
  readonly reason: string;
}

/** Bytes of one file, or of what a gzip file expands to, read at most. @default 256 MiB */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

const EMBEDDED_JSON_KEYS = ['CloudTrailEvent', 'eventJson', 'eventjson'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Expand lookup-events / Lake rows into the CloudTrail record they carry as a JSON string. */
function unwrap(value: unknown, source: string, problems: ReadProblem[]): unknown | undefined {
  if (!isObject(value)) return value;
  for (const key of EMBEDDED_JSON_KEYS) {
    const embedded = value[key];
    if (typeof embedded === 'string') {
      try {
        return JSON.parse(embedded);
      } catch (error) {
        problems.push({ source, reason: `${key} is not valid JSON: ${(error as Error).message}` });
        return undefined;
      }
    }
  }
  return value;
}

/** The records inside one parsed JSON document. */
function recordsOf(doc: unknown, path: string, problems: ReadProblem[]): SourcedRecord[] {
  const out: SourcedRecord[] = [];
  const push = (value: unknown, source: string) => {
    const unwrapped = unwrap(value, source, problems);
    if (unwrapped !== undefined) out.push({ source, value: unwrapped });
  };
  if (Array.isArray(doc)) {
    doc.forEach((v, i) => push(v, `${path}#${i}`));
  } else if (isObject(doc) && Array.isArray(doc.Records)) {
    doc.Records.forEach((v, i) => push(v, `${path}#${i}`));
  } else if (isObject(doc) && Array.isArray(doc.Events)) {
    doc.Events.forEach((v, i) => push(v, `${path}#${i}`));
  } else if (isObject(doc) && Array.isArray(doc.QueryResultRows)) {
    doc.QueryResultRows.forEach((row, i) => {
      // GetQueryResults rows are lists of one-key objects, one per selected column.
      const cells: unknown[] = Array.isArray(row) ? row : [row];
      const merged = Object.assign({}, ...cells.filter(isObject)) as Record<string, unknown>;
      push(merged, `${path}#${i}`);
    });
  } else {
    push(doc, path);
  }
  return out;
}

function parseJsonLines(text: string, path: string, problems: ReadProblem[]): SourcedRecord[] {
  const out: SourcedRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      out.push(...recordsOf(JSON.parse(line), `${path}:${i + 1}`, problems));
    } catch (error) {
      problems.push({ source: `${path}:${i + 1}`, reason: `not valid JSON: ${(error as Error).message}` });
    }
  }
  return out;
}

export const isGzip = (bytes: Buffer) => bytes[0] === 0x1f && bytes[1] === 0x8b;

/** Parse one file's bytes (gzip recognized by its magic number, whatever the name says). */
export function parseLogFile(bytes: Buffer, path: string, problems: ReadProblem[], maxBytes = DEFAULT_MAX_FILE_BYTES): SourcedRecord[] {
  let text: string;
  try {
    text = (isGzip(bytes) ? gunzipSync(bytes, { maxOutputLength: maxBytes }) : bytes).toString('utf8');
  } catch (error) {
    problems.push({ source: path, reason: `cannot decompress: ${(error as Error).message}` });
    return [];
  }
  return parseLogText(text, path, problems);
}

/** Parse one file's text. */
export function parseLogText(raw: string, path: string, problems: ReadProblem[]): SourcedRecord[] {
  // Editors write a UTF-8 byte order mark; it is not part of the JSON.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  const trimmed = text.trimStart();
  if (trimmed.length === 0) {
    problems.push({ source: path, reason: 'empty file' });
    return [];
  }
  if (/\.(jsonl|ndjson)(\.gz)?$/i.test(path)) return parseJsonLines(text, path, problems);
  try {
    return recordsOf(JSON.parse(text), path, problems);
  } catch (error) {
    // Not one JSON document: JSON lines, if the first line parses on its own.
    const firstLine = trimmed.slice(0, trimmed.indexOf('\n') === -1 ? undefined : trimmed.indexOf('\n'));
    try {
      JSON.parse(firstLine);
      return parseJsonLines(text, path, problems);
    } catch {
      problems.push({ source: path, reason: `not JSON, JSON lines or a CloudTrail log file: ${(error as Error).message}` });
      return [];
    }
  }
}

