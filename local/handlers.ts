/**
 * The deployed functions' own handlers, wired for the laptop in one place: each is built with
 * the environment its construct would give it, pointed at the local store (dynalite) and at
 * in-memory stand-ins for what has no local server (the lineage FIFO queue, the event bus).
 * Metrics are not published locally.
 */
import { CHANGE_FEED_SERVICE } from '../lambdas/change-feed/environment';
import { createChangeFeedHandler, type ChangeFeedHandler } from '../lambdas/change-feed/handler';
import { fittedEntry, type EventPublisher } from '../lambdas/change-feed/publish';
import { createInventoryStore } from '../lambdas/shared/inventory-store';
import { DEFAULT_AGENT_ENVIRONMENT, DEFAULT_MODEL_USE_ENVIRONMENT, CLASSIFIER_SERVICE } from '../lambdas/classifier/environment';
import type { DomainEvent } from '../lambdas/core/events';
import { createClassifierHandler, type ClassifierEnvironment, type ClassifierHandler } from '../lambdas/classifier/handler';
import type { BatchOutcome, MessageOutcome } from '../lambdas/classifier/process-batch';
import { DEFAULT_CLASSIFICATION_ENVIRONMENT, LINEAGE_PROPAGATOR_SERVICE } from '../lambdas/lineage-propagator/environment';
import { createPropagatorHandler, type PropagatorHandler } from '../lambdas/lineage-propagator/handler';
import { houseEnvironment } from '../lambdas/shared/environment';
import { LOCAL_REGION, type LocalDynamoDb } from './replay/local-dynamodb';
import { LocalLineageQueue } from './replay/lineage-queue';
import { LocalTableStream } from './replay/local-stream';
import { lambdaContext } from './replay/lambda-shapes';
import type { SQSEvent } from 'aws-lambda';
import type { FindingNotification } from '../lambdas/core/notifications';
import { NOTIFIER_SERVICE, OWNER_TAG_KEY } from '../lambdas/notifier/environment';
import type { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SECURITY_HUB_EXPORT_SERVICE } from '../lambdas/security-hub-export/environment';

/** The table every local command reads and writes. */
import { LOCAL_FINDINGS_TOPIC, LOCAL_TABLE_NAME } from './names';

export { LOCAL_FINDINGS_TOPIC, LOCAL_TABLE_NAME };
/** The replay's lineage queue lives in memory; the URL only satisfies the environment contract. */
const LOCAL_LINEAGE_QUEUE_URL = `https://sqs.${LOCAL_REGION}.amazonaws.com/000000000000/ai-visibility-lineage-local.fifo`;

function noLocalMetrics(): void {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}

/** The classifier's environment contract, filled in for the local table. */
export function localClassifierEnvironment(tableName: string): ClassifierEnvironment {
  return { ...houseEnvironment(CLASSIFIER_SERVICE), TABLE_NAME: tableName, ...DEFAULT_AGENT_ENVIRONMENT, ...DEFAULT_MODEL_USE_ENVIRONMENT, LINEAGE_QUEUE_URL: LOCAL_LINEAGE_QUEUE_URL, CLASSIFICATION_TAG_KEY: DEFAULT_CLASSIFICATION_ENVIRONMENT.CLASSIFICATION_TAG_KEY };
}

/**
 * The deployed classifier handler, built against the local table. Its lineage work goes to
 * `lineageQueue` (a fresh in-memory one, never drained, by default).
 */
export function localClassifierHandler(db: LocalDynamoDb, tableName: string, logLevel = 'ERROR', lineageQueue: LocalLineageQueue = new LocalLineageQueue(), tally?: OutcomeTally): ClassifierHandler {
  noLocalMetrics();
  // No AWS account locally: action-group functions resolve only from the events replayed.
  return createClassifierHandler(localClassifierEnvironment(tableName), { dynamodb: db.client, logLevel, lineageQueue, ...(tally ? { onOutcome: (o) => tally.add(o) } : {}) });
}

/** Where each message ended, as the classifier said after its last delivery (the replay's accounting). */
export class OutcomeTally {
  private readonly last = new Map<string, MessageOutcome>();

  add(outcome: BatchOutcome): void {
    for (const [id, o] of outcome.outcomes) this.last.set(id, o);
  }

  /** Where one message ended (undefined: never delivered). */
  of(messageId: string): MessageOutcome | undefined {
    return this.last.get(messageId);
  }

  /** Messages by where they ended; `failed` ones are the replay's to redeliver or dead-letter. */
  counts(): Record<MessageOutcome, number> {
    const out: Record<MessageOutcome, number> = { classified: 0, ignored: 0, quarantined: 0, failed: 0 };
    for (const o of this.last.values()) out[o]++;
    return out;
  }
}

/**
 * The deployed lineage propagator, built against the local table. No AWS account locally: no
 * GetBucketTagging, so buckets are classified by the tag events replayed.
 */
export function localPropagatorHandler(db: LocalDynamoDb, tableName: string, queue: LocalLineageQueue, logLevel = 'ERROR'): PropagatorHandler {
  noLocalMetrics();
  return createPropagatorHandler(
    { ...houseEnvironment(LINEAGE_PROPAGATOR_SERVICE), TABLE_NAME: tableName, LINEAGE_QUEUE_URL: LOCAL_LINEAGE_QUEUE_URL, ...DEFAULT_CLASSIFICATION_ENVIRONMENT },
    { dynamodb: db.client, queue, lookupTags: null, logLevel },
  );
}

/** The local classifier and lineage propagator, joined by an in-memory lineage queue. */
export function localPipeline(db: LocalDynamoDb, tableName: string, logLevel = 'ERROR') {
  const queue = new LocalLineageQueue();
  const propagator = localPropagatorHandler(db, tableName, queue, logLevel);
  const tally = new OutcomeTally();
  return {
    handler: localClassifierHandler(db, tableName, logLevel, queue, tally),
    tally,
    lineage: { queue, drain: () => queue.drain(propagator) },
  };
}

/** A domain event as EventBridge delivers it to a rule's target (the fields a subscriber reads). */
export interface PublishedEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly resources: readonly string[];
  readonly time: string;
  readonly detail: DomainEvent['detail'];
}

/** The domain event bus, in memory: it keeps what the change feed publishes, entry by entry as PutEvents would get it. */
export class LocalEventBus implements EventPublisher {
  readonly events: PublishedEvent[] = [];

  constructor(private readonly name = 'ai-visibility-local') {}

  async publish(events: readonly DomainEvent[]): Promise<{ published: number }> {
    for (const event of events) {
      const entry = fittedEntry(event, this.name);
      this.events.push({ source: entry.Source ?? '', 'detail-type': entry.DetailType ?? '', resources: entry.Resources ?? [], time: (entry.Time ?? new Date()).toISOString(), detail: JSON.parse(entry.Detail ?? '{}') as DomainEvent['detail'] });
    }
    return { published: events.length };
  }
}

/**
 * The change feed: the local table's stream (recording the functions' writes from now on)
 * and the deployed change-feed handler publishing onto an in-memory bus.
 */
export function localChangeFeed(db: LocalDynamoDb, tableName: string, logLevel = 'ERROR') {
  noLocalMetrics();
  const stream = new LocalTableStream(tableName, (keys) => db.readImages(tableName, keys));
  const detach = db.onWrite(stream.wrap);
  const bus = new LocalEventBus();
  const handler: ChangeFeedHandler = createChangeFeedHandler({ ...houseEnvironment(CHANGE_FEED_SERVICE), EVENT_BUS_NAME: 'ai-visibility-local', TABLE_NAME: tableName, ORGANIZATION_MODE: 'false' }, { publisher: bus, store: createInventoryStore(db.documents, tableName), tagLookup: null, logLevel });
  return { stream, bus, handler, drain: () => stream.drain(handler), close: detach };
}

/** The topic ARN the local notifier names in what it would publish. */

/**
 * The deployed notifier over the local table: each `Finding Recorded` event, in order, as its
 * own delivery at the finding's time (so the dedup window runs on the events' timeline, not the
 * replay's clock), its messages handed to `publish` instead of SNS.
 */
export async function notifyLocally(db: LocalDynamoDb, tableName: string, events: readonly PublishedEvent[], publish: (n: FindingNotification) => void, options: { minSeverity?: string; dedupWindowHours?: number; logLevel?: string } = {}): Promise<void> {
  noLocalMetrics();
  let clock = 0;
  // Loaded when asked for: a replay without --notify or --digest needs neither it nor the SNS client.
  const { createNotifierHandler } = await import('../lambdas/notifier/handler');
  const handler = createNotifierHandler(
    {
      ...houseEnvironment(NOTIFIER_SERVICE),
      TABLE_NAME: tableName,
      FINDINGS_TOPIC_ARN: LOCAL_FINDINGS_TOPIC,
      MIN_SEVERITY: options.minSeverity ?? 'medium',
      DEDUP_WINDOW_HOURS: String(options.dedupWindowHours ?? 24),
      ACCOUNT_OWNERS: '{}',
      OWNER_TAG_KEY,
    },
    { dynamodb: db.client, now: () => clock, publish: async (n) => publish(n), logLevel: options.logLevel ?? 'ERROR' },
  );
  const context = lambdaContext('ai-visibility-notifier-local');
  for (const [i, e] of events.entries()) {
    if (e['detail-type'] !== 'Finding Recorded') continue;
    const finding = (e.detail as { finding?: { time?: string } }).finding;
    clock = Date.parse(finding?.time ?? '') || Date.parse(e.time);
    const result = await handler({ Records: [{ messageId: `event-${i}`, body: JSON.stringify(e) }] } as SQSEvent, context);
    if (result.batchItemFailures.length) throw new Error(`the notifier failed on event ${i}`);
  }
}

/**
 * The deployed Security Hub exporter over the replay's events (findings, and resources that
 * became deleted), ten at a time as its queue delivers them, its BatchImportFindings calls handed
 * to `onBatch` (and answered as fully imported) instead of sent.
 */
export async function exportLocally(db: LocalDynamoDb, tableName: string, events: readonly PublishedEvent[], onBatch: (findings: ReadonlyArray<Record<string, unknown>>) => void, logLevel = 'ERROR'): Promise<void> {
  noLocalMetrics();
  const securityHub = {
    send: async (command: { input: { Findings?: ReadonlyArray<Record<string, unknown>> } }) => {
      const findings = command.input.Findings ?? [];
      onBatch(findings);
      return { SuccessCount: findings.length, FailedCount: 0, FailedFindings: [] };
    },
  } as unknown as SecurityHubClient;
  // Loaded when asked for: a replay without --security-hub needs neither it nor the Security Hub client.
  const { createSecurityHubExportHandler } = await import('../lambdas/security-hub-export/handler');
  const handler = createSecurityHubExportHandler({ ...houseEnvironment(SECURITY_HUB_EXPORT_SERVICE), TABLE_NAME: tableName, PARTITION: 'aws', ORGANIZATION_MODE: 'false' }, { dynamodb: db.client, securityHub: () => securityHub, logLevel });
  const wanted = events.filter((e) => e['detail-type'] === 'Finding Recorded' || (e['detail-type'] === 'Resource Changed' && (e.detail as { resource?: { status?: string }; changed?: string[] }).resource?.status === 'deleted' && ((e.detail as { changed?: string[] }).changed ?? []).includes('status')));
  const context = lambdaContext('ai-visibility-security-hub-export-local');
  for (let i = 0; i < wanted.length; i += 10) {
    const records = wanted.slice(i, i + 10).map((e, j) => ({ messageId: `event-${i + j}`, body: JSON.stringify(e) }));
    const result = await handler({ Records: records } as SQSEvent, context);
    if (result.batchItemFailures.length) throw new Error(`the Security Hub exporter failed on ${result.batchItemFailures.length} event(s)`);
  }
}

