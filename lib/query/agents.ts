/**
 * Agents as the reports and the `agent` command show them: a profile (how it was identified,
 * when it was seen, what it is the agent of, the models and services it used, its actions
 * counted by class) and its ledger in time order. Read from the local replay store or from a
 * deployed table, through the same queries.
 */
import { paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { canonicalPrincipal } from '../../lambdas/core/arn';
import { groupBy } from '../../lambdas/shared/collections';
import type { Signal } from '../../lambdas/core/model';
import { ENTITY, keys } from '../../lambdas/shared/table-schema';

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

const sorted = (v: unknown) => (v instanceof Set ? [...v].sort() : Array.isArray(v) ? [...v].sort() : []);

export function agentActionEntry(item: Record<string, unknown>): AgentActionEntry {
  return {
    agent: item.agent as string,
    eventId: item.eventId as string,
    time: item.time as string,
    eventSource: item.eventSource as string,
    eventName: item.eventName as string,
    class: (item.classes as string[]) ?? [],
    outcome: item.outcome as string,
    resources: (item.resources as string[]) ?? [],
    ...(typeof item.session === 'string' ? { session: item.session } : {}),
    ...(typeof item.sourceIPAddress === 'string' ? { sourceIPAddress: item.sourceIPAddress } : {}),
    account: item.account as string,
    region: item.region as string,
  };
}

export function agentEntry(profile: Record<string, unknown>, actions: readonly AgentActionEntry[]): AgentEntry {
  const identifiedBy = Object.entries(profile)
    .filter(([k]) => k.startsWith('evidence:') && !k.endsWith('@'))
    .map(([, v]) => v as AgentEvidenceEntry)
    .sort((a, b) => a.time.localeCompare(b.time) || a.how.localeCompare(b.how));
  const actionCounts: Record<string, number> = {};
  for (const a of actions) for (const c of a.class) actionCounts[c] = (actionCounts[c] ?? 0) + 1;
  return {
    arn: profile.arn as string,
    identifiedBy,
    firstSeen: profile.firstSeen as string,
    lastSeen: profile.lastSeen as string,
    actionCounts,
    agentOf: sorted(profile.agentOf),
    modelsUsed: sorted(profile.modelsUsed),
    servicesTouched: sorted(profile.servicesTouched),
  };
}

/** Build every agent and its actions from a table's items (the replay report). */
export function agentsFromItems(items: readonly Record<string, unknown>[]): { agents: AgentEntry[]; actions: AgentActionEntry[] } {
  const actions = items.filter((i) => i.entity === ENTITY.agentAction).map(agentActionEntry);
  actions.sort((a, b) => a.agent.localeCompare(b.agent) || a.time.localeCompare(b.time) || a.eventId.localeCompare(b.eventId));
  const actionsOf = groupBy(actions, (a) => a.agent);
  const agents = items
    .filter((i) => i.entity === ENTITY.agent)
    .map((p) => agentEntry(p, actionsOf.get(p.arn as string) ?? []))
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
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND sk < :denials',
      ExpressionAttributeValues: { ':pk': keys.agentProfile(principal).pk, ':denials': keys.agentDenialsFrom(principal, '').sk },
    },
  );
  for await (const page of pages) items.push(...((page.Items ?? []) as Record<string, unknown>[]));
  const { agents, actions } = agentsFromItems(items);
  return { agent: agents[0], actions };
}

export function renderAgent(arn: string, agent: AgentEntry | undefined, actions: readonly AgentActionEntry[]): string {
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
