/**
 * Read recorded CloudTrail activity from files, whatever shape it was exported in:
 * - CloudTrail S3 log files: `{"Records":[...]}`, `.json` or `.json.gz`;
 * - JSON arrays of records or of EventBridge envelopes; a single record or envelope;
 * - JSON lines (`.jsonl`, `.ndjson`, or any file that is not one JSON document);
 * - `aws cloudtrail lookup-events` output: `{"Events":[{"CloudTrailEvent":"<json string>"}]}`;
 * - CloudTrail Lake query results: `{"QueryResultRows":[[{"eventJson":"<json string>"}]]}` or rows
 *   already flattened to objects with an `eventJson`/`CloudTrailEvent` string;
 * - directories of any of these (recursively, in name order).
 * A file or line that cannot be read is reported with its location and reason; reading goes on.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

export interface SourcedRecord {
  /** `path#index` (documents) or `path:line` (JSON lines). */
  readonly source: string;
  readonly value: unknown;
}

export interface ReadProblem {
  readonly source: string;
  readonly reason: string;
}

const READABLE = /\.(json|jsonl|ndjson|json\.gz|jsonl\.gz|ndjson\.gz|gz)$/i;
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

const isGzip = (bytes: Buffer) => bytes[0] === 0x1f && bytes[1] === 0x8b;

/** Parse one file's bytes (gzip recognized by its magic number, whatever the name says). */
export function parseLogFile(bytes: Buffer, path: string, problems: ReadProblem[]): SourcedRecord[] {
  let text: string;
  try {
    text = (isGzip(bytes) ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    problems.push({ source: path, reason: `cannot decompress: ${(error as Error).message}` });
    return [];
  }
  return parseLogText(text, path, problems);
}

/** Parse one file's text. */
export function parseLogText(text: string, path: string, problems: ReadProblem[]): SourcedRecord[] {
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

async function filesUnder(path: string, problems: ReadProblem[]): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    problems.push({ source: path, reason: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
    return [];
  }
  if (info.isFile()) return [path];
  if (!info.isDirectory()) {
    problems.push({ source: path, reason: 'not a file or directory' });
    return [];
  }
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const out: string[] = [];
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(child, problems)));
    else if (entry.isFile() && READABLE.test(entry.name)) out.push(child);
  }
  return out;
}

export interface LogFile {
  readonly path: string;
  /** Last modification time: a stable stand-in for "when it was received". */
  readonly modifiedMs: number;
  readonly records: SourcedRecord[];
}

/** Read and decompress a file; decompression runs on the libuv thread pool. */
async function load(file: string): Promise<{ text: string; modifiedMs: number } | { error: string }> {
  try {
    const [bytes, info] = await Promise.all([readFile(file), stat(file)]);
    try {
      return { text: (isGzip(bytes) ? await gunzipAsync(bytes) : bytes).toString('utf8'), modifiedMs: info.mtimeMs };
    } catch (error) {
      return { error: `cannot decompress: ${(error as Error).message}` };
    }
  } catch (error) {
    return { error: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
}

/**
 * Every record under `paths`, file by file; problems are appended to `problems`. The next file
 * is read and decompressed while the caller works on the current one.
 */
export async function* readRecords(paths: readonly string[], problems: ReadProblem[]): AsyncGenerator<LogFile, void, void> {
  const files: string[] = [];
  for (const path of paths) files.push(...(await filesUnder(path, problems)));
  let next = files.length > 0 ? load(files[0]) : undefined;
  for (let i = 0; i < files.length; i++) {
    const loaded = await next!;
    next = i + 1 < files.length ? load(files[i + 1]) : undefined;
    if ('error' in loaded) {
      problems.push({ source: files[i], reason: loaded.error });
      continue;
    }
    yield { path: files[i], modifiedMs: loaded.modifiedMs, records: parseLogText(loaded.text, files[i], problems) };
  }
}
