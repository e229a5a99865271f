/**
 * The local replay: recorded CloudTrail activity through the deployed pipeline, on a laptop.
 *
 *   files -> records -> EventBridge envelope -> capture rules (the stack's own patterns)
 *         -> SQS-shaped batches -> the classifier Lambda's own handler -> dynalite -> report
 *
 * Batches have at most the size the deployed event source mapping uses and never span two log
 * files; messages the handler reports as failed are redelivered like SQS would, and after the
 * last delivery they are reported the way the dead-letter queue would hold them. After each
 * delivery the watched principals are read again, and their calls are kept the way the chosen
 * mechanism keeps them (docs/agents.md):
 * - `trail` (the default, as the trail reader does deployed): once a file's captured calls are
 *   delivered, the file is read again for the calls of every watched principal, before and after
 *   the call that identified it; a principal watched for the first time also gets a look-back
 *   over the files of the last `lookBackMinutes` (their newest record's time);
 * - `rules` (the agent capture rules): a principal's calls are matched from the next file on.
 * Nothing is silently dropped: every record is counted as matched or not, and every problem
 * lands in the report's quarantine.
 */
import type { SQSRecord } from 'aws-lambda';
import type { ClassifierHandler } from '../../lambdas/classifier/handler';
import { CLASSIFIER_BATCH_SIZE } from '../../lambdas/core/defaults';
import { agentCaptureRules, watchedArns, watchedMatcher, type WatchedPrincipal } from '../../lambdas/shared/agent-capture';
import { DEFAULT_TRAIL_LOOK_BACK_MINUTES } from '../../lambdas/core/defaults';
import type { CaptureRuleSpec } from '../../lib/capture/patterns';
import { captureOf, compileRules, toEnvelope, type CompiledRules } from './event-bus';
import type { SourcedRecord } from './read-logs';
import type { LocalDynamoDb, Transport } from './local-dynamodb';
import { clearStore } from './store-files';
import type { ReadFile, ReadProblem } from './read-logs';
import { EarlierFiles, lookBackRecords } from './look-back';
import { allRecords, defaultReadThreads, readPartitioned } from './read-pool';
import { buildReport, scanTable, type ReplayReport, type ReplayRun, type ReplayStats } from './report';
import { lambdaContext, sqsRecord } from './lambda-shapes';
import type { OutcomeTally } from '../handlers';
import { LOCAL_TABLE_NAME } from '../names';
import type { FindingNotification } from '../../lambdas/core/notifications';
import { OWNER_TAG_KEY } from '../../lambdas/core/constants';
import { buildDigests, type Digest } from '../../lambdas/digest/digest';

export interface ReplayProgress {
  readonly records: number;
  readonly matched: number;
  readonly files: number;
}

export interface ReplayOptions {
  /**
   * Directory of the embedded DynamoDB's files: the table outlives the run, for the `agent`
   * command. Each replay starts from an empty table. @default in memory
   */
  readonly storePath?: string;
  /**
   * How the handlers reach the embedded DynamoDB: dynalite called in this process, or its server
   * over loopback HTTP through the AWS SDK (the same store and the same answers, the SDK's whole
   * path at about ten times the cost; the identity test runs both). @default 'in-process'
   */
  readonly transport?: Transport;
  /** Messages per handler invocation (default: the deployed batch size). */
  readonly batchSize?: number;
  /** Deliveries before a failing message counts as dead-lettered (SQS maxReceiveCount). */
  readonly maxDeliveries?: number;
  readonly onProgress?: (progress: ReplayProgress) => void;
  readonly logLevel?: string;
  /** Run the change feed over the table's changes (the report's `events`). @default true; the benchmark turns it off to measure it */
  readonly changeFeed?: boolean;
  /** Bytes a file, or what a gzip file expands to, may hold. @default DEFAULT_MAX_FILE_BYTES */
  readonly maxFileBytes?: number;
  /** Files not read for their name or type, appended as they are found. */
  readonly skipped?: Array<{ path: string; reason: string }>;
  /** Run the notifier over the replay's findings and hand it what it would publish (after dedup). @default not run */
  readonly notify?: (notification: FindingNotification) => void;
  /** Build the digest of the replayed period (the notifier runs first, for its held-back counts). @default not built */
  readonly digest?: boolean;
  /** Run the Security Hub exporter over the replay's events and hand it each BatchImportFindings batch it would send. @default not run */
  readonly securityHubBatch?: (findings: ReadonlyArray<Record<string, unknown>>) => void;
  /** How watched principals' calls are kept: as the trail reader keeps them, or as the agent capture rules do. @default 'trail' */
  readonly agentCapture?: 'trail' | 'rules';
  /** The trail reader's look-back, in minutes of record time. @default DEFAULT_TRAIL_LOOK_BACK_MINUTES */
  readonly lookBackMinutes?: number;
  /**
   * Threads that read, decompress and parse the files besides the replay's own (read-pool.ts), in
   * trail mode; 0 reads in this thread. They need the compiled worker: under tsx the files are read
   * in this thread. @default defaultReadThreads(): the cores less one, at most two
   */
  readonly readThreads?: number;
  /** The compiled reading worker. @default dist/cli/read-worker.js next to the compiled CLI */
  readonly readWorker?: string;
  /** Told what did not go as asked and was done another way (a reading thread that failed). */
  readonly onWarning?: (message: string) => void;
  /** Told how many threads read the files besides the replay's own (0: it reads them itself). */
  readonly onReadThreads?: (threads: number) => void;
}

/** The replay's report, with the digest when asked for. */
export type ReplayResult = ReplayReport & { digest?: { everything: Digest; byOwner: Digest[] } };

/** The replayed period: from the earliest resource, finding or quarantined record to just after the latest. */
function periodOf(items: readonly Record<string, unknown>[]): { since: string; until: string } {
  const times = items.flatMap((i) => [i.firstSeen, i.time, i.lastSeen, i.receivedAt].filter((t): t is string => typeof t === 'string' && /^\d{4}-\d\d-\d\dT/.test(t)));
  if (times.length === 0) return { since: new Date(0).toISOString(), until: new Date(0).toISOString() };
  times.sort();
  return { since: times[0], until: new Date(Date.parse(times[times.length - 1]) + 1).toISOString() };
}

interface Pending {
  readonly record: SQSRecord;
  deliveries: number;
}

export interface ReplayTarget {
    handler: ClassifierHandler;
    rules?: CompiledRules;
    /** The watched principals, read after each batch: the agent capture rules follow them, as the sync function makes them do when deployed. */
    watched?: () => Promise<readonly WatchedPrincipal[]>;
    /** The lineage work the batches queued, run to completion after each delivery. */
    lineage?: { drain(): Promise<ReadProblem[]> };
    /** The table changes the delivery made, turned into domain events after it (and its lineage work). */
    changeFeed?: { drain(): Promise<ReadProblem[]> };
    /** Where the classifier said each message ended: the stats count from it. */
    tally?: OutcomeTally;
}

/**
 * Replay into an existing local table with a loaded handler, or one made when the first batch
 * is delivered (`target` a function: nothing is started for input that no rule takes). `prepare`
 * is called once there are files to read, before the first is read: what the target will need can
 * load while the first file is read (in a worker). Returns the counts.
 */
export async function replayInto(paths: readonly string[], target: ReplayTarget | (() => Promise<ReplayTarget>), options: ReplayOptions = {}, prepare?: () => void): Promise<ReplayRun> {
  let resolved: ReplayTarget | undefined = typeof target === 'function' ? undefined : target;
  const use = async (): Promise<ReplayTarget> => (resolved ??= await (target as () => Promise<ReplayTarget>)());
  const hasWatched = typeof target === 'function' || Boolean(target.watched);
  const baseRules = (typeof target === 'function' ? undefined : target.rules) ?? compileRules();
  const mode = options.agentCapture ?? 'trail';
  const lookBackMs = (options.lookBackMinutes ?? DEFAULT_TRAIL_LOOK_BACK_MINUTES) * 60_000;
  let rules: CompiledRules = baseRules;
  let watchedKey = '';
  let watchedNow: readonly WatchedPrincipal[] = [];
  /** Their ARNs, a new set each time they change: the reading threads keep their calls (read-pool.ts). */
  let watchedNowArns: ReadonlySet<string> = new Set();
  /** The trail pass's matcher of their calls, made once each time they change (its patterns cost a build per principal). */
  let watchedNowMatcher: ((envelope: Record<string, unknown>) => boolean) | undefined;
  const matchWatchedNow = () => (watchedNowMatcher ??= watchedMatcher(watchedNow));
  const followWatched = async () => {
    // Nobody is watched before the first delivery.
    if (!resolved?.watched) return;
    const watched = await resolved.watched();
    const key = watched.map((w) => `${w.principal} ${w.iamArn ?? ''} ${w.reason ?? ''}`).sort().join('\n');
    if (key === watchedKey) return;
    watchedKey = key;
    watchedNow = watched;
    watchedNowArns = watchedArns(watched);
    watchedNowMatcher = undefined;
    if (mode === 'trail') return;
    const agentRules: CaptureRuleSpec[] = agentCaptureRules(watched).map((r) => ({ id: r.name, description: r.description, includeReadOnlyManagementEvents: true, pattern: r.pattern }));
    rules = agentRules.length ? compileRules([...baseRules.map((r) => r.spec), ...agentRules]) : baseRules;
  };
  await followWatched();
  const batchSize = options.batchSize ?? CLASSIFIER_BATCH_SIZE;
  const maxDeliveries = options.maxDeliveries ?? 3;
  const problems: ReadProblem[] = [];
  const stats: ReplayStats = { records: 0, matched: 0, notMatched: 0, classified: 0, ignored: 0, quarantined: 0, problems: 0, files: 0 };
  let recordProblems = 0;
  let batch: Pending[] = [];
  let deadLettered = 0;

  const deliver = async (pending: Pending[]) => {
    let queue = pending;
    while (queue.length > 0) {
      // SQS counts deliveries in ApproximateReceiveCount: the handler reads it.
      const records = queue.map((p) => ({ ...p.record, attributes: { ...p.record.attributes, ApproximateReceiveCount: String(p.deliveries + 1) } }));
      const response = await (await use()).handler({ Records: records }, lambdaContext());
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const retry: Pending[] = [];
      for (const p of queue) {
        if (!failed.has(p.record.messageId)) continue;
        p.deliveries++;
        if (p.deliveries >= maxDeliveries) {
          deadLettered++;
          recordProblems++;
          problems.push({ source: p.record.messageId, reason: `not written after ${maxDeliveries} deliveries (deployed: moved to the dead-letter queue)` });
        } else {
          retry.push(p);
        }
      }
      queue = retry;
    }
    if (resolved?.lineage) problems.push(...(await resolved.lineage.drain()));
    if (resolved?.changeFeed) problems.push(...(await resolved.changeFeed.drain()));
    await followWatched();
  };

  /** Agents the trail reader has looked back for (their key: principal and IAM ARN). */
  const searched = new Set<string>();
  const keyOf = (w: WatchedPrincipal) => `${w.principal} ${w.iamArn ?? ''}`;
  /** Records the trail pass delivered, and records it moved from not matched to matched. */
  const keptByTrail = new Set<string>();
  const counted = new Set<string>();
  /** Files read so far and the time of their newest record, with what is held of them: the look-back's candidates. */
  const earlier = new EarlierFiles();
  const none = () => false;

  /**
   * The trail reader's pass over a file: the calls of watched principals (`watched`) that the
   * capture rules did not take, and every call of the agents it looks back for (`fresh`), captured
   * or not: a call delivered before its principal was known to be an agent is not in its ledger.
   */
  const trailPass = async (records: readonly SourcedRecord[], watched: (e: Record<string, unknown>) => boolean, fresh: (e: Record<string, unknown>) => boolean, fileModifiedMs: number) => {
    for (const { source, value } of records) {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as Record<string, unknown>).eventSource !== 'string') continue;
      const envelope = toEnvelope(value as Record<string, unknown>);
      const isFresh = fresh(envelope);
      if (!isFresh && (keptByTrail.has(source) || !watched(envelope))) continue;
      const captured = messageOf(value, baseRules, fileModifiedMs).kind !== 'not-matched';
      if (captured && !isFresh) continue;
      keptByTrail.add(source);
      if (!captured && !counted.has(source)) {
        counted.add(source);
        stats.notMatched--;
        stats.matched++;
      }
      const message = messageOf(envelope, [], fileModifiedMs, true);
      if (message.kind !== 'message') continue;
      batch.push({ record: sqsRecord(source, message.body, message.sentAt), deliveries: 0 });
      if (batch.length >= batchSize) {
        await deliver(batch);
        batch = [];
      }
    }
  };

  /**
   * After a file's captured calls, as the trail reader reads it: the file for everyone watched,
   * and, for each agent not looked back for yet, the file and the earlier files of the look-back
   * window; again until no new agent appears.
   */
  const trailRead = async (file: ReadFile) => {
    const { newest } = file;
    // The records the capture rules may take, unless a call set aside is by someone watched: the
    // whole file then (read again, when a worker read it).
    let all = file.records;
    const recordsForWatchedNow = async (): Promise<readonly SourcedRecord[]> => {
      if (all) return all;
      if (!file.otherArns.some((arn) => watchedNowArns.has(arn))) return file.kept;
      const again = await allRecords(file, options.maxFileBytes);
      if ('error' in again) {
        problems.push({ source: file.path, reason: `not read again for the calls of watched principals: ${again.error}` });
        all = file.kept;
      } else {
        all = again;
      }
      return all;
    };
    for (let round = 0; round < 100; round++) {
      const fresh = watchedNow.filter((w) => w.reason !== 'candidate' && !searched.has(keyOf(w)));
      if (round > 0 && fresh.length === 0) break;
      const keepFresh = fresh.length ? watchedMatcher(fresh) : none;
      if (watchedNow.length > 0) await trailPass(await recordsForWatchedNow(), matchWatchedNow(), keepFresh, file.modifiedMs);
      if (fresh.length > 0 && newest !== undefined && lookBackMs > 0) {
        // Read before: their problems are reported already. What is held of them, or read again.
        for await (const before of lookBackRecords(earlier.window(newest, lookBackMs, watchedArns(fresh)), options.maxFileBytes)) await trailPass(before.records, none, keepFresh, before.modifiedMs);
      }
      for (const w of fresh) searched.add(keyOf(w));
      if (batch.length > 0) {
        await deliver(batch);
        batch = [];
      }
    }
  };

  // In trail mode the capture rules are the base rules throughout: the reader sets aside what they
  // do not take (ReadFile), and the trail pass reads a file again only for a watched caller's calls.
  const reading = readPartitioned(paths, problems, {
    maxFileBytes: options.maxFileBytes,
    skipped: options.skipped,
    rules: mode === 'trail' ? baseRules : undefined,
    threads: options.readThreads ?? defaultReadThreads(),
    workerScript: options.readWorker,
    onWarning: options.onWarning,
    onThreads: options.onReadThreads,
    onFound: () => prepare?.(),
    watched: () => watchedNowArns,
  });
  for await (const file of reading) {
    stats.files++;
    // One delivery never spans log files: CloudTrail writes a file about every five minutes.
    // With the agent capture rules, rules updated after a delivery apply from the next file on,
    // as they would once the sync function has run; the trail reader reads the file after its
    // captured calls are in.
    if (batch.length > 0) {
      await deliver(batch);
      batch = [];
    }
    const setAside = file.count - file.kept.length;
    stats.records += setAside;
    stats.notMatched += setAside;
    for (const { source, value } of file.kept) {
      stats.records++;
      const message = messageOf(value, rules, file.modifiedMs);
      if (message.kind === 'not-matched') {
        stats.notMatched++;
        continue;
      }
      if (message.kind === 'problem') {
        problems.push({ source, reason: message.reason });
        recordProblems++;
        continue;
      }
      stats.matched++;
      batch.push({ record: sqsRecord(source, message.body, message.sentAt), deliveries: 0 });
      if (batch.length >= batchSize) {
        await deliver(batch);
        batch = [];
      }
      if (stats.records % 10_000 === 0) options.onProgress?.({ records: stats.records, matched: stats.matched, files: stats.files });
    }
    options.onProgress?.({ records: stats.records, matched: stats.matched, files: stats.files });
    if (mode === 'trail' && hasWatched) {
      if (batch.length > 0) {
        await deliver(batch);
        batch = [];
      }
      if (resolved) await trailRead(file);
      earlier.add(file);
    }
  }
  if (batch.length > 0) await deliver(batch);
  options.onProgress?.({ records: stats.records, matched: stats.matched, files: stats.files });
  const counts = resolved?.tally?.counts();
  return { stats, problems, deadLettered, recordProblems, ...(counts ? { outcomes: { classified: counts.classified, ignored: counts.ignored, quarantined: counts.quarantined } } : {}) };
}

/**
 * What one read record becomes: an SQS message body for the capture rules it matches, nothing
 * (no rule takes it), or a problem. Never throws: a record too deeply nested to serialize, or
 * with fields of odd types, is a problem with its reason, and the replay goes on.
 */
export function messageOf(value: unknown, rules: CompiledRules, fileModifiedMs: number, kept = false): { kind: 'not-matched' } | { kind: 'problem'; reason: string } | { kind: 'message'; body: string; sentAt: number } {
  try {
    const capture = captureOf(value, rules, kept);
    if (capture.kind !== 'captured') return capture;
    const { envelope } = capture;
    // A message is named by its record's location and "sent" at the record's own time (else
    // the file's): replaying the same files again sends identical messages, as a redelivery would.
    const time = typeof envelope.time === 'string' ? Date.parse(envelope.time.replace(' ', 'T')) : NaN;
    return { kind: 'message', body: JSON.stringify(envelope), sentAt: Number.isFinite(time) ? time : Math.floor(fileModifiedMs) };
  } catch (error) {
    const reason = error instanceof RangeError ? 'nested too deeply to deliver (EventBridge accepts JSON nested at most 1,100 levels)' : `cannot be delivered: ${(error as Error).message}`;
    return { kind: 'problem', reason };
  }
}

/**
 * The watched principals as `readWatched` reads them from the table's index, read again after a
 * delivery only when a write may have changed their index partition (`partitionChanges`, in
 * process; over HTTP every time). The count is taken before the read: a write during it means
 * the next call reads again.
 */
export function watchedReader(
  db: Pick<LocalDynamoDb, 'documents' | 'partitionChanges'>,
  read: (documents: LocalDynamoDb['documents'], tableName: string) => Promise<WatchedPrincipal[]>,
  partition: { readonly index: { readonly partitionKey: string }; readonly partition: string },
  tableName = LOCAL_TABLE_NAME,
): () => Promise<readonly WatchedPrincipal[]> {
  const changes = db.partitionChanges?.(tableName, partition.index.partitionKey, partition.partition);
  let last: { readonly count: number; readonly watched: readonly WatchedPrincipal[] } | undefined;
  return async () => {
    const count = changes?.();
    if (last && count !== undefined && count === last.count) return last.watched;
    const watched = await read(db.documents, tableName);
    if (count !== undefined) last = { count, watched };
    return watched;
  };
}

/**
 * Replay files against a fresh embedded DynamoDB and return the report. The store, the handlers
 * and the AWS SDK are loaded when the first batch is delivered: input that no capture rule takes
 * needs none of them (a kept store is emptied all the same, as every replay starts from empty).
 */
export async function replay(paths: readonly string[], options: ReplayOptions = {}): Promise<ReplayResult> {
  type Handlers = typeof import('../handlers');
  let session: { db: LocalDynamoDb; changeFeed?: ReturnType<Handlers['localChangeFeed']>; handlers: Handlers } | undefined;
  // The modules the store and the handlers need: loaded once there are files, while the first is read.
  let modules: Promise<[typeof import('./local-dynamodb'), Handlers, typeof import('../../lambdas/shared/watched'), typeof import('../../lambdas/shared/items')]> | undefined;
  const load = () => (modules ??= Promise.all([import('./local-dynamodb'), import('../handlers'), import('../../lambdas/shared/watched'), import('../../lambdas/shared/items')]));
  const open = async (): Promise<ReplayTarget> => {
    const [{ startLocalDynamoDb }, handlers, { readWatched }, { indexQueries }] = await load();
    // Every replay starts from an empty table.
    const db = await startLocalDynamoDb({ path: options.storePath, transport: options.transport ?? 'in-process', resetTable: LOCAL_TABLE_NAME });
    const changeFeed = options.changeFeed === false ? undefined : handlers.localChangeFeed(db, LOCAL_TABLE_NAME, options.logLevel);
    session = { db, changeFeed, handlers };
    const { handler, lineage, tally } = handlers.localPipeline(db, LOCAL_TABLE_NAME, options.logLevel);
    return { handler, lineage, changeFeed, tally, watched: watchedReader(db, readWatched, indexQueries.watched()) };
  };
  try {
    const run = await replayInto(paths, open, options, () => void load().catch(() => undefined));
    if (!session) {
      if (options.storePath) await clearStore(options.storePath);
      const report = buildReport([], { ...run, events: [] });
      return options.digest ? { ...report, digest: buildDigests({ ...periodOf([]), items: [], ownerTagKey: OWNER_TAG_KEY }) } : report;
    }
    const { db, changeFeed, handlers } = session;
    const report = buildReport(await scanTable(db.documents, LOCAL_TABLE_NAME), { ...run, events: changeFeed?.bus.events ?? [] });
    // After the report: the notifier's dedup windows are items of the table too.
    if (options.notify || options.digest) await handlers.notifyLocally(db, LOCAL_TABLE_NAME, changeFeed?.bus.events ?? [], options.notify ?? (() => undefined), { logLevel: options.logLevel });
    if (options.securityHubBatch) await handlers.exportLocally(db, LOCAL_TABLE_NAME, changeFeed?.bus.events ?? [], options.securityHubBatch, options.logLevel);
    if (!options.digest) return report;
    const items = await scanTable(db.documents, LOCAL_TABLE_NAME);
    return { ...report, digest: buildDigests({ ...periodOf(items), items, ownerTagKey: OWNER_TAG_KEY }) };
  } finally {
    session?.changeFeed?.close();
    await session?.db.close();
  }
}
