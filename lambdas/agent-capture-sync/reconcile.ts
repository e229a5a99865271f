/**
 * Bring the bus's agent rules in line with the wanted ones. Pure planning (`planRuleChanges`)
 * and a thin applier over the EventBridge API that applies each rule's change on its own: one
 * refused rule (a pattern over the account's quota, a throttle) never stops the others, and
 * every failure is reported.
 */
import { DeleteRuleCommand, ListRulesCommand, ListTargetsByRuleCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type AgentRule } from '../shared/agent-capture';
import { CAPTURE_TARGET, ENABLED_WITH_READ_ONLY_EVENTS } from '../core/constants';

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

/** What to put and what to remove; only rules named with `prefix` (this deployment's) are ever removed. */
export function planRuleChanges(existing: readonly ExistingRule[], wanted: readonly AgentRule[], prefix: string): RuleChanges {
  const byName = new Map(existing.map((r) => [r.name, r]));
  const put = wanted.filter((w) => {
    const e = byName.get(w.name);
    return !e || !samePattern(e.pattern, w.pattern) || e.state !== RULE_STATE;
  });
  const wantedNames = new Set(wanted.map((w) => w.name));
  const remove = existing.filter((e) => e.name.startsWith(prefix) && !wantedNames.has(e.name)).map((e) => e.name);
  return { put, remove };
}

export interface RuleTarget {
  readonly eventBusName: string;
  readonly queueArn: string;
  readonly deadLetterQueueArn: string;
}

/** The bus's rules named with `prefix`. */
export async function listAgentRules(client: EventBridgeClient, eventBusName: string, prefix: string): Promise<ExistingRule[]> {
  const out: ExistingRule[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListRulesCommand({ EventBusName: eventBusName, NamePrefix: prefix, NextToken: token }));
    for (const r of page.Rules ?? []) if (r.Name) out.push({ name: r.Name, pattern: r.EventPattern, state: r.State });
    token = page.NextToken;
  } while (token);
  return out;
}

/** A rule whose change did not go through, and why. */
export interface RuleFailure {
  readonly rule: string;
  readonly action: 'put' | 'remove';
  readonly error: string;
}

async function putRule(client: EventBridgeClient, rule: AgentRule, target: RuleTarget): Promise<void> {
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
  if (put.FailedEntryCount) throw new Error(`PutTargets failed: ${JSON.stringify(put.FailedEntries)}`);
}

/** Remove a rule's targets, then the rule (EventBridge refuses to delete a rule with targets). */
export async function removeRule(client: EventBridgeClient, name: string, eventBusName: string): Promise<void> {
  const targets = await client.send(new ListTargetsByRuleCommand({ Rule: name, EventBusName: eventBusName }));
  const ids = (targets.Targets ?? []).map((t) => t.Id).filter((id): id is string => typeof id === 'string');
  if (ids.length) await client.send(new RemoveTargetsCommand({ Rule: name, EventBusName: eventBusName, Ids: ids }));
  await client.send(new DeleteRuleCommand({ Name: name, EventBusName: eventBusName }));
}

/** Apply every change, each on its own; resolves to the ones that failed. */
export async function applyRuleChanges(client: EventBridgeClient, changes: RuleChanges, target: RuleTarget): Promise<RuleFailure[]> {
  const failures: RuleFailure[] = [];
  for (const rule of changes.put) {
    try {
      await putRule(client, rule, target);
    } catch (error) {
      failures.push({ rule: rule.name, action: 'put', error: errorText(error) });
    }
  }
  for (const name of changes.remove) {
    try {
      await removeRule(client, name, target.eventBusName);
    } catch (error) {
      failures.push({ rule: name, action: 'remove', error: errorText(error) });
    }
  }
  return failures;
}

const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
