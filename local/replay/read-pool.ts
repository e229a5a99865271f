/**
 * The replay's reading, on other cores: log files read, decompressed and parsed in worker threads
 * (`read-worker.ts`), each answering with the records the capture rules take and a summary of
 * the rest (`ReadFile`). On a real trail the capture rules take about one record in a hundred:
 * the replay's own thread then parses a hundredth of the text, and spends the rest of its time
 * on the records that matter. Files come back in name order whatever thread read them, read
 * ahead (`startAhead`, THREAD_AHEAD), and the directories are walked only that far ahead
 * (`walkLogFiles`). Without threads, or
 * without the compiled worker (under tsx and jest), or when a worker fails, the files are read in
 * this thread, with the same result: nothing is lost, the report is the same.
 */
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_MAX_FILE_BYTES, loadLogFile, parseLogText, partitionRecords, readRecords, startAhead, walkLogFiles, type ReadAhead, type ReadFile, type ReadOptions, type ReadProblem, type SourcedRecord, type Walked } from './read-logs';
import type { ReadAnswer, ReadJob } from './read-worker';
import type { CompiledRules } from '../../lambdas/shared/capture-rules';

export interface PartitionedReadOptions extends ReadOptions {
  /** The capture rules the files are split by (`partitionRecords`); undefined: every record is kept (and no thread pays). */
  readonly rules?: CompiledRules;
  /** Reading threads besides this one. @default 0 */
  readonly threads?: number;
  /** The compiled worker (`read-worker.js`). @default the one next to this module, if built */
  readonly workerScript?: string;
  /** Said once when a reading thread fails and its files are read in this thread. */
  readonly onWarning?: (message: string) => void;
  /** Told, once the first files are found (or none is), how many threads read them besides this one (0: this one alone). */
  readonly onThreads?: (threads: number) => void;
  /**
   * The ARNs of the principals watched now (`watchedArns`): a worker keeps their calls with the
   * records the rules take, so that the trail pass rarely reads a file again. Asked as each file
   * is sent; a new set object means it changed.
   */
  readonly watched?: () => ReadonlySet<string>;
}

/**
 * How far ahead the reading threads are sent files: up to 256 while they hold at most 1 MiB on
 * disk. A thread answers one job at a time (read-worker.ts), so what is sent ahead waits as a
 * path; what comes back ahead of its turn is the kept records' JSON and the callers. With
 * readRecords' 4 files, a thread on small files waited for the replay's thread, and the replay's
 * thread for it: an organization trail's files of a few records took 20 % longer
 * (docs/performance.md, "Sending small files further ahead"). The byte bound keeps large files
 * to a few ahead, as before.
 */
export const THREAD_AHEAD: ReadAhead = { files: 256, bytes: 1024 * 1024 };

/** Reading threads by default: one core is the replay's own; beyond two, this thread is the bottleneck (docs/performance.md). */
export function defaultReadThreads(): number {
  return Math.max(0, Math.min(2, availableParallelism() - 1));
}

/** The compiled worker next to the compiled CLI (dist/cli/read-worker.js), if there is one. */
export function compiledReadWorker(): string | undefined {
  const script = join(__dirname, 'read-worker.js');
  return existsSync(script) ? script : undefined;
}

/** Worker threads answering read jobs; a failed worker's files come back `undefined` (read them here). */
class ReadPool {
  private readonly workers = new Map<Worker, Map<number, (answer: ReadAnswer | undefined) => void>>();
  /** The watched set each worker was last sent. */
  private readonly sent = new Map<Worker, ReadonlySet<string>>();
  private nextId = 0;
  private warned = false;

  constructor(threads: number, script: string, rules: CompiledRules, private readonly onWarning?: (message: string) => void) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(script, { workerData: { rules: rules.map((r) => r.spec) } });
      const pending = new Map<number, (answer: ReadAnswer | undefined) => void>();
      this.workers.set(worker, pending);
      worker.on('message', (answer: ReadAnswer) => {
        pending.get(answer.id)?.(answer);
        pending.delete(answer.id);
      });
      worker.on('error', (error) => this.lose(worker, error.message));
      worker.on('exit', (code) => this.lose(worker, `exited with code ${code}`));
    }
  }

  /** A worker gone: its files are read in this thread, and it gets no more. */
  private lose(worker: Worker, reason: string) {
    const pending = this.workers.get(worker);
    if (!pending) return;
    this.workers.delete(worker);
    if (!this.warned) {
      this.warned = true;
      this.onWarning?.(`a reading thread failed (${reason}): its files are read in the main thread`);
    }
    for (const resolve of pending.values()) resolve(undefined);
  }

  /** The file read by the least busy worker; undefined when none is left. */
  read(path: string, maxBytes: number, watched: ReadonlySet<string>): Promise<ReadAnswer | undefined> {
    let chosen: [Worker, Map<number, (answer: ReadAnswer | undefined) => void>] | undefined;
    for (const entry of this.workers) if (!chosen || entry[1].size < chosen[1].size) chosen = entry;
    if (!chosen) return Promise.resolve(undefined);
    const [worker, pending] = chosen;
    const changed = this.sent.get(worker) !== watched;
    this.sent.set(worker, watched);
    const job: ReadJob = { id: this.nextId++, path, maxBytes, ...(changed ? { watched: [...watched] } : {}) };
    return new Promise((resolve) => {
      pending.set(job.id, resolve);
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    const workers = [...this.workers.keys()];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** A file read in this thread: every record, split as a worker splits them. */
async function readHere(path: string, maxBytes: number, rules: CompiledRules | undefined, problems: ReadProblem[]): Promise<ReadFile | undefined> {
  const loaded = await loadLogFile(path, maxBytes);
  if ('error' in loaded) {
    problems.push({ source: path, reason: loaded.error });
    return undefined;
  }
  const records = parseLogText(loaded.text, path, problems);
  return { path, modifiedMs: loaded.modifiedMs, records, ...partitionRecords(records, rules) };
}

/**
 * Every file under `paths` as the replay works on it (`ReadFile`), in name order, read by
 * `threads` worker threads when the compiled worker is there and rules are given; problems appended to `problems` as each file comes up, as `readRecords` does.
 */
export async function* readPartitioned(paths: readonly string[], problems: ReadProblem[], options: PartitionedReadOptions = {}): AsyncGenerator<ReadFile, void, void> {
  const { rules } = options;
  const noneWatched: ReadonlySet<string> = new Set();
  const threads = options.threads ?? 0;
  const script = options.workerScript ?? compiledReadWorker();
  if (threads <= 0 || !rules || !script) {
    options.onThreads?.(0);
    for await (const file of readRecords(paths, problems, options)) yield { path: file.path, modifiedMs: file.modifiedMs, records: file.records, ...partitionRecords(file.records, rules) };
    return;
  }
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // The walk up to the first `threads` files: no more threads than files (each costs a start,
  // about 20 ms, and a heap).
  const walk = walkLogFiles(paths, options);
  const first: Walked[] = [];
  let found = 0;
  while (found < threads) {
    const step = walk.next();
    if (step.done) break;
    first.push(step.value);
    if (!('problem' in step.value)) found++;
  }
  const walked = (function* () {
    yield* first;
    yield* walk;
  })();
  options.onThreads?.(Math.min(threads, found));
  if (found === 0) {
    for (const item of walked) if ('problem' in item) problems.push(item.problem);
    return;
  }
  const pool = new ReadPool(Math.min(threads, found), script, rules, options.onWarning);
  try {
    let told = false;
    for (const item of startAhead(walked, (file) => pool.read(file.path, maxBytes, options.watched?.() ?? noneWatched), THREAD_AHEAD)) {
      if ('problem' in item) {
        problems.push(item.problem);
        continue;
      }
      if (!told) {
        told = true;
        options.onFound?.();
      }
      const { file, started } = item;
      const answer = await started;
      if (!answer || 'fallback' in answer) {
        const here = await readHere(file.path, maxBytes, rules, problems);
        if (here) yield here;
      } else if ('error' in answer) {
        problems.push({ source: file.path, reason: answer.error });
      } else {
        problems.push(...answer.problems);
        yield {
          path: file.path,
          modifiedMs: answer.modifiedMs,
          count: answer.count,
          kept: JSON.parse(answer.keptText) as SourcedRecord[],
          keptBytes: answer.keptText.length,
          otherArns: answer.otherArns,
          ...(answer.newest !== undefined ? { newest: answer.newest } : {}),
        };
      }
    }
  } finally {
    walk.return();
    await pool.close();
  }
}

/** Every record of a file: those it was read with, or (read by a worker) the file read again in this thread, or why it cannot be. */
export async function allRecords(file: ReadFile, maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<SourcedRecord[] | { error: string }> {
  if (file.records) return file.records;
  const loaded = await loadLogFile(file.path, maxBytes);
  if ('error' in loaded) return loaded;
  return parseLogText(loaded.text, file.path, []);
}
