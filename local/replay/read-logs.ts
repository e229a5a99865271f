/**
 * Read recorded CloudTrail activity from files and directories (recursively, in name order), in
 * any shape `lambdas/shared/trail-records.ts` parses. A file that cannot be read is reported with
 * its location and reason; reading goes on. Symbolic links are followed once (a link back to a
 * directory being read is a loop, reported); files skipped for their name or type are listed.
 * Reading is bounded: a file, or what a gzip file expands to, above `maxFileBytes` is refused
 * with its reason rather than read into memory.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DEFAULT_MAX_FILE_BYTES, isGzip, parseLogText, type ReadProblem, type SourcedRecord } from '../../lambdas/shared/trail-records';

export { DEFAULT_MAX_FILE_BYTES, parseLogFile, parseLogText, type ReadProblem, type SourcedRecord } from '../../lambdas/shared/trail-records';

const gunzipAsync = promisify(gunzip);

/**
 * Files read and decompressed ahead of the one being worked on: the next always, and up to
 * PREFETCH_FILES while the files ahead of it hold at most PREFETCH_BYTES on disk. One is not
 * enough: the replay's work on a file runs in microtasks, so a read's steps (stat, read,
 * decompress) each wait for the file to be done with, and the replay then waited for the next
 * file (docs/performance.md measures it). The byte bound keeps memory bounded with large files.
 */
const PREFETCH_FILES = 4;
const PREFETCH_BYTES = 8 * 1024 * 1024;
const READABLE = /\.(json|jsonl|ndjson|json\.gz|jsonl\.gz|ndjson\.gz|gz)$/i;

export interface ReadOptions {
  /** @default DEFAULT_MAX_FILE_BYTES */
  readonly maxFileBytes?: number;
  /** Files not read for their name or type (and why), appended as they are found. */
  readonly skipped?: Array<{ path: string; reason: string }>;
}

/** A file to read, and its size on disk. */
interface Listed {
  readonly path: string;
  readonly bytes: number;
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
 * Every record under `paths`, file by file; problems are appended to `problems`. The next files
 * are read and decompressed while the caller works on the current one (PREFETCH_FILES).
 */
export async function* readRecords(paths: readonly string[], problems: ReadProblem[], options: ReadOptions = {}): AsyncGenerator<LogFile, void, void> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const files: Listed[] = [];
  for (const path of paths) files.push(...(await filesUnder(path, problems, options)));
  const queue: Array<{ file: Listed; loading: ReturnType<typeof load> }> = [];
  let queued = 0;
  let queuedBytes = 0;
  // The next file always; more while within PREFETCH_FILES and PREFETCH_BYTES.
  const readAhead = () => {
    while (queued < files.length && (queue.length === 0 || (queue.length < PREFETCH_FILES && queuedBytes + files[queued].bytes <= PREFETCH_BYTES))) {
      const file = files[queued++];
      queue.push({ file, loading: load(file.path, maxBytes) });
      queuedBytes += file.bytes;
    }
  };
  readAhead();
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
