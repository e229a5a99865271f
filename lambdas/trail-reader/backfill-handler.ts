/**
 * History import worker: one batch of the backfill state machine's Distributed Map over the
 * trail's log objects (lib/constructs/history-import.ts). Each log file delivered in the run's
 * date range is read as the live trail reader reads it (files.ts) and every call the capture
 * rules match (their patterns and rule states: lambdas/shared/capture-rules.ts), or that a
 * watched principal made, goes to the classifier's capture queue as the envelope EventBridge
 * would have delivered. From there it is the live path: the same classifier, the same merges.
 *
 * Idempotent: every write downstream merges on the eventID, so a batch read twice (a retry, a
 * redriven run), a run over a range live capture already saw, or two overlapping runs change
 * nothing. A file that is not a log file, lies outside the range, or is gone is counted, not
 * retried; any other failure fails the batch, which the Map retries and, past its tolerated
 * failure percentage, fails the run (a redrive resumes it).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseLogFileKey, type LogFileKey, type TrailLocation } from '../core/trail';
import { watchedMatcher, type WatchedPrincipal } from '../shared/agent-capture';
import { compileRules, matchingRules } from '../shared/capture-rules';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { pool } from '../shared/pool';
import { readWatched } from '../shared/watched';
import { TRAIL_READER_ENVIRONMENT } from './environment';
import { createFileReader, Unreadable } from './files';

/** One batch of the Distributed Map: the listed objects (S3 ListObjectsV2 `Contents`) and the run's input. */
export interface BackfillBatch {
  readonly Items: ReadonlyArray<{ readonly Key: string; readonly Size?: number }>;
  readonly BatchInput: { readonly from: string; readonly to: string; readonly runId?: string };
}

export interface BackfillResult {
  /** Log files read. */
  readonly objects: number;
  /** Objects not read: not a log file (digests, Insights), outside the range, gone. */
  readonly skipped: number;
  readonly records: number;
  /** Records sent to the capture queue (the capture rules or a watched principal matched). */
  readonly matched: number;
  readonly bytes: number;
  /** Why objects were skipped, the first ten. */
  readonly notes: ReadonlyArray<{ readonly key: string; readonly reason: string }>;
}

export interface BackfillClients {
  readonly dynamodb: DynamoDBClient;
  readonly s3: Pick<S3Client, 'send'>;
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly watched: () => Promise<readonly WatchedPrincipal[]>;
}

export type BackfillHandler = Handler<BackfillBatch, BackfillResult>;

const FILES_AT_ONCE = 4;
const DAY_MS = 86_400_000;

/** The delivery window of a run: from the start of `from` to the end of `to` (UTC days, inclusive), as epoch ms. */
export function rangeOf(input: { from: string; to: string }): { since: number; until: number } {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (!day.test(input.from) || !day.test(input.to)) throw new Error(`from and to must be days (YYYY-MM-DD), got ${JSON.stringify([input.from, input.to])}`);
  const since = Date.parse(`${input.from}T00:00:00.000Z`);
  const until = Date.parse(`${input.to}T00:00:00.000Z`) + DAY_MS - 1;
  if (Number.isNaN(since) || Number.isNaN(until) || since > until) throw new Error(`not a date range: ${input.from} to ${input.to}`);
  return { since, until };
}

const backfill = defineHandler({
  environment: TRAIL_READER_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<BackfillClients>): BackfillHandler {
    const s3 = clients.s3 ?? new S3Client({ maxAttempts: 6 });
    const sqs = clients.sqs ?? new SQSClient({ maxAttempts: 6 });
    const documents = clients.watched ? undefined : documentClient(clients.dynamodb);
    const watched = clients.watched ?? (() => readWatched(documents!, env.TABLE_NAME));
    const location: TrailLocation = { bucket: env.TRAIL_BUCKET, prefix: env.TRAIL_PREFIX, ...(env.TRAIL_ORGANIZATION_ID ? { organizationId: env.TRAIL_ORGANIZATION_ID } : {}) };
    const { readFile } = createFileReader({ s3, sqs, queueUrl: env.CAPTURE_QUEUE_URL, bucket: location.bucket, maxBytes: Number(env.MAX_FILE_BYTES), logger, metrics });
    const rules = compileRules();

    return async (event) => {
      const { since, until } = rangeOf(event.BatchInput);
      const isWatched = watchedMatcher(await watched());
      const keep = (envelope: Record<string, unknown>) => matchingRules(envelope, rules).length > 0 || isWatched(envelope);
      const notes: Array<{ key: string; reason: string }> = [];
      const files: LogFileKey[] = [];
      for (const item of event.Items) {
        const parsed = parseLogFileKey(item.Key, location);
        if ('skip' in parsed) notes.push({ key: item.Key, reason: parsed.skip });
        else if (parsed.deliveredAt < since || parsed.deliveredAt > until) notes.push({ key: item.Key, reason: 'delivered outside the range' });
        else files.push(parsed);
      }
      const totals = { objects: 0, records: 0, matched: 0, bytes: 0 };
      await pool(files, FILES_AT_ONCE, async (file) => {
        try {
          const r = await readFile(file, keep);
          totals.objects++;
          totals.records += r.records;
          totals.matched += r.kept;
          totals.bytes += r.bytes;
        } catch (error) {
          if (!(error instanceof Unreadable)) throw error;
          notes.push({ key: file.key, reason: error.message });
        }
      });
      const result: BackfillResult = { ...totals, skipped: event.Items.length - totals.objects, notes: notes.slice(0, 10) };
      metrics.addMetric('BackfillObjectsRead', MetricUnit.Count, result.objects);
      metrics.addMetric('BackfillRecordsMatched', MetricUnit.Count, result.matched);
      logger.info('backfill batch read', { runId: event.BatchInput.runId, ...result, notes: undefined, skippedReasons: notes.length });
      return result;
    };
  },
});

/** The backfill worker with its environment and clients given (tests, the local emulation). */
export const createBackfillHandler = backfill.create;

/** The deployed entry point of the Distributed Map's ItemProcessor. */
export const handler = backfill.handler;
