/**
 * A reading thread of the replay (`read-pool.ts`): reads, decompresses and parses the log files
 * it is sent, and answers with what the replay needs of each (`ReadFile`): the records the capture
 * rules take (and the calls of the principals watched when it was sent), as one JSON text (a string crosses threads as a copy of its bytes; a parsed
 * record would be cloned node by node, at about twice the cost of parsing its text), and of the
 * others their count, their callers' ARNs and the newest event time. Built next to the compiled
 * CLI (scripts/build-cli.mjs: dist/cli/read-worker.js).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileRules, type CompiledRules } from '../../lambdas/shared/capture-rules';
import type { CaptureRuleSpec } from '../../lambdas/core/capture-patterns';
import { loadLogFileSync, parseLogText, partitionRecords, type ReadProblem } from './read-logs';

/** What the replay sends: a file to read, within a size; with the watched callers' ARNs when they changed since the last job. */
export interface ReadJob {
  readonly id: number;
  readonly path: string;
  readonly maxBytes: number;
  readonly watched?: readonly string[];
}

/** What it gets back: the file's reason for not being read, the file read, or `fallback` (read it in the replay's own thread). */
export type ReadAnswer =
  | { readonly id: number; readonly error: string }
  | { readonly id: number; readonly fallback: string }
  | {
      readonly id: number;
      readonly modifiedMs: number;
      readonly count: number;
      /** JSON of the kept records (`SourcedRecord[]`). */
      readonly keptText: string;
      readonly otherArns: readonly string[];
      readonly newest?: number;
      readonly problems: readonly ReadProblem[];
    };

/**
 * One job, start to end, in this thread (loadLogFileSync): jobs are answered one at a time, in
 * the order they came, so the thread holds one file's text and records at a time however many
 * the replay has sent ahead (read-pool.ts, THREAD_AHEAD).
 */
export function answer(job: ReadJob, rules: CompiledRules, watched: ReadonlySet<string>): ReadAnswer {
  const loaded = loadLogFileSync(job.path, job.maxBytes);
  if ('error' in loaded) return { id: job.id, error: loaded.error };
  const problems: ReadProblem[] = [];
  const { kept, ...rest } = partitionRecords(parseLogText(loaded.text, job.path, problems), rules, watched);
  let keptText: string;
  try {
    keptText = JSON.stringify(kept);
  } catch (error) {
    // A record nested too deeply to serialize: the replay reads the file itself and reports the record.
    return { id: job.id, fallback: (error as Error).message };
  }
  return { id: job.id, modifiedMs: loaded.modifiedMs, keptText, problems, ...rest };
}

if (parentPort) {
  const port = parentPort;
  // The replay's own capture rules, compiled here as there (compileRules is deterministic).
  const rules = compileRules((workerData as { rules: CaptureRuleSpec[] }).rules);
  let watched: ReadonlySet<string> = new Set();
  port.on('message', (job: ReadJob) => {
    // Jobs arrive in order; each is read with the callers watched when it was sent.
    if (job.watched) watched = new Set(job.watched);
    let reply: ReadAnswer;
    try {
      reply = answer(job, rules, watched);
    } catch (error) {
      reply = { id: job.id, fallback: (error as Error).message };
    }
    port.postMessage(reply);
  });
}
