/**
 * Classifier Lambda: drains the capture queue. Thin: it wires the environment, clients, logger
 * and metrics, then hands the batch to `processMessages`, and answers SQS with the messages to
 * redeliver (ReportBatchItemFailures).
 *
 * `createClassifierHandler` is the whole handler; the deployed entry point `handler` builds it
 * from `process.env` on the container's first invocation (cold start), so a missing variable
 * fails then, with a message naming every problem. The local replay builds the same handler
 * with its own environment and a DynamoDB client pointed at dynalite.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LineageQueue } from '../core/lineage';
import { sqsLineageQueue } from '../shared/lineage-queue';
import { readEnvironment } from '../shared/environment';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';
import { withHouseMiddleware } from '../shared/middleware';
import { createAgentDirectory, type AgentLookups } from './agents/directory';
import { agentSettingsFrom, CLASSIFIER_ENVIRONMENT, type ClassifierEnvironment } from './environment';
import { processMessages } from './process-batch';

export type { ClassifierEnvironment };
export type ClassifierHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface ClassifierClients {
  readonly dynamodb?: DynamoDBClient;
  /** Replaces the DynamoDB store altogether (benchmarks of everything but the database). */
  readonly store?: InventoryStore;
  /** AWS lookups of the agent step; the local replay has none. @default Lambda GetFunctionConfiguration */
  readonly lookups?: AgentLookups;
  /** Where lineage work goes. @default the LINEAGE_QUEUE_URL queue */
  readonly lineageQueue?: LineageQueue;
  /** Powertools log level. @default the POWERTOOLS_LOG_LEVEL variable, else INFO */
  readonly logLevel?: string;
}

export function createClassifierHandler(env: ClassifierEnvironment, clients: ClassifierClients = {}): ClassifierHandler {
  const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME, ...(clients.logLevel ? { logLevel: clients.logLevel as 'INFO' } : {}) });
  const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
  const store =
    clients.store ?? createInventoryStore(DynamoDBDocumentClient.from(clients.dynamodb ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }), env.TABLE_NAME);
  const agents = {
    directory: createAgentDirectory(store, clients.lookups ?? lambdaLookups(new LambdaClient({}), logger)),
    settings: agentSettingsFrom(env),
    ledgerRetentionDays: Number(env.ACTION_LEDGER_RETENTION_DAYS),
  };
  const lineage = { queue: clients.lineageQueue ?? sqsLineageQueue(new SQSClient({}), env.LINEAGE_QUEUE_URL) };

  async function classifyBatch(event: SQSEvent): Promise<SQSBatchResponse> {
    const outcome = await processMessages(
      event.Records.map((r) => ({
        messageId: r.messageId,
        body: r.body,
        receivedAt: new Date(Number(r.attributes?.SentTimestamp) || Date.now()).toISOString(),
        source: `sqs:${r.messageId}`,
        deliveries: Number(r.attributes?.ApproximateReceiveCount) || 1,
      })),
      { store, log: logger, agents, lineage },
    );
    const { stats } = outcome;
    metrics.addMetric('EventsReceived', MetricUnit.Count, stats.received);
    metrics.addMetric('EventsClassified', MetricUnit.Count, stats.classified);
    metrics.addMetric('EventsIgnored', MetricUnit.Count, stats.ignored);
    metrics.addMetric('EventsQuarantined', MetricUnit.Count, stats.quarantined);
    metrics.addMetric('EventsFailed', MetricUnit.Count, stats.failed);
    metrics.addMetric('FindingsRecorded', MetricUnit.Count, stats.findings);
    metrics.addMetric('AgentActionsRecorded', MetricUnit.Count, stats.agentActions);
    metrics.addMetric('LineageEdgesRecorded', MetricUnit.Count, stats.lineageEdges);
    logger.info('batch classified', { ...stats, ignoredReasons: outcome.ignoredReasons });
    return { batchItemFailures: outcome.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
  }

  return withHouseMiddleware(classifyBatch, { logger, metrics }) as unknown as ClassifierHandler;
}

/**
 * Lambda GetFunctionConfiguration for the roles of agents' action-group functions. Functions in
 * other accounts, or that this role may not read, yield undefined (cached for a day).
 */
export function lambdaLookups(lambda: LambdaClient, log: { warn(message: string, extra: Record<string, unknown>): void }): AgentLookups {
  return {
    async functionRole(functionArn) {
      try {
        const out = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionArn }));
        return out.Role;
      } catch (error) {
        log.warn('cannot read the role of an agent action-group function', { functionArn, error: String(error) });
        return undefined;
      }
    },
  };
}

let coldStarted: ClassifierHandler | undefined;

/** The deployed entry point. */
export const handler: ClassifierHandler = (event, context) => {
  coldStarted ??= createClassifierHandler(readEnvironment(CLASSIFIER_ENVIRONMENT));
  return coldStarted(event, context);
};
