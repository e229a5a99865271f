/**
 * Lineage items: each edge under both of its nodes, a node's computed sensitivity, and a
 * bucket's tags as tag events showed them (docs/lineage.md). Builders and readers.
 */
import { nodeKind, type Cause, type EventRef, type OwnClassification, type Relation, type SensitivityFrom } from '../../core/lineage';
import { ENTITY, indexKeys, keys } from './keys';
import { isRecord, num, stringRecord, textOr, textOrNull, type Item, type RawItem, type StoredValue } from './read';
import { readSensitivityFrom } from './inventory';

/** The fields of an edge as stored under one of its nodes. */
export function lineageEdgeLatest(edge: { from: string; to: string; relation: Relation }, direction: 'in' | 'out'): Record<string, StoredValue> {
  return { entity: ENTITY.lineageEdge, from: edge.from, to: edge.to, relation: edge.relation, fromKind: nodeKind(edge.from), toKind: nodeKind(edge.to), direction };
}

export interface LineageEdgeItem {
  readonly from: string;
  readonly to: string;
  readonly relation: string;
  readonly direction: 'in' | 'out';
  /** The event that first showed the edge. */
  readonly firstSeen: string;
  readonly firstEventId: string;
  readonly sk: string;
}

export function readLineageEdge(item: RawItem | undefined): LineageEdgeItem | undefined {
  if (!item || item.entity !== ENTITY.lineageEdge || typeof item.from !== 'string' || typeof item.to !== 'string') return undefined;
  return {
    from: item.from,
    to: item.to,
    relation: textOr(item.relation, ''),
    direction: item.direction === 'in' ? 'in' : 'out',
    firstSeen: textOr(item.firstSeen, ''),
    firstEventId: textOr(item.firstEventId, ''),
    sk: textOr(item.sk, ''),
  };
}

/** The level each lineage rule was last raised at, per node (by rule id). */
export type Raised = Readonly<Partial<Record<string, string>>>;

export interface LineageNodeState {
  readonly node: string;
  readonly kind: string;
  readonly own: OwnClassification | null;
  readonly sensitivity: string | null;
  readonly sensitivityFrom: SensitivityFrom | null;
  /** The latest event the sensitivity rests on (findings are attributed to it). */
  readonly basis: EventRef | null;
  readonly raised: Raised;
  readonly upstreamTruncated: boolean;
  readonly rev?: number;
}

/** A node's computed state, written conditionally on its revision by the propagator. */
export function lineageNodeItem(state: LineageNodeState, rev: number, cause: Cause): Item {
  return {
    ...keys.lineageNode(state.node),
    entity: ENTITY.lineageNode,
    node: state.node,
    kind: state.kind,
    own: state.own,
    sensitivity: state.sensitivity,
    sensitivityFrom: state.sensitivityFrom,
    basis: state.basis,
    raised: state.raised,
    upstreamTruncated: state.upstreamTruncated,
    rev,
    cause,
    ...(state.sensitivity ? indexKeys.nodeBySensitivity(state.sensitivity, state.node) : {}),
  };
}

export function readOwnClassification(v: unknown): OwnClassification | null {
  if (!isRecord(v)) return null;
  return {
    level: textOrNull(v.level),
    ...(typeof v.tag === 'string' ? { tag: v.tag } : {}),
    at: textOr(v.at, ''),
    ...(typeof v.eventId === 'string' ? { eventId: v.eventId } : {}),
    source: v.source === 'lookup' ? 'lookup' : 'event',
    ...(typeof v.problem === 'string' ? { problem: v.problem } : {}),
  };
}

export function readLineageNode(item: RawItem | undefined): LineageNodeState | undefined {
  if (!item || item.entity !== ENTITY.lineageNode || typeof item.node !== 'string') return undefined;
  return {
    node: item.node,
    kind: textOr(item.kind, 'unknown'),
    own: readOwnClassification(item.own),
    sensitivity: textOrNull(item.sensitivity),
    sensitivityFrom: readSensitivityFrom(item.sensitivityFrom),
    basis: readEventRef(item.basis),
    raised: stringRecord(item.raised),
    upstreamTruncated: item.upstreamTruncated === true,
    ...(num(item.rev) !== undefined ? { rev: num(item.rev) } : {}),
  };
}

/** A node's tags as its newest tag event showed them (the `tags` attribute is ordered by event): a bucket's set, another node's classification tag. */
export const lineageTagsLatest = (node: string): Record<string, StoredValue> => ({ entity: ENTITY.lineageTags, node });

/** A node's tags and the event that showed them (the `tags@` version is `<time>#<eventId>[#<hash>]`). */
export function readLineageTags(item: RawItem | undefined): { tags: Record<string, string>; at: string; eventId: string } | undefined {
  if (!item || !isRecord(item.tags) || typeof item['tags@'] !== 'string') return undefined;
  const [at, eventId = ''] = item['tags@'].split('#');
  return { tags: stringRecord(item.tags), at, eventId };
}

export function readEventRef(v: unknown): EventRef | null {
  return isRecord(v) && typeof v.time === 'string' && typeof v.eventId === 'string' ? { time: v.time, eventId: v.eventId } : null;
}
