/**
 * The lineage propagator: carries sensitivity down the lineage graph, one node per message.
 *
 * A `recompute` message recomputes one node from its own classification (the classification tag
 * of a bucket, or of any node its owner can tag: `carriesOwnClassification`) and its upstream
 * nodes' stored states (`resolveSensitivity`); when the result changes, it
 * stores it, mirrors it onto the node's inventory item, raises the findings the change calls for,
 * and sends one `fanout` message. A `fanout` message sends a `recompute` to one page of the
 * node's downstream nodes, and a `fanout` for the next page. So no invocation walks the graph:
 * the work of one message is bounded by one node's edges (at most MAX_IN_EDGES read, FANOUT_PAGE
 * sent), and a change travels as far as it changes something, hop by hop, through the queue.
 *
 * The queue is FIFO, grouped by node: two recomputations of one node never overlap, and the last
 * one always runs after the last change of any upstream node, because every change sends its
 * downstream a fresh message after it is written. That is what makes the result converge to
 * the same fixed point whatever the order the events came in.
 */
import type { InventoryStore } from '../shared/inventory-store';
import {
  ENTITY,
  findingItem,
  keys,
  keyString,
  lineageNodeItem,
  lookupItem,
  RANGES,
  readFreshLookup,
  readLineageEdge,
  readLineageNode,
  readLineageTags,
  readOwnClassification,
  type Key,
  type LineageNodeState,
} from '../shared/items';
import type { LookedUpTags } from '../shared/items';
import type { LookupRequest } from '../shared/tag-lookup';
import {
  carriesOwnClassification,
  isBucketNode,
  isInventoryNode,
  isRelation,
  levelOf,
  mayChange,
  nodeKind,
  RELATIONS,
  resolveSensitivity,
  type Cause,
  type ClassificationScheme,
  type LineageMessage,
  type LineageQueue,
  type OwnClassification,
  type UpstreamState,
} from '../core/lineage';
import { lineageFindings } from './findings';

/** Incoming edges read per recomputation; beyond it the node is marked `upstreamTruncated`. */
export const MAX_IN_EDGES = 1000;
/** Downstream nodes told to recompute per fanout message. */
export const FANOUT_PAGE = 100;
/** How long a GetBucketTagging answer (or its refusal) is trusted. */
export const TAG_LOOKUP_TTL_SECONDS = 6 * 3600;

export interface BucketTagLookup {
  /**
   * A bucket's tags: `{ tags }`, `{ tags: {} }` when it has none (NoSuchTagSet), or
   * `{ problem }` when they cannot be read (AccessDenied, a bucket in another account...).
   * Throws only for errors worth a retry (throttling, network).
   */
  (bucket: string): Promise<{ tags: Record<string, string> } | { problem: string }>;
}

export interface PropagatorDependencies {
  readonly store: InventoryStore;
  readonly queue: LineageQueue;
  readonly scheme: ClassificationScheme;
  /** Absent locally: buckets are then classified by the tag events replayed only. */
  readonly lookupTags?: BucketTagLookup;
  /**
   * The tags of other resources (cached GetResources, shared with the change feed and the
   * tagger); a failed lookup leaves the resource out, and the tag events alone decide. Absent
   * locally.
   */
  readonly lookupResourceTags?: (request: LookupRequest) => Promise<Map<string, LookedUpTags>>;
  readonly now?: () => number;
  readonly log?: { warn(message: string, extra: Record<string, unknown>): void };
  /** @default MAX_IN_EDGES and FANOUT_PAGE */
  readonly limits?: { readonly inEdges: number; readonly fanoutPage: number };
}

export interface PropagationStats {
  recomputed: number;
  /** Downstream nodes a fanout did not tell, because the change cannot change them. */
  skipped: number;
  changed: number;
  findings: number;
  sent: number;
  tagLookups: number;
}

export type NodeState = LineageNodeState;

const sameState = (a: NodeState | undefined, b: NodeState) =>
  a !== undefined &&
  JSON.stringify([a.own, a.sensitivity, a.sensitivityFrom, a.basis, a.raised, a.upstreamTruncated]) === JSON.stringify([b.own, b.sensitivity, b.sensitivityFrom, b.basis, b.raised, b.upstreamTruncated]);

/** The tag set's value for the scheme's key (exact key first, then any case). */
function tagValue(scheme: ClassificationScheme, tags: Record<string, string>): { key: string; value: string } | undefined {
  if (scheme.tagKey in tags) return { key: scheme.tagKey, value: tags[scheme.tagKey] };
  const key = Object.keys(tags).find((k) => k.toLowerCase() === scheme.tagKey.toLowerCase());
  return key === undefined ? undefined : { key, value: tags[key] };
}

export function classificationFromTags(scheme: ClassificationScheme, tags: Record<string, string>, at: string, source: OwnClassification['source'], eventId?: string): OwnClassification {
  const tag = tagValue(scheme, tags);
  const seen = { at, source, ...(eventId ? { eventId } : {}) };
  if (!tag) return { level: null, ...seen };
  const level = levelOf(scheme, tag.value);
  return level
    ? { level, tag: `${tag.key}=${tag.value}`, ...seen }
    : { level: null, tag: `${tag.key}=${tag.value}`, ...seen, problem: `${tag.key}=${tag.value} is not one of ${scheme.levels.join(', ')}` };
}

export function createPropagator(deps: PropagatorDependencies) {
  const { store, queue, scheme } = deps;
  const now = deps.now ?? Date.now;
  const { inEdges: maxInEdges, fanoutPage } = deps.limits ?? { inEdges: MAX_IN_EDGES, fanoutPage: FANOUT_PAGE };
  const stats: PropagationStats = { recomputed: 0, skipped: 0, changed: 0, findings: 0, sent: 0, tagLookups: 0 };

  async function send(messages: LineageMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await queue.send(messages);
    stats.sent += messages.length;
  }

  /** A bucket's own classification: the newer of its last tag event and its last lookup, looking up when the lookup is stale. */
  async function ownClassification(bucket: string, fromEvents: Record<string, unknown> | undefined, cached: Record<string, unknown> | undefined): Promise<OwnClassification | null> {
    const tagged = readLineageTags(fromEvents);
    const byEvent = tagged ? classificationFromTags(scheme, tagged.tags, tagged.at, 'event', tagged.eventId) : undefined;
    const fresh = readFreshLookup(cached, now());
    let byLookup = fresh ? (readOwnClassification(fresh.value) ?? undefined) : undefined;
    if (!byLookup && deps.lookupTags) {
      stats.tagLookups++;
      const at = new Date(now()).toISOString();
      const answer = await deps.lookupTags(bucket.split(':::')[1]);
      byLookup = 'tags' in answer ? classificationFromTags(scheme, answer.tags, at, 'lookup') : { level: null, at, source: 'lookup', problem: answer.problem };
      if ('problem' in answer) deps.log?.warn('cannot read the tags of a bucket: its classification is unknown', { bucket, problem: answer.problem });
      await store.putItems([lookupItem('bucket-tags', bucket, byLookup, Math.floor(now() / 1000) + TAG_LOOKUP_TTL_SECONDS)]);
    }
    if (byEvent && byLookup) return byEvent.at >= byLookup.at ? byEvent : byLookup;
    return byEvent ?? byLookup ?? (deps.lookupTags ? null : { level: null, at: '', source: 'event', problem: 'no tag event seen and no tag lookup available' });
  }

  /**
   * Another taggable node's own classification: the newer of its last classification tag event
   * and the (cached) lookup of its tags. Null when neither shows the tag: an untagged knowledge
   * base is not "unclassified" news, only its upstream decides.
   */
  async function resourceClassification(node: string, fromEvents: Record<string, unknown> | undefined): Promise<OwnClassification | null> {
    const tagged = readLineageTags(fromEvents);
    const byEvent = tagged ? classificationFromTags(scheme, tagged.tags, tagged.at, 'event', tagged.eventId) : undefined;
    let byLookup: OwnClassification | undefined;
    if (deps.lookupResourceTags) {
      const region = node.split(':')[3] ?? '';
      const found = (await deps.lookupResourceTags({ resources: [{ arn: node, region }] })).get(node);
      if (found) {
        stats.tagLookups++;
        byLookup = classificationFromTags(scheme, found.tags, found.at, 'lookup');
      }
    }
    const newer = byEvent && byLookup ? (byEvent.at >= byLookup.at ? byEvent : byLookup) : (byEvent ?? byLookup);
    return newer && (newer.level || newer.tag || newer.problem) ? newer : null;
  }

  async function recompute(node: string, cause: Cause): Promise<void> {
    stats.recomputed++;
    const bucket = isBucketNode(node);
    const taggable = carriesOwnClassification(node);
    const wanted: Key[] = [keys.lineageNode(node), ...(taggable ? [keys.lineageTags(node)] : []), ...(bucket ? [keys.lookup('bucket-tags', node)] : [])];
    const [items, inEdges] = await Promise.all([store.getItems(wanted), store.queryRange(keys.lineageNode(node).pk, RANGES.lineageIn.from, RANGES.lineageIn.to, { limit: maxInEdges + 1 })]);
    const before = readLineageNode(items.get(keyString(keys.lineageNode(node))));
    const truncated = inEdges.length > maxInEdges;
    const edges = inEdges.slice(0, maxInEdges).flatMap((item) => {
      const e = readLineageEdge(item);
      return e && isRelation(e.relation) ? [{ from: e.from, relation: e.relation, edge: { time: e.firstSeen, eventId: e.firstEventId } }] : [];
    });
    const upstreamItems = await store.getItems([...new Set(edges.map((e) => e.from))].map((from) => keys.lineageNode(from)));
    const upstream: UpstreamState[] = edges.flatMap((e) => {
      const s = readLineageNode(upstreamItems.get(keyString(keys.lineageNode(e.from))));
      return s ? [{ node: e.from, relation: e.relation, own: s.own, sensitivity: s.sensitivity, sensitivityFrom: s.sensitivityFrom, basis: s.basis, edge: e.edge }] : [];
    });
    const tags = items.get(keyString(keys.lineageTags(node)));
    const own = bucket ? await ownClassification(node, tags, items.get(keyString(keys.lookup('bucket-tags', node)))) : taggable ? await resourceClassification(node, tags) : null;
    const resolved = resolveSensitivity(scheme, node, own, upstream);
    const kind = nodeKind(node);
    const { raised, findings } = lineageFindings(scheme, { node, kind, own, ...resolved }, before?.raised ?? {}, upstream, cause);
    const after: NodeState = { node, kind, own, ...resolved, raised, upstreamTruncated: truncated };
    if (truncated) deps.log?.warn('node has more incoming edges than are read: its sensitivity may miss some', { node, read: maxInEdges });
    const mirror = { sensitivity: resolved.sensitivity, sensitivityFrom: resolved.sensitivityFrom };
    if (sameState(before, after)) {
      // The inventory item may have appeared since the node last changed (a bucket's first model
      // file arrives after its tag): give it the sensitivity if it has none yet.
      if (resolved.sensitivity && isInventoryNode(node)) await store.setFieldsIf(keys.resource(node), mirror, { field: 'entity', value: ENTITY.resource, absent: 'sensitivity' });
      return;
    }

    stats.changed++;
    // Findings first: if the node write below fails, the retry recomputes the same change and
    // writes the same findings (same keys) again, harmlessly.
    if (findings.length) {
      const failed = await store.putItems(findings.map((f) => findingItem(f, 'lineage-propagator')));
      if (failed.length) throw new Error(`${failed.length} lineage finding(s) not written for ${node}`);
      stats.findings += findings.length;
    }
    const rev = (before?.rev ?? 0) + 1;
    const item = lineageNodeItem(after, rev, cause);
    if (!(await store.putIfRevision(item, before?.rev))) throw new Error(`${node}: written concurrently; the message will be retried`);
    if (isInventoryNode(node)) {
      await store.setFieldsIf(keys.resource(node), mirror, { field: 'entity', value: ENTITY.resource });
    }
    if (sensitivityChanged(before, after)) await send([{ type: 'fanout', node, cause: { ...cause, via: node, rev } }]);
  }

  async function fanout(node: string, cause: Cause, after: string | undefined): Promise<void> {
    const page = await store.queryRange(keys.lineageNode(node).pk, after ?? RANGES.lineageOut.from, RANGES.lineageOut.to, { limit: fanoutPage + 2 });
    const edges = page.flatMap((item) => {
      const e = readLineageEdge(item);
      return e && e.sk !== after && isRelation(e.relation) ? [{ ...e, relation: e.relation }] : [];
    }).slice(0, fanoutPage + 1);
    const more = edges.length > fanoutPage;
    const current = edges.slice(0, fanoutPage);
    const targets = [...new Set(current.map((e) => e.to))];
    const states = await store.getItems([node, ...targets].map((n) => keys.lineageNode(n)));
    const source = readLineageNode(states.get(keyString(keys.lineageNode(node))));
    const messages: LineageMessage[] = [];
    for (const to of targets) {
      const target = readLineageNode(states.get(keyString(keys.lineageNode(to))));
      const relations = current.filter((e) => e.to === to).map((e) => e.relation);
      // A logging store's findings read its upstream directly: always tell it.
      const tell =
        !source ||
        relations.some((relation) => relation === RELATIONS.logsTo || mayChange(scheme, { node, relation, own: source.own, sensitivity: source.sensitivity, sensitivityFrom: source.sensitivityFrom }, target));
      if (tell) messages.push({ type: 'recompute', node: to, cause });
      else stats.skipped++;
    }
    if (more) messages.push({ type: 'fanout', node, cause, after: current[current.length - 1].sk });
    await send(messages);
  }

  return {
    stats,
    async handle(message: LineageMessage): Promise<void> {
      if (message.type === 'recompute') await recompute(message.node, message.cause);
      else await fanout(message.node, message.cause, message.after);
    },
  };
}

/** Whether downstream nodes can see the change: what `resolveSensitivity` reads of a node. */
function sensitivityChanged(before: NodeState | undefined, after: NodeState): boolean {
  return JSON.stringify([before?.own ?? null, before?.sensitivity ?? null, before?.sensitivityFrom ?? null, before?.basis ?? null]) !== JSON.stringify([after.own, after.sensitivity, after.sensitivityFrom, after.basis]);
}
