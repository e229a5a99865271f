/**
 * Classifier Lambda: drains the capture queue. Thin: it wires the environment, clients, logger
 * and metrics, then hands the batch to `processMessages`, and answers SQS with the messages to
 * redeliver (ReportBatchItemFailures). Clients are created once per container.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { readEnvironment } from '../shared/environment';
import { createInventoryStore } from '../shared/inventory-store';
import { withHouseMiddleware } from '../shared/middleware';
import { CLASSIFIER_ENVIRONMENT } from './environment';
import { processMessages } from './process-batch';

const env = readEnvironment(CLASSIFIER_ENVIRONMENT);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
const store = createInventoryStore(documents, env.TABLE_NAME);

async function classifyBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const outcome = await processMessages(
    event.Records.map((r) => ({
      messageId: r.messageId,
      body: r.body,
      receivedAt: new Date(Number(r.attributes?.SentTimestamp) || Date.now()).toISOString(),
      source: `sqs:${r.messageId}`,
    })),
    { store, log: logger },
  );
  const { stats } = outcome;
  metrics.addMetric('EventsReceived', MetricUnit.Count, stats.received);
  metrics.addMetric('EventsClassified', MetricUnit.Count, stats.classified);
  metrics.addMetric('EventsIgnored', MetricUnit.Count, stats.ignored);
  metrics.addMetric('EventsQuarantined', MetricUnit.Count, stats.quarantined);
  metrics.addMetric('EventsFailed', MetricUnit.Count, stats.failed);
  metrics.addMetric('FindingsRecorded', MetricUnit.Count, stats.findings);
  logger.info('batch classified', { ...stats, ignoredReasons: outcome.ignoredReasons });
  return { batchItemFailures: outcome.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
}

export const handler = withHouseMiddleware(classifyBatch, { logger, metrics });
