/**
 * Agent items: profiles, the action ledger, denial markers, watched principals, Lambda functions'
 * execution roles and cached lookups. Builders and readers, as in inventory.ts.
 */
import type { Signal } from '../../core/model';
import { INDEXES, TTL_ATTRIBUTE } from '../table-schema';
import { ENTITY, indexKeys, keys, type LookupKind } from './keys';
import { isRecord, num, signals, strings, text, textOr, type Item, type RawItem, type StoredValue } from './read';

/** The attribute that holds an agent's newest evidence of one kind (`evidence:declared`...). */
export const evidenceAttribute = (how: string) => `evidence:${how}`;
const EVIDENCE_PREFIX = evidenceAttribute('');

/** The fields of an agent's profile as its newest event shows it. */
export function agentProfileLatest(agent: string, account: string, event: { eventName: string; eventSource: string }): Record<string, StoredValue> {
  return {
    entity: ENTITY.agent,
    arn: agent,
    account,
    lastEventName: event.eventName,
    lastEventSource: event.eventSource,
    ...indexKeys.agent(agent),
    ...indexKeys.agentByAccount(account, agent),
  };
}

export interface AgentEvidenceValue {
  readonly how: string;
  readonly agent?: string;
  readonly eventId: string;
  readonly time: string;
  readonly signals: Signal[];
}

export interface AgentProfileItem {
  readonly arn: string;
  readonly account: string;
  /** The newest evidence of each kind, oldest first. */
  readonly identifiedBy: AgentEvidenceValue[];
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly agentOf: string[];
  readonly modelsUsed: string[];
  readonly servicesTouched: string[];
}

function readEvidence(v: unknown): AgentEvidenceValue | undefined {
  if (!isRecord(v) || typeof v.how !== 'string') return undefined;
  return { how: v.how, ...(typeof v.agent === 'string' ? { agent: v.agent } : {}), eventId: textOr(v.eventId, ''), time: textOr(v.time, ''), signals: signals(v.signals) };
}

export function readAgentProfile(item: RawItem | undefined): AgentProfileItem | undefined {
  if (!item || item.entity !== ENTITY.agent || typeof item.arn !== 'string') return undefined;
  const identifiedBy = Object.entries(item)
    .filter(([k]) => k.startsWith(EVIDENCE_PREFIX) && !k.endsWith('@'))
    .flatMap(([, v]) => {
      const e = readEvidence(v);
      return e ? [e] : [];
    })
    .sort((a, b) => a.time.localeCompare(b.time) || a.how.localeCompare(b.how));
  return {
    arn: item.arn,
    account: textOr(item.account, 'unknown'),
    identifiedBy,
    firstSeen: textOr(item.firstSeen, ''),
    lastSeen: textOr(item.lastSeen, ''),
    agentOf: [...strings(item.agentOf)].sort(),
    modelsUsed: [...strings(item.modelsUsed)].sort(),
    servicesTouched: [...strings(item.servicesTouched)].sort(),
  };
}

export interface AgentActionFields {
  readonly agent: string;
  readonly eventId: string;
  readonly time: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly classes: readonly string[];
  readonly outcome: string;
  readonly resources: readonly string[];
  readonly account: string;
  readonly region: string;
  readonly session?: string;
  readonly sourceIPAddress?: string;
}

/** One entry of an agent's ledger, kept `retentionDays` after its event (TTL). */
export function agentActionItem(a: AgentActionFields, retentionDays: number): Item {
  return {
    ...keys.agentAction(a.agent, a.time, a.eventId),
    entity: ENTITY.agentAction,
    agent: a.agent,
    eventId: a.eventId,
    time: a.time,
    eventSource: a.eventSource,
    eventName: a.eventName,
    classes: a.classes,
    outcome: a.outcome,
    resources: a.resources,
    account: a.account,
    region: a.region,
    ...(a.session ? { session: a.session } : {}),
    ...(a.sourceIPAddress !== undefined ? { sourceIPAddress: a.sourceIPAddress } : {}),
    [TTL_ATTRIBUTE]: Math.floor(Date.parse(a.time) / 1000) + retentionDays * 86_400,
  };
}

export interface AgentActionItem extends AgentActionFields {
  readonly classes: string[];
  readonly resources: string[];
}

export function readAgentAction(item: RawItem | undefined): AgentActionItem | undefined {
  if (!item || item.entity !== ENTITY.agentAction || typeof item.agent !== 'string') return undefined;
  return {
    agent: item.agent,
    eventId: textOr(item.eventId, ''),
    time: textOr(item.time, ''),
    eventSource: textOr(item.eventSource, ''),
    eventName: textOr(item.eventName, ''),
    classes: strings(item.classes),
    outcome: textOr(item.outcome, ''),
    resources: strings(item.resources),
    ...(typeof item.session === 'string' ? { session: item.session } : {}),
    ...(typeof item.sourceIPAddress === 'string' ? { sourceIPAddress: item.sourceIPAddress } : {}),
    account: textOr(item.account, 'unknown'),
    region: textOr(item.region, ''),
  };
}

/**
 * How long a denial marker (read only by the burst check) outlives its event: far longer than
 * any burst window, long enough for a redelivered or late batch to still see it.
 */
const DENIAL_MARKER_RETENTION_SECONDS = 7 * 86_400;

export function agentDenialItem(agent: string, time: string, eventId: string): Item {
  return { ...keys.agentDenial(agent, time, eventId), entity: ENTITY.agentDenial, time, eventId, [TTL_ATTRIBUTE]: Math.floor(Date.parse(time) / 1000) + DENIAL_MARKER_RETENTION_SECONDS };
}

export function readDenial(item: RawItem | undefined): { time: string; eventId: string } | undefined {
  if (!item || item.entity !== ENTITY.agentDenial || typeof item.time !== 'string' || typeof item.eventId !== 'string') return undefined;
  return { time: item.time, eventId: item.eventId };
}

export type WatchReason = 'agent' | 'candidate';

/** A principal whose every call the agent capture rules bring in. */
export function watchItem(w: { principal: string; iamArn?: string; reason: WatchReason }): Item {
  return { ...keys.watch(w.principal), entity: ENTITY.watch, principal: w.principal, ...(w.iamArn ? { iamArn: w.iamArn } : {}), reason: w.reason, ...indexKeys.watched(w.principal) };
}

export interface WatchItem {
  readonly principal: string;
  readonly iamArn?: string;
  readonly reason: WatchReason;
}

export function readWatch(item: RawItem | undefined): WatchItem | undefined {
  if (!item || item.entity !== ENTITY.watch || typeof item.principal !== 'string') return undefined;
  return { principal: item.principal, ...(typeof item.iamArn === 'string' ? { iamArn: item.iamArn } : {}), reason: item.reason === 'agent' ? 'agent' : 'candidate' };
}

/** A Lambda function (an agent's tool) as the events show it; its role is an ordered attribute. */
export const functionLatest = (functionArn: string, evidence: readonly Signal[]): Record<string, StoredValue> => ({ entity: ENTITY.function, arn: functionArn, signals: evidence });

export const readFunctionRole = (item: RawItem | undefined): string | undefined => (item?.entity === ENTITY.function ? text(item.role) : undefined);

/** A cached answer of an AWS lookup, trusted until `expiresAt` (epoch seconds, also the TTL). */
export function lookupItem(kind: LookupKind, id: string, value: StoredValue, expiresAt: number): Item {
  return { ...keys.lookup(kind, id), entity: ENTITY.lookup, value, [TTL_ATTRIBUTE]: expiresAt };
}

/** A cached lookup's value while it is fresh; `undefined` when there is none or it expired. */
export function readFreshLookup(item: RawItem | undefined, nowMs: number): { value: unknown } | undefined {
  if (!item || item.entity !== ENTITY.lookup) return undefined;
  const expiresAt = num(item[TTL_ATTRIBUTE]);
  return expiresAt !== undefined && expiresAt * 1000 > nowMs ? { value: item.value } : undefined;
}

/** A watched principal as the byKind index returns it: the index sort key is the principal. */
export function readWatchedIndexEntry(item: RawItem): { principal: string; iamArn?: string; reason?: WatchReason } | undefined {
  const principal = item[INDEXES.byKind.sortKey];
  if (typeof principal !== 'string') return undefined;
  return { principal, ...(typeof item.iamArn === 'string' ? { iamArn: item.iamArn } : {}), ...(item.reason === 'agent' || item.reason === 'candidate' ? { reason: item.reason } : {}) };
}
