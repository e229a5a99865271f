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
 * Symbolic links are followed once (a link back to a directory being read is a loop, reported);
 * files skipped for their name or type are listed. A UTF-8 byte order mark is not content.
 * Reading is bounded: a file, or what a gzip file expands to, above `maxFileBytes` is refused
 * with its reason rather than read into memory (a small gzip can expand a thousandfold).
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
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

/** Bytes of one file, or of what a gzip file expands to, read at most. @default 256 MiB */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

export interface ReadOptions {
  /** @default DEFAULT_MAX_FILE_BYTES */
  readonly maxFileBytes?: number;
  /** Files not read for their name or type (and why), appended as they are found. */
  readonly skipped?: Array<{ path: string; reason: string }>;
}
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

/** The files under `path`, in name order, each read once: links followed, loops and skipped entries reported. */
async function filesUnder(path: string, problems: ReadProblem[], options: ReadOptions, seen: Set<string> = new Set()): Promise<string[]> {
  let info;
  let real: string;
  try {
    info = await stat(path); // follows a link
    real = await realpath(path);
  } catch (error) {
    problems.push({ source: path, reason: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
    return [];
  }
  if (info.isFile()) {
    if (seen.has(real)) return [];
    seen.add(real);
    return [path];
  }
  if (!info.isDirectory()) {
    options.skipped?.push({ path, reason: 'not a file or directory' });
    return [];
  }
  if (seen.has(real)) {
    problems.push({ source: path, reason: `leads to ${real}, which is already read: not followed again (a link loop, or two links to one directory)` });
    return [];
  }
  seen.add(real);
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const out: string[] = [];
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory() || entry.isSymbolicLink()) {
      if (entry.isSymbolicLink()) {
        let target;
        try {
          target = await stat(child);
        } catch (error) {
          problems.push({ source: child, reason: `a link that leads nowhere (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
          continue;
        }
        if (target.isFile() && !READABLE.test(entry.name)) {
          options.skipped?.push({ path: child, reason: 'not a .json, .jsonl, .ndjson or .gz file' });
          continue;
        }
      }
      out.push(...(await filesUnder(child, problems, options, seen)));
    } else if (entry.isFile() && READABLE.test(entry.name)) out.push(...(await filesUnder(child, problems, options, seen)));
    else options.skipped?.push({ path: child, reason: entry.isFile() ? 'not a .json, .jsonl, .ndjson or .gz file' : 'not a file or directory' });
  }
  return out;
}

export interface LogFile {
  readonly path: string;
  /** Last modification time: a stable stand-in for "when it was received". */
  readonly modifiedMs: number;
  readonly records: SourcedRecord[];
}

const megabytes = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MiB`;

/** Read and decompress a file, within `maxBytes`; decompression runs on the libuv thread pool. */
async function load(file: string, maxBytes: number): Promise<{ text: string; modifiedMs: number } | { error: string }> {
  try {
    const info = await stat(file);
    if (info.size > maxBytes) return { error: `${megabytes(info.size)}, above the ${megabytes(maxBytes)} a file may hold (--max-file-mb)` };
    const bytes = await readFile(file);
    try {
      return { text: (isGzip(bytes) ? await gunzipAsync(bytes, { maxOutputLength: maxBytes }) : bytes).toString('utf8'), modifiedMs: info.mtimeMs };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { error: `expands to more than the ${megabytes(maxBytes)} a file may hold (--max-file-mb)` };
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
export async function* readRecords(paths: readonly string[], problems: ReadProblem[], options: ReadOptions = {}): AsyncGenerator<LogFile, void, void> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const files: string[] = [];
  for (const path of paths) files.push(...(await filesUnder(path, problems, options)));
  let next = files.length > 0 ? load(files[0], maxBytes) : undefined;
  for (let i = 0; i < files.length; i++) {
    const loaded = await next!;
    next = i + 1 < files.length ? load(files[i + 1], maxBytes) : undefined;
    if ('error' in loaded) {
      problems.push({ source: files[i], reason: loaded.error });
      continue;
    }
    yield { path: files[i], modifiedMs: loaded.modifiedMs, records: parseLogText(loaded.text, files[i], problems) };
  }
}
