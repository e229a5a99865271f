/**
 * Agent capture sync: keeps the agent capture rules (lambdas/shared/agent-capture.ts) in step
 * with the watched principals. Invoked by a rule on the domain event bus when a principal is
 * first watched (`Principal Watched`, from the change feed) and hourly to repair drift; each run
 * computes the wanted rules from the whole watched set and changes only what differs, so runs
 * are idempotent. A burst of new principals sends a burst of events: an event written before the
 * last run started is already covered by it, and is answered without another run.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { agentCaptureRules } from '../shared/agent-capture';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { readWatched } from '../shared/watched';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../core/events';
import { AGENT_CAPTURE_SYNC_ENVIRONMENT } from './environment';
import { applyRuleChanges, listAgentRules, planRuleChanges } from './reconcile';

export interface SyncResult {
  readonly watched: number;
  readonly rules: number;
  readonly put: number;
  readonly removed: number;
  /** The event was covered by a run that started after it (no run this time). */
  readonly skipped?: true;
}

/**
 * How much older than the last run's start a `Principal Watched` event must be to count as
 * covered by it: the watched principals are read from a global secondary index, whose reads are
 * eventually consistent (propagation usually takes well under a second).
 */
export const INDEX_PROPAGATION_SLACK_MS = 10_000;

/** Whether `event` is a `Principal Watched` event published before `lastRunStartedAt` (less the slack). */
export function coveredByLastRun(event: unknown, lastRunStartedAt: number | undefined, slackMs = INDEX_PROPAGATION_SLACK_MS): boolean {
  if (lastRunStartedAt === undefined || typeof event !== 'object' || event === null) return false;
  const { 'detail-type': detailType, source, time } = event as Record<string, unknown>;
  if (source !== DOMAIN_EVENT_SOURCE || detailType !== DETAIL_TYPES.principalWatched || typeof time !== 'string') return false;
  const at = Date.parse(time);
  return Number.isFinite(at) && at < lastRunStartedAt - slackMs;
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
    let lastRunStartedAt: number | undefined;
    return async (event) => {
      if (coveredByLastRun(event, lastRunStartedAt)) {
        logger.info('principal already covered by the last run', { lastRunStartedAt: new Date(lastRunStartedAt ?? 0).toISOString() });
        return { watched: 0, rules: 0, put: 0, removed: 0, skipped: true };
      }
      const started = Date.now();
      const watched = await readWatched(documents, env.TABLE_NAME);
      const wanted = agentCaptureRules(watched);
      const changes = planRuleChanges(await listAgentRules(eventbridge, env.EVENT_BUS_NAME), wanted);
      await applyRuleChanges(eventbridge, changes, { eventBusName: env.EVENT_BUS_NAME, queueArn: env.CAPTURE_QUEUE_ARN, deadLetterQueueArn: env.CAPTURE_DLQ_ARN });
      const result = { watched: watched.length, rules: wanted.length, put: changes.put.length, removed: changes.remove.length };
      metrics.addMetric('WatchedPrincipals', MetricUnit.Count, result.watched);
      metrics.addMetric('AgentCaptureRules', MetricUnit.Count, result.rules);
      logger.info('agent capture rules in step', { ...result });
      lastRunStartedAt = started;
      return result;
    };
  },
});

/** The sync with its environment and clients given (tests). */
export const createAgentCaptureSyncHandler = sync.create;

/** The deployed entry point. */
export const handler = sync.handler;
