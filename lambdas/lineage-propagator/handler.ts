/**
 * Lineage propagator Lambda: drains the lineage FIFO queue, one node per message
 * (propagate.ts), and answers SQS with the messages to redeliver.
 *
 * FIFO rule for partial failures: once a message fails, every message after it in the batch is
 * handed back too, unprocessed, so a node's messages are never handled out of order.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LineageMessage, LineageQueue } from '../core/lineage';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';
import { sqsLineageQueue } from '../shared/lineage-queue';
import { cachedTagLookup, type TagLookupApis } from '../shared/tag-lookup';
import { lazyMemberCredentials } from '../shared/member-credentials';
import { classificationScheme, LINEAGE_PROPAGATOR_ENVIRONMENT, type LineagePropagatorEnvironment } from './environment';
import { createPropagator, type BucketTagLookup } from './propagate';

export type { LineagePropagatorEnvironment };
export type PropagatorHandler = Handler<SQSEvent, SQSBatchResponse>;

export interface PropagatorClients {
  readonly dynamodb: DynamoDBClient;
  readonly store: InventoryStore;
  /** Where follow-up work goes. @default the LINEAGE_QUEUE_URL queue */
  readonly queue: LineageQueue;
  /** @default S3 GetBucketTagging; `null` for none (the local replay) */
  readonly lookupTags: BucketTagLookup | null;
  /** Other resources' tags, where RESOURCE_TAG_LOOKUPS is 'true'. @default the Tagging API */
  readonly tagLookup: TagLookupApis | null;
  /** Clock of the tag-lookup cache. @default Date.now */
  readonly now: () => number;
  /** @default MAX_IN_EDGES and FANOUT_PAGE of propagate.ts */
  readonly limits: { readonly inEdges: number; readonly fanoutPage: number };
}

/** Parse a queue message; a malformed one is a bug upstream, reported and dropped (it can never succeed). */
export function parseLineageMessage(body: string): LineageMessage | undefined {
  try {
    const m = JSON.parse(body) as LineageMessage;
    const ok = (m.type === 'recompute' || m.type === 'fanout') && typeof m.node === 'string' && typeof m.cause?.eventId === 'string' && typeof m.cause?.time === 'string';
    return ok ? m : undefined;
  } catch {
    return undefined;
  }
}

const propagator = defineHandler({
  environment: LINEAGE_PROPAGATOR_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<PropagatorClients>): PropagatorHandler {
    const store = clients.store ?? createInventoryStore(documentClient(clients.dynamodb), env.TABLE_NAME);
    const queue = clients.queue ?? sqsLineageQueue(new SQSClient({}), env.LINEAGE_QUEUE_URL);
    const lookupTags = clients.lookupTags === null ? undefined : (clients.lookupTags ?? s3TagLookup(new S3Client({ followRegionRedirects: true })));
    const scheme = classificationScheme(env);
    const members = env.ORGANIZATION_MODE === 'true' ? lazyMemberCredentials('ai-visibility-lineage') : undefined;
    const lookupResourceTags = env.RESOURCE_TAG_LOOKUPS === 'true' ? cachedTagLookup(clients.tagLookup, { store, now: clients.now ?? Date.now, logger, ...(members ? { credentials: members.credentials } : {}) }) : undefined;

    return async (event, context) => {
      members?.learn(context?.invokedFunctionArn);
      const work = createPropagator({ store, queue, scheme, lookupTags, lookupResourceTags, log: logger, now: clients.now, limits: clients.limits });
      const failures: string[] = [];
      for (const record of event.Records) {
        if (failures.length > 0) {
          failures.push(record.messageId);
          continue;
        }
        const message = parseLineageMessage(record.body);
        if (!message) {
          logger.error('malformed lineage message dropped', { messageId: record.messageId, body: record.body.slice(0, 1000) });
          continue;
        }
        try {
          await work.handle(message);
        } catch (error) {
          logger.warn('lineage message failed; it and the rest of the batch go back to the queue', { node: message.node, error: String(error) });
          failures.push(record.messageId);
        }
      }
      const { stats } = work;
      metrics.addMetric('LineageNodesRecomputed', MetricUnit.Count, stats.recomputed);
      metrics.addMetric('LineageNodesChanged', MetricUnit.Count, stats.changed);
      metrics.addMetric('LineageFindingsRecorded', MetricUnit.Count, stats.findings);
      logger.info('lineage batch', { ...stats, failed: failures.length });
      return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
    };
  },
});

/** The propagator with its environment and clients given (tests, the local replay). */
export const createPropagatorHandler = propagator.create;

/** The deployed entry point. */
export const handler = propagator.handler;

/** Answers that mean "these tags cannot be read from here", not "try again". */
const UNREADABLE = new Set(['AccessDenied', 'AllAccessDisabled', 'NoSuchBucket', 'PermanentRedirect', 'InvalidAccessPoint', 'AuthorizationHeaderMalformed']);

/** S3 GetBucketTagging: a bucket without tags answers NoSuchTagSet. */
export function s3TagLookup(s3: S3Client): BucketTagLookup {
  return async (bucket) => {
    try {
      const out = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
      return { tags: Object.fromEntries((out.TagSet ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? ''])) };
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (name === 'NoSuchTagSet') return { tags: {} };
      if (UNREADABLE.has(name)) return { problem: `${name}: GetBucketTagging on ${bucket} refused (${(error as Error).message})` };
      throw error;
    }
  };
}
