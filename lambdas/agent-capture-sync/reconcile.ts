/**
 * Bring the bus's agent rules in line with the wanted ones. Pure planning (`planRuleChanges`)
 * and a thin applier over the EventBridge API.
 */
import { DeleteRuleCommand, ListRulesCommand, ListTargetsByRuleCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type AgentRule } from '../shared/agent-capture';
import { AGENT_RULE_PREFIX, CAPTURE_TARGET, ENABLED_WITH_READ_ONLY_EVENTS } from '../core/constants';

/** Agent rules take an agent's reads too. */
export const RULE_STATE = ENABLED_WITH_READ_ONLY_EVENTS;

export interface ExistingRule {
  readonly name: string;
  readonly pattern?: string;
  readonly state?: string;
}

export interface RuleChanges {
  readonly put: AgentRule[];
  readonly remove: string[];
}

/** Compare patterns as data, not as text: EventBridge may re-serialize them. */
function samePattern(stored: string | undefined, wanted: Record<string, unknown>): boolean {
  if (!stored) return false;
  try {
    return JSON.stringify(JSON.parse(stored)) === JSON.stringify(wanted);
  } catch {
    return false;
  }
}

export function planRuleChanges(existing: readonly ExistingRule[], wanted: readonly AgentRule[]): RuleChanges {
  const byName = new Map(existing.map((r) => [r.name, r]));
  const put = wanted.filter((w) => {
    const e = byName.get(w.name);
    return !e || !samePattern(e.pattern, w.pattern) || e.state !== RULE_STATE;
  });
  const wantedNames = new Set(wanted.map((w) => w.name));
  const remove = existing.filter((e) => e.name.startsWith(AGENT_RULE_PREFIX) && !wantedNames.has(e.name)).map((e) => e.name);
  return { put, remove };
}

export interface RuleTarget {
  readonly eventBusName: string;
  readonly queueArn: string;
  readonly deadLetterQueueArn: string;
}

export async function listAgentRules(client: EventBridgeClient, eventBusName: string): Promise<ExistingRule[]> {
  const out: ExistingRule[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListRulesCommand({ EventBusName: eventBusName, NamePrefix: AGENT_RULE_PREFIX, NextToken: token }));
    for (const r of page.Rules ?? []) if (r.Name) out.push({ name: r.Name, pattern: r.EventPattern, state: r.State });
    token = page.NextToken;
  } while (token);
  return out;
}

export async function applyRuleChanges(client: EventBridgeClient, changes: RuleChanges, target: RuleTarget): Promise<void> {
  for (const rule of changes.put) {
    await client.send(new PutRuleCommand({ Name: rule.name, EventBusName: target.eventBusName, EventPattern: JSON.stringify(rule.pattern), State: RULE_STATE, Description: rule.description }));
    const put = await client.send(
      new PutTargetsCommand({
        Rule: rule.name,
        EventBusName: target.eventBusName,
        Targets: [
          {
            Id: CAPTURE_TARGET.id,
            Arn: target.queueArn,
            DeadLetterConfig: { Arn: target.deadLetterQueueArn },
            RetryPolicy: { MaximumEventAgeInSeconds: CAPTURE_TARGET.maximumEventAgeInSeconds, MaximumRetryAttempts: CAPTURE_TARGET.maximumRetryAttempts },
          },
        ],
      }),
    );
    if (put.FailedEntryCount) throw new Error(`PutTargets on ${rule.name} failed: ${JSON.stringify(put.FailedEntries)}`);
  }
  for (const name of changes.remove) {
    const targets = await client.send(new ListTargetsByRuleCommand({ Rule: name, EventBusName: target.eventBusName }));
    const ids = (targets.Targets ?? []).map((t) => t.Id).filter((id): id is string => typeof id === 'string');
    if (ids.length) await client.send(new RemoveTargetsCommand({ Rule: name, EventBusName: target.eventBusName, Ids: ids }));
    await client.send(new DeleteRuleCommand({ Name: name, EventBusName: target.eventBusName }));
  }
}
