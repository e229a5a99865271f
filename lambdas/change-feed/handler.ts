/**
 * Change feed Lambda: the one reader of the inventory table's stream (a stream serves at most
 * two readers per shard; nothing else reads it). It turns item changes into domain events
 * (domain-events.ts) and publishes them, in stream order, on the stack's event bus
 * (publish.ts), where the agent capture sync, later capabilities and users' own rules subscribe.
 *
 * Partial failures follow the DynamoDB stream rules: the first record whose events could not be
 * published is reported (ReportBatchItemFailures), and Lambda retries from there, so nothing
 * after it is skipped and nothing is lost; events before it may be delivered twice (consumers
 * deduplicate on `detail.id`). A record the feed cannot read is logged and counted, never left
 * to block its shard.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { DETAIL_TYPES, type DomainEvent } from '../core/events';
import { defineHandler, type Handler } from '../shared/house-handler';
import { CHANGE_FEED_ENVIRONMENT, type ChangeFeedEnvironment } from './environment';
import { domainEventsOf, type ItemChange } from './domain-events';
import { putEventsPublisher, type EventPublisher } from './publish';
import { excludedFindings, type TagLookup } from './exclusions';
import { lazyMemberCredentials } from '../shared/member-credentials';
import { cachedTagLookup, type TagLookupApis } from '../shared/tag-lookup';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../shared/dynamodb';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';

export type { ChangeFeedEnvironment };
export type ChangeFeedHandler = Handler<DynamoDBStreamEvent, DynamoDBBatchResponse>;

export interface ChangeFeedClients {
  /** Where the events go. @default EventBridge PutEvents on EVENT_BUS_NAME */
  readonly publisher: EventPublisher;
  readonly eventbridge: EventBridgeClient;
  /** Where the exclusions are read (resource and principal controls) and tag lookups cached. @default the table TABLE_NAME */
  readonly store: Pick<InventoryStore, 'getItems' | 'putItems'>;
  readonly dynamodb: DynamoDBClient;
  /** Where tags are looked up; null: no lookups (the local replay). @default the Tagging API and IAM */
  readonly tagLookup: TagLookupApis | null;
}

/** A stream record as an item change; undefined when it carries no images the feed can read. */
export function itemChangeOf(record: DynamoDBRecord): ItemChange | undefined {
  const kind = record.eventName;
  if (kind !== 'INSERT' && kind !== 'MODIFY' && kind !== 'REMOVE') return undefined;
  const image = (i: Record<string, unknown> | undefined) => (i ? unmarshall(i as Record<string, AttributeValue>) : undefined);
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  return {
    kind,
    at: new Date(typeof seconds === 'number' ? seconds * 1000 : Date.now()).toISOString(),
    oldImage: image(record.dynamodb?.OldImage),
    newImage: image(record.dynamodb?.NewImage),
  };
}

/** The message of the per-event log line the dashboard's queries read. */
export const DOMAIN_EVENT_LOG_LINE = 'domain event published';

/** What the dashboard counts a domain event by: findings by severity and rule, resources by kind. */
export function dashboardFields(e: DomainEvent): Record<string, string> {
  switch (e.detailType) {
    case DETAIL_TYPES.findingRecorded:
      return { detailType: e.detailType, rule: e.detail.finding.rule, severity: e.detail.finding.severity, account: e.detail.finding.account };
    case DETAIL_TYPES.resourceInventoried:
      return { detailType: e.detailType, kind: e.detail.resource.kind, account: e.detail.resource.account };
    case DETAIL_TYPES.resourceChanged:
      return { detailType: e.detailType, kind: e.detail.resource.kind, account: e.detail.resource.account, changed: e.detail.changed.join(',') };
    case DETAIL_TYPES.agentIdentified:
      return { detailType: e.detailType, account: e.detail.agent.account };
    default:
      return { detailType: e.detailType };
  }
}

const feed = defineHandler({
  environment: CHANGE_FEED_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<ChangeFeedClients>): ChangeFeedHandler {
    const publisher = clients.publisher ?? putEventsPublisher(clients.eventbridge ?? new EventBridgeClient({}), env.EVENT_BUS_NAME);
    const store = clients.store ?? createInventoryStore(documentClient(clients.dynamodb), env.TABLE_NAME);
    // Organization mode: a member's resources are looked up in its account, through its member role.
    const members = env.ORGANIZATION_MODE === 'true' ? lazyMemberCredentials('ai-visibility-change-feed') : undefined;
    const lookup: TagLookup | undefined = cachedTagLookup(clients.tagLookup, { store, now: Date.now, logger, ...(members ? { credentials: members.credentials } : {}) });

    return async (event, context) => {
      members?.learn(context?.invokedFunctionArn);
      // Each record's events, in stream order, remembering which record they came from.
      const all: DomainEvent[] = [];
      const allRecordOf: number[] = [];
      let unreadable = 0;
      event.Records.forEach((record, i) => {
        try {
          const change = itemChangeOf(record);
          for (const e of change ? domainEventsOf(change) : []) {
            all.push(e);
            allRecordOf.push(i);
          }
        } catch (error) {
          unreadable++;
          logger.error('stream record not readable; it is skipped', { sequenceNumber: record.dynamodb?.SequenceNumber, keys: record.dynamodb?.Keys, error: String(error) });
        }
      });
      // Findings of what is excluded are not announced; if the exclusions cannot be read, the batch is retried.
      let excluded: Set<number>;
      try {
        excluded = await excludedFindings(all, store, lookup);
      } catch (error) {
        logger.error('exclusions not readable; the stream retries the batch', { error: String(error) });
        return { batchItemFailures: event.Records.length ? [{ itemIdentifier: event.Records[0].dynamodb?.SequenceNumber ?? '' }] : [] };
      }
      const events = all.filter((_, i) => !excluded.has(i));
      const recordOf = allRecordOf.filter((_, i) => !excluded.has(i));
      metrics.addMetric('FindingsExcluded', MetricUnit.Count, excluded.size);
      const { published, error } = await publisher.publish(events);
      const counts: Record<string, number> = {};
      for (const e of events.slice(0, published)) counts[e.detailType] = (counts[e.detailType] ?? 0) + 1;
      metrics.addMetric('DomainEventsPublished', MetricUnit.Count, published);
      metrics.addMetric('ChangeFeedRecordsUnreadable', MetricUnit.Count, unreadable);
      logger.info('change feed batch', { records: event.Records.length, events: events.length, published, excludedFindings: excluded.size, byType: counts });
      // One line per published event, with what the dashboard counts it by (Logs Insights).
      for (const e of events.slice(0, published)) logger.info(DOMAIN_EVENT_LOG_LINE, dashboardFields(e));
      if (published === events.length) return { batchItemFailures: [] };
      const failedRecord = event.Records[recordOf[published]];
      metrics.addMetric('DomainEventsFailed', MetricUnit.Count, events.length - published);
      logger.error('domain events not published; the stream retries from the first record not done', { error, sequenceNumber: failedRecord.dynamodb?.SequenceNumber });
      return { batchItemFailures: [{ itemIdentifier: failedRecord.dynamodb?.SequenceNumber ?? '' }] };
    };
  },
});

/** The change feed with its environment and clients given (tests, the local replay). */
export const createChangeFeedHandler = feed.create;

/** The deployed entry point. */
export const handler = feed.handler;
