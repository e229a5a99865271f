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
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LineageQueue } from '../core/lineage';
import { CLASSIFICATION_DEFAULTS } from '../core/defaults';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';
import { sqsLineageQueue } from '../shared/lineage-queue';
import { createAgentDirectory } from './agents/directory';
import { awsTagLookupApis, cachedTagLookup, type TagLookupApis } from '../shared/tag-lookup';
import { lazyMemberCredentials } from '../shared/member-credentials';
import { agentSettingsFrom, CLASSIFIER_ENVIRONMENT, modelUseSettingsFrom, type ClassifierEnvironment } from './environment';
import { processMessages, type BatchOutcome, type BatchStats } from './process-batch';
import type { GuardrailReader } from '../core/guardrails';
import { awsGuardrailReader } from '../shared/guardrail-reader';

export type { ClassifierEnvironment };
export type ClassifierHandler = Handler<SQSEvent, SQSBatchResponse>;

export interface ClassifierClients {
  readonly dynamodb: DynamoDBClient;
  /** Replaces the DynamoDB store altogether (benchmarks of everything but the database). */
  readonly store: InventoryStore;
  /** Where lineage work goes. @default the LINEAGE_QUEUE_URL queue */
  readonly lineageQueue: LineageQueue;
  /** Told where each batch's messages ended (the local replay's accounting). @default nobody */
  readonly onOutcome: (outcome: BatchOutcome) => void;
  /** Where roles' agent tags are looked up when AGENT_TAG_LOOKUPS is true. @default IAM ListRoleTags/ListUserTags */
  readonly tagLookup: TagLookupApis | null;
  /** Where guardrail versions are read when GUARDRAIL_LOOKUPS is true. @default bedrock:GetGuardrail */
  readonly guardrails: GuardrailReader | null;
}

const METRICS: ReadonlyArray<[string, keyof BatchStats]> = [
  ['EventsReceived', 'received'],
  ['EventsClassified', 'classified'],
  ['EventsIgnored', 'ignored'],
  ['EventsQuarantined', 'quarantined'],
  ['EventsFailed', 'failed'],
  ['FindingsRecorded', 'findings'],
  ['AgentActionsRecorded', 'agentActions'],
  ['LineageEdgesRecorded', 'lineageEdges'],
];

const classifier = defineHandler({
  environment: CLASSIFIER_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<ClassifierClients>): ClassifierHandler {
    const store = clients.store ?? createInventoryStore(documentClient(clients.dynamodb), env.TABLE_NAME);
    // Roles' and users' tags (agents declared before the deploy; the ignore and owner tags of the
    // principals of its findings, cached for the change feed and the notifier): looked up only
    // where the stack asks (deployed), with the IAM client.
    const members = env.ORGANIZATION_MODE === 'true' ? lazyMemberCredentials('ai-visibility-classifier') : undefined;
    const tagLookup = env.AGENT_TAG_LOOKUPS === 'true' ? cachedTagLookup(clients.tagLookup, { store, now: Date.now, logger, ...(members ? { credentials: members.credentials } : {}) }, awsTagLookupApis) : undefined;
    const agents = {
      directory: createAgentDirectory(store, tagLookup),
      settings: agentSettingsFrom(env),
      ledgerRetentionDays: Number(env.ACTION_LEDGER_RETENTION_DAYS),
    };
    const modelUse = { settings: modelUseSettingsFrom(env) };
    const guardrails = env.GUARDRAIL_LOOKUPS === 'true' ? (clients.guardrails === undefined ? awsGuardrailReader({ ...(members ? { credentials: members.credentials } : {}), log: logger }) : clients.guardrails) : null;
    const lineage = { queue: clients.lineageQueue ?? sqsLineageQueue(new SQSClient({}), env.LINEAGE_QUEUE_URL), tagKey: env.CLASSIFICATION_TAG_KEY || CLASSIFICATION_DEFAULTS.tagKey };

    return async (event, context) => {
      members?.learn(context.invokedFunctionArn);
      const outcome = await processMessages(
        event.Records.map((r) => ({
          messageId: r.messageId,
          body: r.body,
          receivedAt: new Date(Number(r.attributes?.SentTimestamp) || Date.now()).toISOString(),
          source: `sqs:${r.messageId}`,
          deliveries: Number(r.attributes?.ApproximateReceiveCount) || 1,
        })),
        { store, log: logger, agents, lineage, modelUse, ...(guardrails ? { guardrails } : {}), timeLeftMs: () => context.getRemainingTimeInMillis?.() ?? Infinity, ...(tagLookup ? { lookupPrincipals: (principals: readonly string[]) => tagLookup({ principals }) } : {}) },
      );
      for (const [name, stat] of METRICS) metrics.addMetric(name, MetricUnit.Count, outcome.stats[stat]);
      metrics.addMetric('FailureIsolationRuns', MetricUnit.Count, outcome.isolationRuns);
      metrics.addMetric('EventsDeferred', MetricUnit.Count, outcome.deferred);
      clients.onOutcome?.(outcome);
      logger.info('batch classified', { ...outcome.stats, isolationRuns: outcome.isolationRuns, deferred: outcome.deferred, agentActionsByClass: outcome.actionsByClass, ignoredReasons: outcome.ignoredReasons });
      return { batchItemFailures: outcome.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
    };
  },
});

/** The classifier with its environment and clients given (tests, the local replay). */
export const createClassifierHandler = classifier.create;

/** The deployed entry point. */
export const handler = classifier.handler;
