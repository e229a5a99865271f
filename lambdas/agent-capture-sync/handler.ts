/**
 * Agent capture sync: keeps the agent capture rules (lambdas/shared/agent-capture.ts) in step
 * with the watched principals. Invoked by the table's stream when a principal is first watched
 * (INSERT of a WATCH# item) and hourly to repair drift; each run computes the wanted rules from
 * the whole watched set and changes only what differs, so runs are idempotent.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { agentCaptureRules } from '../shared/agent-capture';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { readWatched } from '../shared/watched';
import { AGENT_CAPTURE_SYNC_ENVIRONMENT } from './environment';
import { applyRuleChanges, listAgentRules, planRuleChanges } from './reconcile';

export interface SyncResult {
  readonly watched: number;
  readonly rules: number;
  readonly put: number;
  readonly removed: number;
}

export interface SyncClients {
  readonly dynamodb: DynamoDBClient;
  readonly eventbridge: EventBridgeClient;
}

const sync = defineHandler({
  environment: AGENT_CAPTURE_SYNC_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<SyncClients>): Handler<unknown, SyncResult> {
    const documents = documentClient(clients.dynamodb);
    const eventbridge = clients.eventbridge ?? new EventBridgeClient({});
    return async () => {
      const watched = await readWatched(documents, env.TABLE_NAME);
      const wanted = agentCaptureRules(watched);
      const changes = planRuleChanges(await listAgentRules(eventbridge, env.EVENT_BUS_NAME), wanted);
      await applyRuleChanges(eventbridge, changes, { eventBusName: env.EVENT_BUS_NAME, queueArn: env.CAPTURE_QUEUE_ARN, deadLetterQueueArn: env.CAPTURE_DLQ_ARN });
      const result = { watched: watched.length, rules: wanted.length, put: changes.put.length, removed: changes.remove.length };
      metrics.addMetric('WatchedPrincipals', MetricUnit.Count, result.watched);
      metrics.addMetric('AgentCaptureRules', MetricUnit.Count, result.rules);
      logger.info('agent capture rules in step', { ...result });
      return result;
    };
  },
});

/** The sync with its environment and clients given (tests). */
export const createAgentCaptureSyncHandler = sync.create;

/** The deployed entry point. */
export const handler = sync.handler;
