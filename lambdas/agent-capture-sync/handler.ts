/**
 * Agent capture sync: keeps the agent capture rules (lambdas/shared/agent-capture.ts) in step
 * with the watched principals. Invoked by the table's stream when a principal is first watched
 * (INSERT of a WATCH# item) and hourly to repair drift; each run computes the wanted rules from
 * the whole watched set and changes only what differs, so runs are idempotent.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { agentCaptureRules } from '../shared/agent-capture';
import { readEnvironment, type EnvironmentOf } from '../shared/environment';
import { withHouseMiddleware } from '../shared/middleware';
import { readWatched } from '../shared/watched';
import { AGENT_CAPTURE_SYNC_ENVIRONMENT } from './environment';
import { applyRuleChanges, listAgentRules, planRuleChanges } from './reconcile';

export interface SyncResult {
  readonly watched: number;
  readonly rules: number;
  readonly put: number;
  readonly removed: number;
}

export function createAgentCaptureSyncHandler(
  env: EnvironmentOf<typeof AGENT_CAPTURE_SYNC_ENVIRONMENT>,
  clients: { dynamodb?: DynamoDBClient; eventbridge?: EventBridgeClient } = {},
): (event: unknown, context: Context) => Promise<SyncResult> {
  const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
  const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
  const documents = DynamoDBDocumentClient.from(clients.dynamodb ?? new DynamoDBClient({}));
  const eventbridge = clients.eventbridge ?? new EventBridgeClient({});

  async function sync(): Promise<SyncResult> {
    const watched = await readWatched(documents, env.TABLE_NAME);
    const wanted = agentCaptureRules(watched);
    const changes = planRuleChanges(await listAgentRules(eventbridge, env.EVENT_BUS_NAME), wanted);
    await applyRuleChanges(eventbridge, changes, { eventBusName: env.EVENT_BUS_NAME, queueArn: env.CAPTURE_QUEUE_ARN, deadLetterQueueArn: env.CAPTURE_DLQ_ARN });
    const result = { watched: watched.length, rules: wanted.length, put: changes.put.length, removed: changes.remove.length };
    metrics.addMetric('WatchedPrincipals', MetricUnit.Count, result.watched);
    metrics.addMetric('AgentCaptureRules', MetricUnit.Count, result.rules);
    logger.info('agent capture rules in step', { ...result });
    return result;
  }

  return withHouseMiddleware(async () => sync(), { logger, metrics }) as unknown as (event: unknown, context: Context) => Promise<SyncResult>;
}

let coldStarted: ReturnType<typeof createAgentCaptureSyncHandler> | undefined;

export const handler = (event: unknown, context: Context) => {
  coldStarted ??= createAgentCaptureSyncHandler(readEnvironment(AGENT_CAPTURE_SYNC_ENVIRONMENT));
  return coldStarted(event, context);
};
