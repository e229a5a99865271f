/**
 * Read recorded CloudTrail activity from files and directories (recursively, in name order), in
 * any shape `lambdas/shared/trail-records.ts` parses. A file that cannot be read is reported with
 * its location and reason, where it stands among the files; reading goes on. Symbolic links are
 * followed once (a link back to a directory being read is a loop, reported); files skipped for
 * their name or type are listed. Directories are walked as the reading gets there, so what the
 * walk holds does not grow with the number of files. Reading is bounded: a file, or what a gzip
 * file expands to, above `maxFileBytes` is refused with its reason rather than read into memory.
 */
import { readdirSync, readFileSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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
  /** Told once, when the first file to read is found and its reading has started (the replay loads its store meanwhile). */
  readonly onFound?: () => void;
}

/** A file to read, and its size on disk. */
export interface Listed {
  readonly path: string;
  readonly bytes: number;
}

/** What walking the paths finds, in name order: a file to read, or a path that cannot be (reported where it stands). */
export type Walked = Listed | { readonly problem: ReadProblem };

/** A directory walked: done, or being walked (its entries in name order, and how far the walk has come). */
type DirectoryWalk = 'done' | { readonly entries: readonly Dirent[]; at: number };

const cannotRead = (source: string, error: unknown): { problem: ReadProblem } => ({ problem: { source, reason: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` } });

/**
 * The files under `paths`, in name order, each once, found as they are asked for: what it holds
 * grows with the directories and links, not with the files. A copy of a month of an organization
 * trail holds a file per account, region and five minutes (millions): a list of them all, built
 * first, cost about 160 B a file and, spread into one array, overflowed the stack at about
 * 125,000 files under one path. Links are followed once; a link back to a directory already
 * walked (a loop, or two links to one directory) is reported; skipped entries go to
 * `options.skipped`. Synchronous: each step is a stat of a file or a directory's listing.
 */
export function* walkLogFiles(paths: readonly string[], options: Pick<ReadOptions, 'skipped'> = {}): Generator<Walked, void, void> {
  // Directories by their real paths, and the real paths of the files listed by a link or named
  // in `paths`. A plain file of a directory walked by its real path is its real path: it can
  // come up again only by a link, or by being named, and `listedBefore` answers that from here.
  const directories = new Map<string, DirectoryWalk>();
  const linked = new Set<string>();
  /** Whether the file at `real` (a real path) was listed already: by a link or its name, or as a plain file its directory's walk has passed. */
  const listedBefore = (real: string): boolean => {
    if (linked.has(real)) return true;
    const walk = directories.get(dirname(real));
    const name = basename(real);
    if (!walk || !READABLE.test(name)) return false;
    if (walk === 'done') return true;
    const at = walk.entries.findIndex((e) => e.name === name);
    return at >= 0 && at < walk.at && walk.entries[at].isFile();
  };
  function* under(path: string): Generator<Walked, void, void> {
    let info;
    let real: string;
    try {
      info = statSync(path); // follows a link
      real = realpathSync(path);
    } catch (error) {
      yield cannotRead(path, error);
      return;
    }
    if (info.isFile()) {
      if (listedBefore(real)) return;
      linked.add(real);
      yield { path, bytes: info.size };
      return;
    }
    if (!info.isDirectory()) {
      options.skipped?.push({ path, reason: 'not a file or directory' });
      return;
    }
    if (directories.has(real)) {
      yield { problem: { source: path, reason: `leads to ${real}, which is already read: not followed again (a link loop, or two links to one directory)` } };
      return;
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch (error) {
      yield cannotRead(path, error);
      return;
    }
    const walk = { entries, at: 0 };
    directories.set(real, walk);
    for (; walk.at < entries.length; walk.at++) {
      const entry = entries[walk.at];
      const child = join(path, entry.name);
      if (entry.isFile() && READABLE.test(entry.name)) {
        // A plain file (no link): its real path is its directory's and its name. Its size by a
        // synchronous stat: two thread-pool trips per file, one after the other, took 60-90 ms
        // a thousand files where this takes 2-3 (docs/performance.md).
        if (linked.has(join(real, entry.name))) continue;
        let bytes: number;
        try {
          bytes = statSync(child).size;
        } catch (error) {
          yield cannotRead(child, error);
          continue;
        }
        yield { path: child, bytes };
        continue;
      }
      if (entry.isDirectory() || entry.isSymbolicLink()) {
        if (entry.isSymbolicLink()) {
          let target;
          try {
            target = statSync(child);
          } catch (error) {
            yield { problem: { source: child, reason: `a link that leads nowhere (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` } };
            continue;
          }
          if (target.isFile() && !READABLE.test(entry.name)) {
            options.skipped?.push({ path: child, reason: 'not a .json, .jsonl, .ndjson or .gz file' });
            continue;
          }
        }
        yield* under(child);
      } else options.skipped?.push({ path: child, reason: entry.isFile() ? 'not a .json, .jsonl, .ndjson or .gz file' : 'not a file or directory' });
    }
    // Its entries are let go: what stays is a mark per directory.
    directories.set(real, 'done');
  }
  for (const path of paths) yield* under(path);
}

/** The files under `paths` (`walkLogFiles`) as one list, problems appended to `problems`: for a few paths, such as a look-back's. */
export function listLogFiles(paths: readonly string[], problems: ReadProblem[], options: Pick<ReadOptions, 'skipped'> = {}): Listed[] {
  const files: Listed[] = [];
  for (const item of walkLogFiles(paths, options)) {
    if ('problem' in item) problems.push(item.problem);
    else files.push(item);
  }
  return files;
}

/** How far ahead files are started: at most `files` besides the one worked on, while they hold at most `bytes` on disk (the next always). */
export interface ReadAhead {
  readonly files: number;
  readonly bytes: number;
}

/**
 * The files `walked` finds, each started (`start`: a read, a job for a thread) ahead of its turn:
 * the next always, and more within `ahead` (by default PREFETCH_FILES and PREFETCH_BYTES).
 * Walking goes only as far as that. Problems come out where they stand, between the files.
 */
export function* startAhead<T>(
  walked: Iterable<Walked>,
  start: (file: Listed) => T,
  ahead: ReadAhead = { files: PREFETCH_FILES, bytes: PREFETCH_BYTES },
): Generator<{ readonly file: Listed; readonly started: T } | { readonly problem: ReadProblem }, void, void> {
  const walk = walked[Symbol.iterator]();
  let next = walk.next();
  const queue: Array<{ readonly file: Listed; readonly started: T } | { readonly problem: ReadProblem }> = [];
  let files = 0;
  let bytes = 0;
  const topUp = () => {
    for (; !next.done; next = walk.next()) {
      const item = next.value;
      if ('problem' in item) {
        queue.push(item);
        continue;
      }
      if (files > 0 && (files >= ahead.files || bytes + item.bytes > ahead.bytes)) return;
      queue.push({ file: item, started: start(item) });
      files++;
      bytes += item.bytes;
    }
  };
  try {
    topUp();
    while (queue.length > 0) {
      const head = queue.shift()!;
      if ('file' in head) {
        files--;
        bytes -= head.file.bytes;
      }
      topUp();
      yield head;
    }
  } finally {
    walk.return?.();
  }
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
  let found = false;
  for (const item of startAhead(walkLogFiles(paths, options), (file) => loadLogFile(file.path, maxBytes))) {
    if (!found && 'file' in item) {
      found = true;
      options.onFound?.();
    }
    if ('problem' in item) {
      problems.push(item.problem);
      continue;
    }
    const loaded = await item.started;
    const { path } = item.file;
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
