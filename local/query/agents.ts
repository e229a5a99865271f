/**
 * Agents as the reports and the `agent` command show them: a profile (how it was identified,
 * when it was seen, what it is the agent of, the models and services it used, its actions
 * counted by class) and its ledger in time order. Read from the local replay store or from a
 * deployed table, through the same queries.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { canonicalPrincipal } from '../../lambdas/core/arn';
import { groupBy } from '../../lambdas/shared/collections';
import { printableDeep } from '../text';
import type { Signal } from '../../lambdas/core/model';
import { keys, RANGES, readAgentAction, readAgentProfile, type AgentActionItem, type AgentProfileItem, type RawItem } from '../../lambdas/shared/items';

export interface AgentEvidenceEntry {
  how: string;
  agent?: string;
  eventId: string;
  time: string;
  signals: Signal[];
}

export interface AgentEntry {
  arn: string;
  identifiedBy: AgentEvidenceEntry[];
  firstSeen: string;
  lastSeen: string;
  actionCounts: Record<string, number>;
  agentOf: string[];
  modelsUsed: string[];
  servicesTouched: string[];
}

export interface AgentActionEntry {
  agent: string;
  eventId: string;
  time: string;
  eventSource: string;
  eventName: string;
  class: string[];
  outcome: string;
  resources: string[];
  session?: string;
  sourceIPAddress?: string;
  account: string;
  region: string;
}

export function agentActionEntry(a: AgentActionItem): AgentActionEntry {
  return {
    agent: a.agent,
    eventId: a.eventId,
    time: a.time,
    eventSource: a.eventSource,
    eventName: a.eventName,
    class: a.classes,
    outcome: a.outcome,
    resources: a.resources,
    ...(a.session !== undefined ? { session: a.session } : {}),
    ...(a.sourceIPAddress !== undefined ? { sourceIPAddress: a.sourceIPAddress } : {}),
    account: a.account,
    region: a.region,
  };
}

export function agentEntry(profile: AgentProfileItem, actions: readonly AgentActionEntry[]): AgentEntry {
  const actionCounts: Record<string, number> = {};
  for (const a of actions) for (const c of a.class) actionCounts[c] = (actionCounts[c] ?? 0) + 1;
  return {
    arn: profile.arn,
    identifiedBy: profile.identifiedBy,
    firstSeen: profile.firstSeen,
    lastSeen: profile.lastSeen,
    actionCounts,
    agentOf: profile.agentOf,
    modelsUsed: profile.modelsUsed,
    servicesTouched: profile.servicesTouched,
  };
}

/** Build every agent and its actions from a table's items (the replay report). */
export function agentsFromItems(items: readonly RawItem[]): { agents: AgentEntry[]; actions: AgentActionEntry[] } {
  const actions = items.flatMap((i) => {
    const a = readAgentAction(i);
    return a ? [agentActionEntry(a)] : [];
  });
  actions.sort((a, b) => a.agent.localeCompare(b.agent) || a.time.localeCompare(b.time) || a.eventId.localeCompare(b.eventId));
  const actionsOf = groupBy(actions, (a) => a.agent);
  const agents = items
    .flatMap((i) => {
      const p = readAgentProfile(i);
      return p ? [agentEntry(p, actionsOf.get(p.arn) ?? [])] : [];
    })
    .sort((a, b) => a.arn.localeCompare(b.arn));
  return { agents, actions };
}

/**
 * One agent: its profile and its ledger in time order (one partition, read with Query; the
 * denial markers that sort after the ledger are left unread).
 */
export async function readAgent(client: DynamoDBDocumentClient, tableName: string, arn: string): Promise<{ agent?: AgentEntry; actions: AgentActionEntry[] }> {
  const principal = canonicalPrincipal(arn);
  const items: Record<string, unknown>[] = [];
  const { paginateQuery } = await import('@aws-sdk/lib-dynamodb');
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND sk < :denials',
      ExpressionAttributeValues: { ':pk': keys.agentProfile(principal).pk, ':denials': RANGES.agentBeforeDenials.below },
    },
  );
  for await (const page of pages) items.push(...((page.Items ?? []) as Record<string, unknown>[]));
  const { agents, actions } = agentsFromItems(items);
  return { agent: agents[0], actions };
}

export function renderAgent(rawArn: string, rawAgent: AgentEntry | undefined, rawActions: readonly AgentActionEntry[]): string {
  // Strings from records never reach the terminal raw.
  const [arn, agent, actions] = printableDeep([rawArn, rawAgent, rawActions] as const);
  if (!agent) return `No AI agent ${canonicalPrincipal(arn)} in this inventory.\n`;
  const lines = [
    `Agent ${agent.arn}`,
    `  identified by: ${agent.identifiedBy.map((e) => `${e.how} (${e.signals[0]?.eventName ?? ''} at ${e.time}${e.agent ? `, for ${e.agent}` : ''})`).join('; ')}`,
    `  seen: ${agent.firstSeen} to ${agent.lastSeen}`,
  ];
  if (agent.agentOf.length) lines.push(`  agent of: ${agent.agentOf.join(', ')}`);
  if (agent.modelsUsed.length) lines.push(`  models used: ${agent.modelsUsed.join(', ')}`);
  if (agent.servicesTouched.length) lines.push(`  services touched: ${agent.servicesTouched.join(', ')}`);
  lines.push(`  actions: ${Object.entries(agent.actionCounts).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`, '', `Timeline: ${actions.length} action(s)`);
  for (const a of actions) {
    lines.push(`  ${a.time}  ${a.outcome.padEnd(22)} ${a.eventSource.replace('.amazonaws.com', '')}:${a.eventName}  [${a.class.join(',')}]${a.resources.length ? `  ${a.resources.join(' ')}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
