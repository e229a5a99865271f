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
import { ENTITY, INDEXES, keys, WATCH_INDEX_PK } from '../shared/table-schema';
import type { AgentAnalysis } from './agents/analyze';
import { accountOfArn } from '../core/arn';
import { AGENT_DEFAULTS } from '../core/defaults';
import { keyString, orderKey, type EntityWrite, type Key, type StoredValue, type VersionedValue } from '../shared/inventory-store';
import type { Classification, NormalizedEvent } from './types';
import type { FindingObservation, PrincipalObservation, ResourceObservation } from '../core/model';
import type { LineageFacts } from './lineage/extract';
import { nodeKind, type LineageMessage } from '../core/lineage';

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
  readonly item: Record<string, unknown> & Key;
  readonly messageIds: ReadonlySet<string>;
}

export interface WritePlan {
  readonly entities: PlannedEntity[];
  readonly findings: PlannedItem[];
}

const ordering = (a: { event: NormalizedEvent }, b: { event: NormalizedEvent }) =>
  a.event.time < b.event.time ? -1 : a.event.time > b.event.time ? 1 : a.event.eventId < b.event.eventId ? -1 : a.event.eventId > b.event.eventId ? 1 : 0;

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
  private readonly items = new Map<string, { item: Record<string, unknown> & Key; messageIds: Set<string> }>();

  put(item: Record<string, unknown> & Key, messageId: string): void {
    const k = keyString(item);
    const existing = this.items.get(k);
    if (existing) existing.messageIds.add(messageId);
    else this.items.set(k, { item, messageIds: new Set([messageId]) });
  }

  list(): PlannedItem[] {
    return [...this.items.values()];
  }
}

function resourceFields(r: ResourceObservation, event: NormalizedEvent): Record<string, StoredValue> {
  return {
    entity: ENTITY.resource,
    arn: r.arn,
    kind: r.kind,
    service: r.service,
    account: r.account,
    region: r.region,
    status: r.status,
    signals: r.signals,
    lastEventName: event.eventName,
    [INDEXES.byKind.partitionKey]: `KIND#${r.kind}`,
    [INDEXES.byKind.sortKey]: r.arn,
    [INDEXES.byAccount.partitionKey]: `ACCOUNT#${r.account}`,
    [INDEXES.byAccount.sortKey]: `RESOURCE#${r.kind}#${r.arn}`,
  };
}

/** Each configuration attribute as the newest sighting that carried it showed it. */
function versionedAttributes(sightings: Sighting<ResourceObservation>[], reserved: Record<string, StoredValue>): Record<string, VersionedValue> {
  const out: Record<string, VersionedValue> = {};
  for (const s of sightings) {
    const at = orderKey(s.event);
    for (const [name, value] of Object.entries(s.observation.attributes)) {
      // Configuration never shadows the item's own fields (kind, status, keys...).
      if (!(name in reserved) && !name.endsWith('@')) out[name] = { value, at };
    }
  }
  return out;
}

const RESERVED_RESOURCE_FIELDS = ['lastPrincipal', 'discoveredBy', 'firstSeen', 'firstEventId', 'lastSeen', 'lastEventId', 'usedByAccounts', 'pk', 'sk', INDEXES.byPrincipal.partitionKey, INDEXES.byPrincipal.sortKey];

function planResource(sightings: Sighting<ResourceObservation>[]): EntityWrite {
  const head = sightings[sightings.length - 1];
  const latest = resourceFields(head.observation, head.event);
  if (head.principal) latest.lastPrincipal = head.principal;
  const reserved = { ...latest, ...Object.fromEntries(RESERVED_RESOURCE_FIELDS.map((f) => [f, true])) };
  const fill: Record<string, StoredValue> = {};
  // Who first revealed the resource: the caller of the oldest event (or, if that one had none,
  // of the oldest that had one, as a fill).
  const earliest: Record<string, StoredValue> = {};
  const discoverer = sightings.find((s) => s.principal);
  if (discoverer?.principal) {
    const target = discoverer === sightings[0] ? earliest : fill;
    target.discoveredBy = discoverer.principal;
    target[INDEXES.byPrincipal.partitionKey] = `PRINCIPAL#${discoverer.principal}`;
    target[INDEXES.byPrincipal.sortKey] = `RESOURCE#${head.observation.arn}`;
  }
  const addToSet: Record<string, string[]> = {};
  if (head.observation.kind === 'foundation-model') {
    // AWS owns foundation models; which of our accounts use one is a set that only grows.
    addToSet.usedByAccounts = [...new Set(sightings.map((s) => s.event.account))];
  }
  return {
    key: keys.resource(head.observation.arn),
    head: { time: head.event.time, eventId: head.event.eventId },
    first: { time: sightings[0].event.time, eventId: sightings[0].event.eventId },
    latest,
    attributes: versionedAttributes(sightings, reserved),
    earliest,
    fill,
    sticky: {},
    addToSet,
    onlyIfKnown: sightings.every((s) => s.observation.onlyIfKnown),
  };
}

/** Identity evidence (who the caller is) as opposed to behaviour evidence (what it did). */
const isIdentityEvidence = (path: string) => path.startsWith('userIdentity') || path === 'sessionCredentialFromConsole' || path === 'userAgent' || path.startsWith('additionalEventData');

function principalFields(p: PrincipalObservation, event: NormalizedEvent): Record<string, StoredValue> {
  return {
    entity: ENTITY.principal,
    arn: p.arn,
    ...(p.iamArn ? { iamArn: p.iamArn } : {}),
    type: p.type,
    account: p.account,
    lastEventName: event.eventName,
    lastEventSource: event.eventSource,
    [INDEXES.byAccount.partitionKey]: `ACCOUNT#${p.account}`,
    [INDEXES.byAccount.sortKey]: `PRINCIPAL#${p.arn}`,
    [INDEXES.byPrincipal.partitionKey]: `PRINCIPAL#${p.arn}`,
    [INDEXES.byPrincipal.sortKey]: '#STATE',
  };
}

function planPrincipal(sightings: Sighting<PrincipalObservation>[]): EntityWrite {
  const head = sightings[sightings.length - 1];
  const latest = principalFields(head.observation, head.event);
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
    sticky.role = 'ai-application';
    sticky[INDEXES.byKind.partitionKey] = 'ROLE#ai-application';
    attributes.aiSignals = { value: ai.observation.signals.filter((x) => !isIdentityEvidence(x.path)), at: orderKey(ai.event) };
    // The agent heuristic asks when a principal last called a model.
    attributes.lastModelCallAt = { value: ai.event.time, at: orderKey(ai.event) };
  } else {
    fill.role = first.role;
    fill[INDEXES.byKind.partitionKey] = `ROLE#${first.role}`;
  }
  fill[INDEXES.byKind.sortKey] = head.observation.arn;
  return {
    key: keys.principal(head.observation.arn),
    head: { time: head.event.time, eventId: head.event.eventId },
    first: { time: sightings[0].event.time, eventId: sightings[0].event.eventId },
    latest,
    attributes,
    earliest,
    fill,
    sticky,
    addToSet: {},
    onlyIfKnown: false,
  };
}

export function findingItem(f: FindingObservation): Record<string, unknown> & Key {
  const order = `${f.time}#${f.eventId}#${f.rule}`;
  return {
    ...keys.finding(f.resource, f.time, f.eventId, f.rule),
    entity: ENTITY.finding,
    ...f,
    [INDEXES.byKind.partitionKey]: `SEVERITY#${f.severity}`,
    [INDEXES.byKind.sortKey]: order,
    [INDEXES.byAccount.partitionKey]: `ACCOUNT#${f.account}`,
    [INDEXES.byAccount.sortKey]: `FINDING#${order}`,
    ...(f.principal ? { [INDEXES.byPrincipal.partitionKey]: `PRINCIPAL#${f.principal}`, [INDEXES.byPrincipal.sortKey]: `FINDING#${order}` } : {}),
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
    for (const f of classification.findings) findings.put(findingItem(f), messageId);
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

/**
 * How long a denial marker (read only by the burst check) outlives its event: far longer than
 * any burst window, long enough for a redelivered or late batch to still see it.
 */
const DENIAL_MARKER_RETENTION_SECONDS = 7 * 86_400;


/**
 * The agent step's writes: each agent's profile (an ordered merge, like any entity), its
 * ledger entries, denial markers and findings (immutable), the watched principals (immutable) and the
 * functions' execution roles.
 */
export function planAgentWrites(analysis: AgentAnalysis, ledgerRetentionDays: number = AGENT_DEFAULTS.ledgerRetentionDays): { entities: PlannedEntity[]; items: PlannedItem[] } {
  const entities: PlannedEntity[] = [];
  const items = new ItemSet();
  const put = (item: Record<string, unknown> & Key, messageId: string) => items.put(item, messageId);

  // Profiles: every event that shows the agent, acting or being named as one.
  type ProfileSighting = { messageId: string; event: NormalizedEvent; agent: string };
  const sightings: ProfileSighting[] = [
    ...analysis.actions.map((a) => ({ messageId: a.messageId, event: a.event, agent: a.agent })),
    ...analysis.evidence.map((e) => ({ messageId: e.messageId, event: e.event, agent: e.evidence.principal })),
  ];
  const evidenceOf = inOrderBy(analysis.evidence, (e) => e.evidence.principal);
  const actionsOf = groupBy(analysis.actions, (a) => a.agent);
  for (const [agent, list] of inOrderBy(sightings, (s) => s.agent)) {
    const head = list[list.length - 1];
    const account = accountOfArn(agent);
    const attributes: Record<string, VersionedValue> = {};
    const evidence = evidenceOf.get(agent) ?? [];
    for (const e of evidence) {
      attributes[`evidence:${e.evidence.how}`] = {
        value: { how: e.evidence.how, ...(e.evidence.agent ? { agent: e.evidence.agent } : {}), eventId: e.event.eventId, time: e.event.time, signals: e.evidence.signals },
        at: orderKey(e.event),
      };
    }
    const actions = actionsOf.get(agent) ?? [];
    const agentOf = [...new Set(evidence.flatMap((x) => (x.evidence.agent ? [x.evidence.agent] : [])))];
    entities.push({
      write: {
        key: keys.agentProfile(agent),
        head: { time: head.event.time, eventId: head.event.eventId },
        first: { time: list[0].event.time, eventId: list[0].event.eventId },
        latest: {
          entity: ENTITY.agent,
          arn: agent,
          account,
          lastEventName: head.event.eventName,
          lastEventSource: head.event.eventSource,
          [INDEXES.byKind.partitionKey]: 'AGENT',
          [INDEXES.byKind.sortKey]: agent,
          [INDEXES.byAccount.partitionKey]: `ACCOUNT#${account}`,
          [INDEXES.byAccount.sortKey]: `AGENT#${agent}`,
        },
        attributes,
        earliest: {},
        fill: {},
        sticky: {},
        addToSet: {
          agentOf,
          servicesTouched: [...new Set(actions.map((a) => a.event.eventSource))],
          modelsUsed: [...new Set(actions.flatMap((a) => a.models))],
        },
        onlyIfKnown: false,
      },
      messageIds: new Set(list.map((s) => s.messageId)),
    });
  }

  for (const a of analysis.actions) {
    put(
      {
        ...keys.agentAction(a.agent, a.event.time, a.event.eventId),
        entity: ENTITY.agentAction,
        agent: a.agent,
        eventId: a.event.eventId,
        time: a.event.time,
        eventSource: a.event.eventSource,
        eventName: a.event.eventName,
        classes: a.classes,
        outcome: a.outcome,
        resources: a.resources,
        account: a.event.account,
        region: a.event.region,
        ...(a.session ? { session: a.session } : {}),
        ...(typeof a.event.record.sourceIPAddress === 'string' ? { sourceIPAddress: a.event.record.sourceIPAddress } : {}),
        expiresAt: Math.floor(Date.parse(a.event.time) / 1000) + ledgerRetentionDays * 86_400,
      },
      a.messageId,
    );
  }
  for (const a of analysis.actions.filter((x) => x.classes.includes('denied'))) {
    put(
      {
        ...keys.agentDenial(a.agent, a.event.time, a.event.eventId),
        entity: ENTITY.agentDenial,
        time: a.event.time,
        eventId: a.event.eventId,
        expiresAt: Math.floor(Date.parse(a.event.time) / 1000) + DENIAL_MARKER_RETENTION_SECONDS,
      },
      a.messageId,
    );
  }
  for (const f of analysis.findings) put(findingItem(f.finding), f.messageId);
  for (const w of analysis.watch) {
    put({ ...keys.watch(w.principal), entity: ENTITY.watch, principal: w.principal, ...(w.iamArn ? { iamArn: w.iamArn } : {}), reason: w.reason, [INDEXES.byKind.partitionKey]: WATCH_INDEX_PK, [INDEXES.byKind.sortKey]: w.principal }, w.messageId);
  }

  for (const [functionArn, list] of inOrderBy(analysis.functionRoles, (f) => f.fact.functionArn)) {
    const head = list[list.length - 1];
    entities.push({
      write: {
        key: keys.function(functionArn),
        head: { time: head.event.time, eventId: head.event.eventId },
        first: { time: list[0].event.time, eventId: list[0].event.eventId },
        latest: { entity: ENTITY.function, arn: functionArn, signals: head.fact.signals },
        attributes: { role: { value: head.fact.role, at: orderKey(head.event) } },
        earliest: {},
        fill: {},
        sticky: {},
        addToSet: {},
        onlyIfKnown: false,
      },
      messageIds: new Set(list.map((f) => f.messageId)),
    });
  }
  return { entities, items: items.list() };
}

export interface LineageSighting {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly facts: LineageFacts;
}

function orderedWrite(key: Key, list: readonly { event: NormalizedEvent }[], latest: Record<string, StoredValue>, attributes: Record<string, VersionedValue> = {}): EntityWrite {
  const head = list[list.length - 1];
  return {
    key,
    head: { time: head.event.time, eventId: head.event.eventId },
    first: { time: list[0].event.time, eventId: list[0].event.eventId },
    latest,
    attributes,
    earliest: {},
    fill: {},
    sticky: {},
    addToSet: {},
    onlyIfKnown: false,
  };
}

/**
 * The lineage step's writes: each edge under both of its nodes, and each bucket's tags as its
 * newest tag event shows them. Ordered merges: an edge's `firstSeen`/`firstEventId` name the
 * event that first showed it, whatever order the events come in.
 */
export function planLineageWrites(sightings: readonly LineageSighting[]): PlannedEntity[] {
  const edges = sightings.flatMap((s) => s.facts.edges.map((edge) => ({ ...s, edge })));
  const tags = sightings.flatMap((s) => (s.facts.bucketTags ? [{ ...s, tags: s.facts.bucketTags }] : []));
  const entities: PlannedEntity[] = [];
  for (const list of inOrderBy(edges, (e) => `${e.edge.from}\u0000${e.edge.relation}\u0000${e.edge.to}`).values()) {
    const { from, to, relation } = list[0].edge;
    const fields = { entity: ENTITY.lineageEdge, from, to, relation, fromKind: nodeKind(from), toKind: nodeKind(to) };
    const messageIds = new Set(list.map((e) => e.messageId));
    entities.push({ write: orderedWrite(keys.lineageOut(from, relation, to), list, { ...fields, direction: 'out' }), messageIds });
    entities.push({ write: orderedWrite(keys.lineageIn(to, relation, from), list, { ...fields, direction: 'in' }), messageIds });
  }
  for (const list of inOrderBy(tags, (t) => t.tags.bucket).values()) {
    const head = list[list.length - 1];
    entities.push({
      write: orderedWrite(keys.lineageTags(head.tags.bucket), list, { entity: ENTITY.lineageTags, bucket: head.tags.bucket }, { tags: { value: head.tags.tags, at: orderKey(head.event) } }),
      messageIds: new Set(list.map((t) => t.messageId)),
    });
  }
  return entities;
}

/**
 * What the propagator must recompute after the lineage writes: every node of a new edge and
 * every bucket whose tags changed, once each, caused by the newest event that touched it.
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
    if (s.facts.bucketTags) touch(s.facts.bucketTags.bucket, s);
  }
  return [...touched].map(([node, { sighting, messageIds }]) => ({
    message: { type: 'recompute', node, cause: { eventId: sighting.event.eventId, time: sighting.event.time, account: sighting.event.account, region: sighting.event.region } },
    messageIds,
  }));
}
