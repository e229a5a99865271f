/**
 * Agent capture sync: keeps the agent capture rules (lambdas/shared/agent-capture.ts) in step
 * with the watched principals.
 *
 * Runs are serialized by their queue, not by a reserved concurrency (a reservation may not bring
 * an account's unreserved pool below 10, and new accounts often have a quota of 10 in all): a FIFO
 * queue with one message group, which Lambda drains one batch at a time. `Principal Watched`
 * (from the change feed) and the hourly repair both arrive there. Each run computes the wanted
 * rules from the whole watched set and changes only what differs, each rule on its own, so runs
 * are idempotent and one refused rule never stops the others. A burst of new principals is one
 * batch, one run; an event published before the last run started is already covered by it.
 *
 * It is also the custom resource that removes this deployment's rules when the stack is deleted
 * (CloudFormation invokes it with `RequestType: Delete`), so no rule is left pointing at a deleted
 * queue.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CloudFormationCustomResourceEvent, SQSEvent } from 'aws-lambda';
import { agentCaptureRules } from '../shared/agent-capture';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { readWatched } from '../shared/watched';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../core/events';
import { AGENT_CAPTURE_SYNC_ENVIRONMENT } from './environment';
import { applyRuleChanges, listAgentRules, planRuleChanges, removeRule, type RuleFailure } from './reconcile';

export interface SyncResult {
  readonly watched: number;
  readonly rules: number;
  readonly put: number;
  readonly removed: number;
  /** Rules whose change failed (the run then fails, so the queue retries it). */
  readonly failed: readonly RuleFailure[];
  /** Every event was covered by a run that started after it (no run this time). */
  readonly skipped?: true;
}

/** The metric every run emits: rule changes that failed (0 when all went through). */
export const SYNC_FAILURE_METRIC = 'AgentRuleSyncFailures';

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

/** The EventBridge events a batch of the sync queue carries (a body that is not JSON asks for a run). */
function eventsOf(batch: SQSEvent): unknown[] {
  return batch.Records.map((r) => {
    try {
      return JSON.parse(r.body) as unknown;
    } catch {
      return undefined;
    }
  });
}

export const isCustomResourceEvent = (event: unknown): event is CloudFormationCustomResourceEvent =>
  typeof event === 'object' && event !== null && typeof (event as Record<string, unknown>).RequestType === 'string' && typeof (event as Record<string, unknown>).ResponseURL === 'string';

/**
 * Answer CloudFormation: a PUT of the response object to the pre-signed ResponseURL (CloudFormation
 * User Guide, "Custom resource response objects"). Until it is answered, the stack operation waits.
 */
export async function respond(event: CloudFormationCustomResourceEvent, status: 'SUCCESS' | 'FAILED', reason: string, send: typeof fetch = fetch): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, 1_000),
    PhysicalResourceId: 'PhysicalResourceId' in event ? event.PhysicalResourceId : `${event.LogicalResourceId}-agent-rules`,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const answer = await send(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) } });
  if (!answer.ok) throw new Error(`CloudFormation did not take the response: HTTP ${answer.status}`);
}

export interface SyncClients {
  readonly dynamodb: DynamoDBClient;
  readonly eventbridge: EventBridgeClient;
  /** How CloudFormation is answered. @default fetch */
  readonly fetch: typeof fetch;
}

export type SyncEvent = SQSEvent | CloudFormationCustomResourceEvent;

const sync = defineHandler({
  environment: AGENT_CAPTURE_SYNC_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<SyncClients>): Handler<SyncEvent, SyncResult> {
    const documents = documentClient(clients.dynamodb);
    const eventbridge = clients.eventbridge ?? new EventBridgeClient({});
    const prefix = env.AGENT_RULE_PREFIX;
    const target = { eventBusName: env.EVENT_BUS_NAME, queueArn: env.CAPTURE_QUEUE_ARN, deadLetterQueueArn: env.CAPTURE_DLQ_ARN };
    let lastRunStartedAt: number | undefined;

    const report = (result: SyncResult): SyncResult => {
      metrics.addMetric(SYNC_FAILURE_METRIC, MetricUnit.Count, result.failed.length);
      if (result.failed.length) {
        logger.error('agent capture rules not all in step; the run is retried', { ...result });
        throw new Error(`${result.failed.length} agent rule change(s) failed: ${result.failed.map((f) => `${f.action} ${f.rule}: ${f.error}`).join('; ')}`);
      }
      return result;
    };

    /** Stack deletion: every rule of this deployment goes, each on its own. */
    const removeAll = async (): Promise<SyncResult> => {
      const existing = await listAgentRules(eventbridge, env.EVENT_BUS_NAME, prefix);
      const failed: RuleFailure[] = [];
      for (const rule of existing) {
        try {
          await removeRule(eventbridge, rule.name, env.EVENT_BUS_NAME);
        } catch (error) {
          failed.push({ rule: rule.name, action: 'remove', error: String(error) });
        }
      }
      return { watched: 0, rules: 0, put: 0, removed: existing.length - failed.length, failed };
    };

    const run = async (): Promise<SyncResult> => {
      const started = Date.now();
      const watched = await readWatched(documents, env.TABLE_NAME);
      const wanted = agentCaptureRules(watched, { prefix, patternQuota: Number(env.EVENT_PATTERN_QUOTA) });
      const changes = planRuleChanges(await listAgentRules(eventbridge, env.EVENT_BUS_NAME, prefix), wanted, prefix);
      const failed = await applyRuleChanges(eventbridge, changes, target);
      const result = { watched: watched.length, rules: wanted.length, put: changes.put.length - failed.filter((f) => f.action === 'put').length, removed: changes.remove.length - failed.filter((f) => f.action === 'remove').length, failed };
      metrics.addMetric('WatchedPrincipals', MetricUnit.Count, result.watched);
      metrics.addMetric('AgentCaptureRules', MetricUnit.Count, result.rules);
      if (!failed.length) {
        logger.info('agent capture rules in step', { ...result });
        lastRunStartedAt = started;
      }
      return result;
    };

    return async (event) => {
      if (isCustomResourceEvent(event)) {
        // Answer CloudFormation whatever happens: an unanswered request holds the stack for an hour.
        let result: SyncResult = { watched: 0, rules: 0, put: 0, removed: 0, failed: [] };
        try {
          if (event.RequestType === 'Delete') result = await removeAll();
        } catch (error) {
          result = { ...result, failed: [{ rule: `${prefix}*`, action: 'remove', error: String(error) }] };
        }
        metrics.addMetric(SYNC_FAILURE_METRIC, MetricUnit.Count, result.failed.length);
        const reason = result.failed.length
          ? `could not remove agent rules: ${result.failed.map((f) => `${f.rule}: ${f.error}`).join('; ')}`
          : `${event.RequestType}: ${result.removed} agent rule(s) removed`;
        logger.info('custom resource request', { requestType: event.RequestType, ...result });
        await respond(event, result.failed.length ? 'FAILED' : 'SUCCESS', reason, clients.fetch);
        return result;
      }
      if (event.Records.length > 0 && eventsOf(event).every((e) => coveredByLastRun(e, lastRunStartedAt))) {
        logger.info('principals already covered by the last run', { lastRunStartedAt: new Date(lastRunStartedAt ?? 0).toISOString(), events: event.Records.length });
        metrics.addMetric(SYNC_FAILURE_METRIC, MetricUnit.Count, 0);
        return { watched: 0, rules: 0, put: 0, removed: 0, failed: [], skipped: true };
      }
      return report(await run());
    };
  },
});

/** The sync with its environment and clients given (tests). */
export const createAgentCaptureSyncHandler = sync.create;

/** The deployed entry point. */
export const handler = sync.handler;
