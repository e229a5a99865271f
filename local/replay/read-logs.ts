/**
 * Read recorded CloudTrail activity from files and directories (recursively, in name order), in
 * any shape `lambdas/shared/trail-records.ts` parses. A file that cannot be read is reported with
 * its location and reason; reading goes on. Symbolic links are followed once (a link back to a
 * directory being read is a loop, reported); files skipped for their name or type are listed.
 * Reading is bounded: a file, or what a gzip file expands to, above `maxFileBytes` is refused
 * with its reason rather than read into memory.
 */
import { readFileSync, statSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { DEFAULT_MAX_FILE_BYTES, isGzip, parseLogText, type ReadProblem, type SourcedRecord } from '../../lambdas/shared/trail-records';
import { callerArns } from '../../lambdas/shared/agent-capture';
import { captureOf, type CompiledRules } from '../../lambdas/shared/capture-rules';

export { DEFAULT_MAX_FILE_BYTES, parseLogFile, parseLogText, type ReadProblem, type SourcedRecord } from '../../lambdas/shared/trail-records';

const gunzipAsync = promisify(gunzip);

/**
 * Files read and decompressed ahead of the one being worked on: the next always, and up to
 * PREFETCH_FILES while the files ahead of it hold at most PREFETCH_BYTES on disk. One is not
 * enough: the replay's work on a file runs in microtasks, so a read's steps (stat, read,
 * decompress) each wait for the file to be done with, and the replay then waited for the next
 * file (docs/performance.md measures it). The byte bound keeps memory bounded with large files.
 */
export const PREFETCH_FILES = 4;
export const PREFETCH_BYTES = 8 * 1024 * 1024;
const READABLE = /\.(json|jsonl|ndjson|json\.gz|jsonl\.gz|ndjson\.gz|gz)$/i;

export interface ReadOptions {
  /** @default DEFAULT_MAX_FILE_BYTES */
  readonly maxFileBytes?: number;
  /** Files not read for their name or type (and why), appended as they are found. */
  readonly skipped?: Array<{ path: string; reason: string }>;
  /** Told how many files there are to read, once they are listed and while the first is read. */
  readonly onListed?: (files: number) => void;
}

/** A file to read, and its size on disk. */
export interface Listed {
  readonly path: string;
  readonly bytes: number;
}

/** The files under `paths`, in name order, each once; problems appended to `problems`, skipped files to `options.skipped`. */
export async function listLogFiles(paths: readonly string[], problems: ReadProblem[], options: ReadOptions = {}): Promise<Listed[]> {
  const files: Listed[] = [];
  for (const path of paths) files.push(...(await filesUnder(path, problems, options)));
  return files;
}

/** The files under `path`, in name order, each read once: links followed, loops and skipped entries reported. */
async function filesUnder(path: string, problems: ReadProblem[], options: ReadOptions, seen: Set<string> = new Set()): Promise<Listed[]> {
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
    return [{ path, bytes: info.size }];
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
  const out: Listed[] = [];
  let listed = 0;
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isFile() && READABLE.test(entry.name)) {
      // A plain file (no link) of a directory listed once by its real path: its own real path is
      // that path and its name, and it cannot come up twice except through a link, whose real
      // path this matches. Its size by a synchronous stat: an organization trail's copy holds a
      // file per account, region and five minutes, and two thread-pool trips per file, one after
      // the other, took 60-90 ms a thousand files where this takes 2-3 (docs/performance.md).
      const fileReal = join(real, entry.name);
      if (seen.has(fileReal)) continue;
      let bytes: number;
      try {
        bytes = statSync(child).size;
      } catch (error) {
        problems.push({ source: child, reason: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
        continue;
      }
      seen.add(fileReal);
      out.push({ path: child, bytes });
      // Let timers (the progress line) and other work run while a large directory is listed.
      if (++listed % 1_000 === 0) await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
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
    } else options.skipped?.push({ path: child, reason: entry.isFile() ? 'not a .json, .jsonl, .ndjson or .gz file' : 'not a file or directory' });
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

export type LoadedLogFile = { text: string; modifiedMs: number } | { error: string };
const tooLarge = (size: number, maxBytes: number) => ({ error: `${megabytes(size)}, above the ${megabytes(maxBytes)} a file may hold (--max-file-mb)` });
const notDecompressed = (error: unknown, maxBytes: number) =>
  (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? { error: `expands to more than the ${megabytes(maxBytes)} a file may hold (--max-file-mb)` } : { error: `cannot decompress: ${(error as Error).message}` };
const notRead = (error: unknown) => ({ error: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });

/** Read and decompress a file, within `maxBytes`; decompression runs on the libuv thread pool. */
export async function loadLogFile(file: string, maxBytes: number): Promise<LoadedLogFile> {
  try {
    const info = await stat(file);
    if (info.size > maxBytes) return tooLarge(info.size, maxBytes);
    const bytes = await readFile(file);
    try {
      return { text: (isGzip(bytes) ? await gunzipAsync(bytes, { maxOutputLength: maxBytes }) : bytes).toString('utf8'), modifiedMs: info.mtimeMs };
    } catch (error) {
      return notDecompressed(error, maxBytes);
    }
  } catch (error) {
    return notRead(error);
  }
}

/**
 * `loadLogFile` in the calling thread, blocking it: for a reading thread (read-worker.ts), which
 * has nothing else to do. No thread-pool trips (a small file took five, each a wait), no
 * decompression competing with the replay's thread for the cores, and one file in memory at a
 * time. The same answers and the same reasons.
 */
export function loadLogFileSync(file: string, maxBytes: number): LoadedLogFile {
  try {
    const info = statSync(file);
    if (info.size > maxBytes) return tooLarge(info.size, maxBytes);
    const bytes = readFileSync(file);
    try {
      return { text: (isGzip(bytes) ? gunzipSync(bytes, { maxOutputLength: maxBytes }) : bytes).toString('utf8'), modifiedMs: info.mtimeMs };
    } catch (error) {
      return notDecompressed(error, maxBytes);
    }
  } catch (error) {
    return notRead(error);
  }
}

/**
 * Every record under `paths`, file by file; problems are appended to `problems`. The next files
 * are read and decompressed while the caller works on the current one (PREFETCH_FILES).
 */
export async function* readRecords(paths: readonly string[], problems: ReadProblem[], options: ReadOptions = {}): AsyncGenerator<LogFile, void, void> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const files = await listLogFiles(paths, problems, options);
  const queue: Array<{ file: Listed; loading: ReturnType<typeof loadLogFile> }> = [];
  let queued = 0;
  let queuedBytes = 0;
  // The next file always; more while within PREFETCH_FILES and PREFETCH_BYTES.
  const readAhead = () => {
    while (queued < files.length && (queue.length === 0 || (queue.length < PREFETCH_FILES && queuedBytes + files[queued].bytes <= PREFETCH_BYTES))) {
      const file = files[queued++];
      queue.push({ file, loading: loadLogFile(file.path, maxBytes) });
      queuedBytes += file.bytes;
    }
  };
  readAhead();
  options.onListed?.(files.length);
  while (queue.length > 0) {
    const { file, loading } = queue.shift()!;
    queuedBytes -= file.bytes;
    readAhead();
    const loaded = await loading;
    const { path } = file;
    if ('error' in loaded) {
      problems.push({ source: path, reason: loaded.error });
      continue;
    }
    yield { path, modifiedMs: loaded.modifiedMs, records: parseLogText(loaded.text, path, problems) };
  }
}

/**
 * A log file as the replay works on it: the records a capture rule takes, in full, and of the
 * others only what a later pass can need. `kept` holds, in file order, every value the capture
 * rules take, every value that is no CloudTrail record (the replay reports it: `captureOf`), and
 * the calls of the principals watched when the file was read. The others reach no capture rule;
 * the trail reader's pass can still keep one, but only a call by a watched principal
 * (`callerArns`), so their callers' ARNs are kept: a principal watched since then may need the
 * file read again.
 */
export interface ReadFile {
  readonly path: string;
  readonly modifiedMs: number;
  /** Records in the file. */
  readonly count: number;
  readonly kept: SourcedRecord[];
  /** The distinct caller ARNs of the records not kept. */
  readonly otherArns: readonly string[];
  /** The newest `eventTime` among the file's records (epoch ms), if any has one. */
  readonly newest?: number;
  /** Every record, when the file was read in this thread (else read it again: `loadLogFile`). */
  readonly records?: SourcedRecord[];
  /** The length of the kept records' JSON text, when a reading thread read the file (the look-back holds them within a bound: look-back.ts). */
  readonly keptBytes?: number;
}

/** The time of a record's `eventTime`, in epoch ms, where it is a date. */
export function eventTimeOf(value: unknown): number | undefined {
  const t = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).eventTime : undefined;
  const ms = typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether no capture rule takes a value (what cannot be judged is kept: the replay reports it). */
function setAside(value: unknown, rules: CompiledRules): boolean {
  try {
    return captureOf(value, rules).kind === 'not-matched';
  } catch {
    return false;
  }
}

/**
 * A file's records split for the replay (`ReadFile`) by the capture rules, keeping the calls of
 * the `watched` callers too; with no rules given (they change as the replay goes), every record
 * is kept.
 */
export function partitionRecords(records: SourcedRecord[], rules: CompiledRules | undefined, watched: ReadonlySet<string> = new Set()): Pick<ReadFile, 'count' | 'kept' | 'otherArns' | 'newest'> {
  let newest: number | undefined;
  const arns = new Set<string>();
  const kept: SourcedRecord[] = rules ? [] : records;
  for (const record of records) {
    const { value } = record;
    const t = eventTimeOf(value);
    if (t !== undefined && (newest === undefined || t > newest)) newest = t;
    if (!rules) continue;
    if (setAside(value, rules)) {
      const callers = callerArns(value);
      if (callers.some((arn) => watched.has(arn))) kept.push(record);
      else for (const arn of callers) arns.add(arn);
    } else {
      kept.push(record);
    }
  }
  return { count: records.length, kept, otherArns: [...arns], ...(newest !== undefined ? { newest } : {}) };
}
