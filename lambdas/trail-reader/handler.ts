/**
 * Trail reader Lambda: the organization-wide way an agent's ledger is complete from its first
 * action (docs/agents.md, "Across the organization").
 *
 * The trail's bucket notifies a queue of each delivered log file. The reader reads the file and
 * sends every call of a watched principal to the classifier's capture queue, as the EventBridge
 * envelope an agent capture rule would deliver, whatever the account, region or service, data
 * events included where the trail logs them. Because CloudTrail delivers a file minutes after its
 * calls, the identifying event (an AI call, captured in seconds through EventBridge) has usually
 * been classified before the file arrives, and the principal's calls *before* it in the same file
 * are kept too. A principal watched later (behaviour, a later file) gets a look-back: its
 * `Principal Watched` event reaches the same queue, and the reader searches the files delivered
 * in the last `LOOK_BACK_MINUTES`, in every region of its account, for its calls.
 *
 * Every write downstream is idempotent on the eventID: a file read twice, a look-back over files
 * already read, and an AI call that also came through a capture rule change nothing.
 *
 * Messages fail alone (partial batch responses) and come back; a notification of another bucket,
 * a file that is not a log file and a file above the size bound are reported and not retried.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { accountOfPrincipal, lookBackListings, parseLogFileKey, regionsFolder, type LogFileKey, type TrailLocation } from '../core/trail';
import { watchedMatcher, type WatchedPrincipal } from '../shared/agent-capture';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { pool } from '../shared/pool';
import { readWatched } from '../shared/watched';
import { requestOf, type LookBackRequest, type S3Object } from './read';
import { createFileReader, Unreadable } from './files';
import { TRAIL_READER_ENVIRONMENT } from './environment';

export interface TrailReaderClients {
  readonly dynamodb: DynamoDBClient;
  readonly s3: Pick<S3Client, 'send'>;
  readonly sqs: Pick<SQSClient, 'send'>;
  /** The watched principals. @default read from the table's byKind index */
  readonly watched: () => Promise<readonly WatchedPrincipal[]>;
  readonly now: () => number;
}

export type TrailReaderHandler = Handler<SQSEvent, SQSBatchResponse>;

/** Log files read at once. */
const FILES_AT_ONCE = 4;
const reader = defineHandler({
  environment: TRAIL_READER_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<TrailReaderClients>): TrailReaderHandler {
    const s3 = clients.s3 ?? new S3Client({ maxAttempts: 6 });
    const sqs = clients.sqs ?? new SQSClient({ maxAttempts: 6 });
    const documents = clients.watched ? undefined : documentClient(clients.dynamodb);
    const watched = clients.watched ?? (() => readWatched(documents!, env.TABLE_NAME));
    const now = clients.now ?? Date.now;
    const location: TrailLocation = { bucket: env.TRAIL_BUCKET, prefix: env.TRAIL_PREFIX, ...(env.TRAIL_ORGANIZATION_ID ? { organizationId: env.TRAIL_ORGANIZATION_ID } : {}) };
    const lookBackMs = Number(env.LOOK_BACK_MINUTES) * 60_000;
    const maxBytes = Number(env.MAX_FILE_BYTES);

    const { readFile } = createFileReader({ s3, sqs, queueUrl: env.CAPTURE_QUEUE_URL, bucket: location.bucket, maxBytes, logger, metrics });

    /** The log files of an account delivered in [since, until], in every region it has files in. */
    const filesSince = async (account: string, since: number, until: number): Promise<LogFileKey[]> => {
      const regions: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: regionsFolder(location, account), Delimiter: '/', ContinuationToken: token }));
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) regions.push(p.Prefix.slice(regionsFolder(location, account).length).replace(/\/$/, ''));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      const files: LogFileKey[] = [];
      for (const listing of lookBackListings(location, account, regions, since, until)) {
        let next: string | undefined;
        do {
          const page = await s3.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: listing.prefix, StartAfter: listing.startAfter, ContinuationToken: next }));
          for (const o of page.Contents ?? []) {
            const parsed = o.Key ? parseLogFileKey(o.Key, location) : undefined;
            if (parsed && 'deliveredAt' in parsed && parsed.deliveredAt >= since - 60_000 && parsed.deliveredAt <= until) files.push(parsed);
          }
          next = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (next);
      }
      return files;
    };

    const readDelivered = async (files: readonly S3Object[], keep: (e: Record<string, unknown>) => boolean): Promise<{ files: number; records: number; kept: number }> => {
      const logFiles: LogFileKey[] = [];
      for (const file of files) {
        if (file.bucket !== location.bucket) throw new Unreadable(`a notification of bucket ${file.bucket}, not the trail's (${location.bucket})`);
        const parsed = parseLogFileKey(file.key, location);
        if ('skip' in parsed) {
          logger.debug('not a log file to read', { key: file.key, reason: parsed.skip });
          continue;
        }
        logFiles.push(parsed);
      }
      const totals = { files: 0, records: 0, kept: 0 };
      await pool(logFiles, FILES_AT_ONCE, async (file) => {
        const r = await readFile(file, keep);
        totals.files++;
        totals.records += r.records;
        totals.kept += r.kept;
      });
      return totals;
    };

    const lookBack = async (request: LookBackRequest): Promise<{ files: number; records: number; kept: number }> => {
      const account = accountOfPrincipal(request.principal);
      if (!account) throw new Unreadable(`not an IAM or STS principal: ${request.principal}`);
      const until = now();
      const files = await filesSince(account, request.watchedAt - lookBackMs, until);
      const totals = { files: 0, records: 0, kept: 0 };
      const keep = watchedMatcher([{ principal: request.principal, ...(request.iamArn ? { iamArn: request.iamArn } : {}) }]);
      await pool(files, FILES_AT_ONCE, async (file) => {
        try {
          const r = await readFile(file, keep);
          totals.files++;
          totals.records += r.records;
          totals.kept += r.kept;
        } catch (error) {
          if (!(error instanceof Unreadable)) throw error;
          logger.warn('a file of the look-back not read', { key: file.key, reason: error.message });
        }
      });
      logger.info('look-back done', { principal: request.principal, since: new Date(request.watchedAt - lookBackMs).toISOString(), ...totals });
      return totals;
    };

    return async (event) => {
      const failures: Array<{ itemIdentifier: string }> = [];
      let keepWatched: ((e: Record<string, unknown>) => boolean) | undefined;
      const totals = { files: 0, records: 0, kept: 0, lookBacks: 0 };
      for (const record of event.Records) {
        const request = requestOf(record.body);
        try {
          if (request.kind === 'ignore') continue;
          if (request.kind === 'refuse') throw new Unreadable(request.reason);
          let r: { files: number; records: number; kept: number };
          if (request.kind === 'look-back') {
            r = await lookBack(request.request);
            totals.lookBacks++;
          } else {
            // The watched set once a batch: a principal watched while it runs is found by its look-back.
            keepWatched ??= watchedMatcher(await watched());
            r = await readDelivered(request.files, keepWatched);
          }
          totals.files += r.files;
          totals.records += r.records;
          totals.kept += r.kept;
        } catch (error) {
          if (error instanceof Unreadable) {
            logger.error('message not read, and not retried', { messageId: record.messageId, reason: error.message });
            metrics.addMetric('TrailMessagesRefused', MetricUnit.Count, 1);
            continue;
          }
          logger.error('message not read; it comes back', { messageId: record.messageId, error: String(error) });
          failures.push({ itemIdentifier: record.messageId });
        }
      }
      metrics.addMetric('TrailFilesRead', MetricUnit.Count, totals.files);
      metrics.addMetric('TrailRecordsRead', MetricUnit.Count, totals.records);
      metrics.addMetric('TrailRecordsKept', MetricUnit.Count, totals.kept);
      if (totals.lookBacks) metrics.addMetric('TrailLookBacks', MetricUnit.Count, totals.lookBacks);
      logger.info('batch read', { ...totals, failed: failures.length });
      return { batchItemFailures: failures };
    };
  },
});

/** The reader with its environment and clients given (tests). */
export const createTrailReaderHandler = reader.create;

/** The deployed entry point. */
export const handler = reader.handler;
