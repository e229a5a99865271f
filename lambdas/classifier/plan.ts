/**
 * Plan the table writes for a batch of classified events. Pure.
 *
 * Events about the same resource or principal are coalesced into one `EntityWrite` per item, so a
 * burst of InvokeModel calls by one application costs one write for the principal and one for
 * the model, not one per call. Coalescing follows the store's merge rules exactly: the newest
 * event's fields are `latest`, each configuration attribute keeps the value of the newest event
 * that carried it (with that event's order), `firstSeen` and `earliest` come from the oldest.
 * Each write remembers the messages it came from, so a failed write fails exactly those
 * messages and SQS redelivers them.
 */
import { groupBy } from '../shared/collections';
import {
  agentActionItem,
  agentDenialItem,
  agentProfileLatest,
  evidenceAttribute,
  findingItem,
  functionLatest,
  keys,
  keyString,
  lineageEdgeLatest,
  lineageTagsLatest,
  principalLatest,
  principalTagsLatest,
  principalRole,
  principalRoleSortKey,
  RESERVED_RESOURCE_FIELDS,
  resourceDiscoverer,
  resourceLatest,
  classifyingEvidence,
  watchItem,
  type Item,
  type Key,
  type StoredValue,
} from '../shared/items';
import type { AgentAnalysis } from './agents/analyze';
import { accountOfArn } from '../core/arn';
import { AGENT_DEFAULTS } from '../core/defaults';
import { orderKey, type EntityWrite, type VersionedValue } from '../shared/inventory-store';
import type { Classification, NormalizedEvent } from './types';
import { contentHashOf } from './normalize';
import type { PrincipalObservation, ResourceObservation } from '../core/model';
import type { LineageFacts } from './lineage/extract';
import type { PrincipalTags } from './tags';
import type { LineageMessage } from '../core/lineage';

export interface ClassifiedEvent {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly classification: Classification;
}

export interface PlannedEntity {
  readonly write: EntityWrite;
  readonly messageIds: ReadonlySet<string>;
}

export interface PlannedItem {
  readonly item: Item;
  readonly messageIds: ReadonlySet<string>;
}

export interface WritePlan {
  readonly entities: PlannedEntity[];
  readonly findings: PlannedItem[];
}

/** Events in order: time, eventID, then content (two different records with one eventID). */
const ordering = (a: { event: NormalizedEvent }, b: { event: NormalizedEvent }) => {
  const x = eventOrder(a.event);
  const y = eventOrder(b.event);
  return x < y ? -1 : x > y ? 1 : 0;
};
const orderOf = (event: NormalizedEvent) => ({ time: event.time, eventId: event.eventId, contentHash: contentHashOf(event) });
/** An event's place in the order every write compares: time, eventID, content hash. */
const eventOrder = (event: NormalizedEvent): string => orderKey(orderOf(event));

interface Sighting<T> {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly observation: T;
  readonly principal?: string;
}

/** Group by key, each group oldest event first. */
function inOrderBy<T extends { event: NormalizedEvent }>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = groupBy(items, keyOf);
  for (const list of groups.values()) list.sort(ordering);
  return groups;
}

/** Immutable items, one per key, each with every message that asked for it. */
class ItemSet {
  private readonly items = new Map<string, { item: Item; messageIds: Set<string> }>();

  put(item: Item, messageId: string): void {
    const k = keyString(item);
    const existing = this.items.get(k);
    if (existing) existing.messageIds.add(messageId);
    else this.items.set(k, { item, messageIds: new Set([messageId]) });
  }

  list(): PlannedItem[] {
    return [...this.items.values()];
  }
}

/** Each configuration attribute as the newest sighting that carried it showed it. */
function versionedAttributes(sightings: Sighting<ResourceObservation>[], reserved: Record<string, StoredValue>): Record<string, VersionedValue> {
  const out: Record<string, VersionedValue> = {};
  for (const s of sightings) {
    const at = eventOrder(s.event);
    for (const [name, value] of Object.entries(s.observation.attributes)) {
      // Configuration never shadows the item's own fields (kind, status, keys...).
      if (!(name in reserved) && !name.endsWith('@')) out[name] = { value, at };
    }
  }
  return out;
}


/**
 * The caller of the newest event that had one, ordered like a configuration attribute: an event
 * with no caller to record (StopInstances on an instance the inventory may not know) leaves it
 * as it is, whether it comes in the same batch or a later one.
 */
function lastPrincipalOf(sightings: readonly Sighting<ResourceObservation>[]): Record<string, VersionedValue> {
  const newest = [...sightings].reverse().find((s) => s.principal);
  return newest?.principal ? { lastPrincipal: { value: newest.principal, at: eventOrder(newest.event) } } : {};
}

/** The classifying evidence, ordered like a configuration attribute: the newest sighting that could make the resource what it is. */
function classifiedByOf(sightings: readonly Sighting<ResourceObservation>[]): Record<string, VersionedValue> {
  const newest = [...sightings].reverse().find((s) => !s.observation.onlyIfKnown);
  return newest ? { classifiedBy: { value: classifyingEvidence(newest.event, newest.observation.signals) as unknown as StoredValue, at: eventOrder(newest.event) } } : {};
}

function planResource(sightings: Sighting<ResourceObservation>[]): EntityWrite {
  const head = sightings[sightings.length - 1];
  const latest = resourceLatest(head.observation, head.event.eventName);
  const reserved: Record<string, StoredValue> = { ...latest, ...Object.fromEntries(RESERVED_RESOURCE_FIELDS.map((f) => [f, true])) };
  const fill: Record<string, StoredValue> = {};
  // Who first revealed the resource: the caller of the oldest event (or, if that one had none,
  // of the oldest that had one, as a fill).
  const earliest: Record<string, StoredValue> = {};
  const discoverer = sightings.find((s) => s.principal);
  if (discoverer?.principal) {
    Object.assign(discoverer === sightings[0] ? earliest : fill, resourceDiscoverer(discoverer.principal, head.observation.arn));
  }
  const addToSet: Record<string, string[]> = {};
  if (head.observation.kind === 'foundation-model') {
    // AWS owns foundation models; which of our accounts use one is a set that only grows.
    addToSet.usedByAccounts = [...new Set(sightings.map((s) => s.event.account))];
  }
  return {
    key: keys.resource(head.observation.arn),
    head: orderOf(head.event),
    first: orderOf(sightings[0].event),
    latest,
    attributes: { ...versionedAttributes(sightings, reserved), ...lastPrincipalOf(sightings), ...classifiedByOf(sightings) },
    earliest,
    fill,
    sticky: {},
    addToSet,
    onlyIfKnown: sightings.every((s) => s.observation.onlyIfKnown),
  };
}

/** The field that marks a call made with a Bedrock API key (principal.ts). */
const BEARER_TOKEN_PATH = 'additionalEventData.callWithBearerToken';

/** Identity evidence (who the caller is) as opposed to behaviour evidence (what it did). */
const isIdentityEvidence = (path: string) => path.startsWith('userIdentity') || path === 'sessionCredentialFromConsole' || path === 'userAgent' || path.startsWith('additionalEventData');

function planPrincipal(sightings: Sighting<PrincipalObservation>[]): EntityWrite {
  const head = sightings[sightings.length - 1];
  const latest = principalLatest(head.observation, head.event);
  const fill: Record<string, StoredValue> = {};
  // The role only ever rises to ai-application, whatever the order. Its evidence is kept in two
  // order-independent fields: `identitySignals` from the principal's first event (earliest) and
  // `aiSignals` from its newest AI call (ordered like any attribute).
  const ai = [...sightings].reverse().find((s) => s.observation.role === 'ai-application');
  const first = sightings[0].observation;
  const earliest: Record<string, StoredValue> = { identitySignals: first.signals.filter((x) => isIdentityEvidence(x.path)) };
  const sticky: Record<string, StoredValue> = {};
  const attributes: Record<string, VersionedValue> = {};
  if (ai) {
    Object.assign(sticky, principalRole('ai-application'));
    attributes.aiSignals = { value: ai.observation.signals.filter((x) => !isIdentityEvidence(x.path)), at: eventOrder(ai.event) };
    // The agent heuristic asks when a principal last called a model.
    attributes.lastModelCallAt = { value: ai.event.time, at: eventOrder(ai.event) };
  } else {
    Object.assign(fill, principalRole(first.role));
  }
  // Calls made with a Bedrock API key (bearer token): when last, and on which days (a set, so a
  // redelivered call counts once). A long-term key's user is this principal: the key's use.
  const bearer = sightings.filter((s) => s.observation.signals.some((x) => x.path === BEARER_TOKEN_PATH));
  const addToSet: Record<string, string[]> = {};
  if (bearer.length > 0) {
    const newest = bearer[bearer.length - 1];
    attributes.lastBearerTokenCallAt = { value: newest.event.time, at: eventOrder(newest.event) };
    addToSet.bearerTokenCallDays = [...new Set(bearer.map((s) => s.event.time.slice(0, 10)))];
  }
  Object.assign(fill, principalRoleSortKey(head.observation.arn));
  return {
    key: keys.principal(head.observation.arn),
    head: orderOf(head.event),
    first: orderOf(sightings[0].event),
    latest,
    attributes,
    earliest,
    fill,
    sticky,
    addToSet,
    onlyIfKnown: false,
  };
}

export function planWrites(classified: readonly ClassifiedEvent[]): WritePlan {
  const resources: Sighting<ResourceObservation>[] = [];
  const principals: Sighting<PrincipalObservation>[] = [];
  const findings = new ItemSet();

  for (const { messageId, event, classification } of classified) {
    const principal = classification.principal?.arn;
    for (const r of classification.resources) resources.push({ messageId, event, observation: r, principal });
    if (classification.principal) principals.push({ messageId, event, observation: classification.principal });
    for (const f of classification.findings) findings.put(findingItem(f, 'classifier'), messageId);
  }

  const entities: PlannedEntity[] = [];
  for (const list of inOrderBy(resources, (s) => s.observation.arn).values()) {
    entities.push({ write: planResource(list), messageIds: new Set(list.map((s) => s.messageId)) });
  }
  for (const list of inOrderBy(principals, (s) => s.observation.arn).values()) {
    entities.push({ write: planPrincipal(list), messageIds: new Set(list.map((s) => s.messageId)) });
  }
  return { entities, findings: findings.list() };
}

/** An ordered-merge write that only sets the newest event's fields and some ordered attributes. */
function orderedWrite(key: Key, list: readonly { event: NormalizedEvent }[], latest: Record<string, StoredValue>, attributes: Record<string, VersionedValue> = {}, addToSet: Record<string, readonly string[]> = {}): EntityWrite {
  const head = list[list.length - 1];
  return {
    key,
    head: orderOf(head.event),
    first: orderOf(list[0].event),
    latest,
    attributes,
    earliest: {},
    fill: {},
    sticky: {},
    addToSet,
    onlyIfKnown: false,
  };
}

/**
 * Agent profiles: one ordered merge per agent over every event that shows it, acting or named as
 * one; the newest evidence of each kind is an ordered attribute, what it touched only grows.
 */
function planAgentProfiles(analysis: AgentAnalysis): PlannedEntity[] {
  const sightings = [
    ...analysis.actions.map((a) => ({ messageId: a.messageId, event: a.event, agent: a.agent })),
    ...analysis.evidence.map((e) => ({ messageId: e.messageId, event: e.event, agent: e.evidence.principal })),
  ];
  const evidenceOf = inOrderBy(analysis.evidence, (e) => e.evidence.principal);
  const actionsOf = groupBy(analysis.actions, (a) => a.agent);
  return [...inOrderBy(sightings, (s) => s.agent)].map(([agent, list]) => {
    const head = list[list.length - 1];
    const evidence = evidenceOf.get(agent) ?? [];
    const attributes: Record<string, VersionedValue> = {};
    for (const e of evidence) {
      attributes[evidenceAttribute(e.evidence.how)] = {
        value: { how: e.evidence.how, ...(e.evidence.agent ? { agent: e.evidence.agent } : {}), eventId: e.event.eventId, time: e.event.time, signals: e.evidence.signals },
        at: eventOrder(e.event),
      };
    }
    const actions = actionsOf.get(agent) ?? [];
    const addToSet = {
      agentOf: [...new Set(evidence.flatMap((x) => (x.evidence.agent ? [x.evidence.agent] : [])))],
      servicesTouched: [...new Set(actions.map((a) => a.event.eventSource))],
      modelsUsed: [...new Set(actions.flatMap((a) => a.models))],
    };
    return {
      write: orderedWrite(keys.agentProfile(agent), list, agentProfileLatest(agent, accountOfArn(agent), head.event), attributes, addToSet),
      messageIds: new Set(list.map((s) => s.messageId)),
    };
  });
}

/** The immutable facts of the agent step: ledger entries, denial markers, findings, watch marks. */
function planAgentFacts(analysis: AgentAnalysis, ledgerRetentionDays: number): PlannedItem[] {
  const items = new ItemSet();
  for (const a of analysis.actions) {
    const { event } = a;
    const sourceIPAddress = typeof event.record.sourceIPAddress === 'string' ? event.record.sourceIPAddress : undefined;
    const fields = { agent: a.agent, eventId: event.eventId, time: event.time, eventSource: event.eventSource, eventName: event.eventName, classes: a.classes, outcome: a.outcome, resources: a.resources, account: event.account, region: event.region, session: a.session, sourceIPAddress };
    items.put(agentActionItem(fields, ledgerRetentionDays), a.messageId);
    if (a.classes.includes('denied')) items.put(agentDenialItem(a.agent, event.time, event.eventId), a.messageId);
  }
  for (const f of analysis.findings) items.put(findingItem(f.finding, 'classifier'), f.messageId);
  for (const w of analysis.watch) items.put(watchItem(w), w.messageId);
  return items.list();
}

/** Lambda functions' execution roles (an agent's tools), ordered by event. */
function planFunctionRoles(analysis: AgentAnalysis): PlannedEntity[] {
  return [...inOrderBy(analysis.functionRoles, (f) => f.fact.functionArn)].map(([functionArn, list]) => {
    const head = list[list.length - 1];
    return {
      write: orderedWrite(keys.function(functionArn), list, functionLatest(functionArn, head.fact.signals), { role: { value: head.fact.role, at: eventOrder(head.event) } }),
      messageIds: new Set(list.map((f) => f.messageId)),
    };
  });
}

/**
 * The agent step's writes: each agent's profile (an ordered merge, like any entity), its ledger
 * entries, denial markers and findings (immutable), the watched principals (immutable) and the
 * functions' execution roles.
 */
export function planAgentWrites(analysis: AgentAnalysis, ledgerRetentionDays: number = AGENT_DEFAULTS.ledgerRetentionDays): { entities: PlannedEntity[]; items: PlannedItem[] } {
  return { entities: [...planAgentProfiles(analysis), ...planFunctionRoles(analysis)], items: planAgentFacts(analysis, ledgerRetentionDays) };
}

export interface LineageSighting {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly facts: LineageFacts;
}

/**
 * The lineage step's writes: each edge under both of its nodes, and each node's tags (a bucket's
 * set, another resource's classification tag) as its newest tag event shows them. Ordered merges: an edge's `firstSeen`/`firstEventId` name the
 * event that first showed it, whatever order the events come in.
 */
export function planLineageWrites(sightings: readonly LineageSighting[]): PlannedEntity[] {
  const edges = sightings.flatMap((s) => s.facts.edges.map((edge) => ({ ...s, edge })));
  const tags = sightings.flatMap((s) => (s.facts.tags ?? []).map((tags) => ({ ...s, tags })));
  const entities: PlannedEntity[] = [];
  for (const list of inOrderBy(edges, (e) => `${e.edge.from}\u0000${e.edge.relation}\u0000${e.edge.to}`).values()) {
    const { from, to, relation } = list[0].edge;
    const messageIds = new Set(list.map((e) => e.messageId));
    entities.push({ write: orderedWrite(keys.lineageOut(from, relation, to), list, lineageEdgeLatest({ from, to, relation }, 'out')), messageIds });
    entities.push({ write: orderedWrite(keys.lineageIn(to, relation, from), list, lineageEdgeLatest({ from, to, relation }, 'in')), messageIds });
  }
  for (const list of inOrderBy(tags, (t) => t.tags.node).values()) {
    const head = list[list.length - 1];
    entities.push({
      write: orderedWrite(keys.lineageTags(head.tags.node), list, lineageTagsLatest(head.tags.node), { tags: { value: head.tags.tags, at: eventOrder(head.event) } }),
      messageIds: new Set(list.map((t) => t.messageId)),
    });
  }
  return entities;
}

export interface PrincipalTagSighting {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly tags: PrincipalTags;
}

/**
 * Each principal's control tags (owner, ignore) as its newest IAM tag call shows each (ordered
 * attributes, empty once removed; who set or removed `ignore`, and when, beside it), in its own
 * item beside the principal's state: the notifier, the digest and the change feed read it.
 */
export function planPrincipalTags(sightings: readonly PrincipalTagSighting[]): PlannedEntity[] {
  return [...inOrderBy(sightings, (s) => s.tags.principal)].map(([principal, list]) => {
    const attributes: Record<string, VersionedValue> = {};
    for (const s of list) {
      const at = eventOrder(s.event);
      for (const t of s.tags.tags) {
        attributes[t.attribute] = { value: t.value ?? '', at };
        if (t.attribute === 'ignore') {
          const by = typeof s.event.record.userIdentity?.arn === 'string' ? s.event.record.userIdentity.arn : 'unknown';
          attributes.ignoreSetBy = { value: { by, at: s.event.time, eventId: s.event.eventId, value: t.value ?? '' }, at };
        }
      }
    }
    return { write: orderedWrite(keys.principalTags(principal), list, principalTagsLatest(principal), attributes), messageIds: new Set(list.map((s) => s.messageId)) };
  });
}

/**
 * What the propagator must recompute after the lineage writes: every node of a new edge and
 * every node whose tags changed, once each, caused by the newest event that touched it.
 */
export function lineageMessages(sightings: readonly LineageSighting[]): Array<{ message: LineageMessage; messageIds: Set<string> }> {
  const touched = new Map<string, { sighting: LineageSighting; messageIds: Set<string> }>();
  const touch = (node: string, s: LineageSighting) => {
    const seen = touched.get(node);
    if (!seen) touched.set(node, { sighting: s, messageIds: new Set([s.messageId]) });
    else {
      seen.messageIds.add(s.messageId);
      if (ordering(seen.sighting, s) < 0) seen.sighting = s;
    }
  };
  for (const s of sightings) {
    for (const e of s.facts.edges) {
      touch(e.from, s);
      touch(e.to, s);
    }
    for (const t of s.facts.tags ?? []) touch(t.node, s);
  }
  return [...touched].map(([node, { sighting, messageIds }]) => ({
    message: { type: 'recompute', node, cause: { eventId: sighting.event.eventId, time: sighting.event.time, account: sighting.event.account, region: sighting.event.region } },
    messageIds,
  }));
}
