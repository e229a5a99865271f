/**
 * Data lineage: the graph of which data and models flow into which AI resources, and the
 * sensitivity carried along it. Shared by the classifier (which records edges from create
 * events), the lineage propagator (which carries sensitivity down the edges) and the queries.
 *
 * Nodes are named by ARN: AI resources by their canonical inventory ARN, S3 data by the ARN of
 * the bucket (`arn:aws:s3:::bucket`) or of a location in it (`arn:aws:s3:::bucket/prefix`),
 * Lambda functions, CloudWatch log groups and the per-region Bedrock invocation-logging
 * configuration by theirs. Knowledge-base data sources have no ARN and get a
 * `urn:ai-visibility:` name.
 *
 * An edge `{from, to, relation}` says data flows from `from` into `to`. Each edge is kept twice,
 * under both of its nodes (`OUT#` under `from`, `IN#` under `to`), so walking up or down the
 * graph is one Query per node, strongly consistent, with no index.
 */
import { sha256Hex } from './hash';
import { kindOfArn, parseArn } from './arn';
import { CLASSIFICATION_DEFAULTS } from './defaults';
import { routeOf } from './tagging';

export const RELATIONS = {
  /** bucket -> a location in it: carries the bucket's own classification, nothing derived. */
  contains: 'contains',
  /** data -> the job that reads it */
  inputOf: 'input-of',
  /** job -> where it writes */
  outputTo: 'output-to',
  /** job -> the model or model artifact it creates */
  produces: 'produces',
  /** foundation or custom model -> the customization job built on it */
  baseModelOf: 'base-model-of',
  /** model artifact -> the model that serves it */
  modelDataOf: 'model-data-of',
  /** model -> what runs it (endpoint config, provisioned throughput, transform or batch job, agent) */
  modelOf: 'model-of',
  /** endpoint config -> endpoint */
  configOf: 'config-of',
  /** data -> a knowledge base's data source */
  sourceOf: 'source-of',
  /** data source -> the knowledge base it is ingested into */
  ingestedInto: 'ingested-into',
  /** embedding model -> knowledge base */
  embeddingModelOf: 'embedding-model-of',
  /** knowledge base -> agent */
  knowledgeBaseOf: 'knowledge-base-of',
  /** action-group Lambda function -> agent */
  toolOf: 'tool-of',
  /** model, agent or knowledge base -> the region's Bedrock invocation-logging configuration */
  invocationsLoggedBy: 'invocations-logged-by',
  /** logging configuration or endpoint data capture -> the store the prompts land in */
  logsTo: 'logs-to',
  /** model file -> its bucket */
  storedIn: 'stored-in',
  /** S3 object -> its copy */
  copiedTo: 'copied-to',
} as const;
export type Relation = (typeof RELATIONS)[keyof typeof RELATIONS];

const RELATION_NAMES: ReadonlySet<string> = new Set(Object.values(RELATIONS));
export const isRelation = (v: unknown): v is Relation => typeof v === 'string' && RELATION_NAMES.has(v);

export interface LineageEdge {
  readonly from: string;
  readonly to: string;
  readonly relation: Relation;
}

/** The ordered classification levels and the tag that carries them (configurable). */
export interface ClassificationScheme {
  readonly tagKey: string;
  /** Lowest first. */
  readonly levels: readonly string[];
  /** Findings are raised from this level up. */
  readonly sensitiveFrom: string;
}

export const DEFAULT_CLASSIFICATION: ClassificationScheme = CLASSIFICATION_DEFAULTS;

/** 0 for no classification, then 1.. for the levels, lowest first. */
export function rank(scheme: ClassificationScheme, level: string | null | undefined): number {
  return level ? scheme.levels.indexOf(level) + 1 : 0;
}

/** The level a tag value names (case-insensitive), or undefined when it names none. */
export function levelOf(scheme: ClassificationScheme, value: string): string | undefined {
  const v = value.trim().toLowerCase();
  return scheme.levels.find((l) => l.toLowerCase() === v);
}

/** Node ids are item keys: DynamoDB sort keys hold at most 1024 bytes, so very long S3 keys are cut and hashed. */
const MAX_NODE_ID = 700;

function capped(id: string): string {
  if (Buffer.byteLength(id) <= MAX_NODE_ID) return id;
  return `${Buffer.from(id).subarray(0, MAX_NODE_ID - 80).toString().replace(/\uFFFD+$/, '')}...#sha256:${sha256Hex(id).slice(0, 32)}`;
}

const S3_URI = /^s3:\/\/([^/]+)\/?(.*)$/i;
// https://bucket.s3.amazonaws.com/key, https://bucket.s3.us-east-1.amazonaws.com/key, https://bucket.s3-us-west-2.amazonaws.com/key
const S3_VIRTUAL_HOST = /^https:\/\/([^/]+?)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?\/?(.*)$/i;
// https://s3.amazonaws.com/bucket/key, https://s3.us-east-1.amazonaws.com/bucket/key, https://s3-us-west-2.amazonaws.com/bucket/key
const S3_PATH_STYLE = /^https:\/\/s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?\/([^/]+)\/?(.*)$/i;
const S3_ARN = /^arn:(aws[a-z-]*):s3:::([^/]+)\/?(.*)$/;

/**
 * The node of an S3 location given as `s3://`, an S3 https URL or an S3 ARN: the bucket ARN, or
 * `arn:<partition>:s3:::bucket/key` without trailing slashes (`s3://b/data/` and `s3://b/data`
 * are one location). Undefined for anything else.
 */
export function s3Node(partition: string, location: string): string | undefined {
  const m = S3_URI.exec(location) ?? S3_VIRTUAL_HOST.exec(location) ?? S3_PATH_STYLE.exec(location);
  const arn = S3_ARN.exec(location);
  const [p, bucket, key] = arn ? [arn[1], arn[2], arn[3]] : m ? [partition, m[1], m[2]] : [];
  // Bucket names are 3 to 63 characters (S3 bucket naming rules).
  if (!bucket || !/^[a-z0-9][a-z0-9._-]{2,62}$/i.test(bucket)) return undefined;
  const path = (key ?? '').split('?')[0].replace(/\/+$/, '');
  return capped(path ? `arn:${p}:s3:::${bucket}/${path}` : `arn:${p}:s3:::${bucket}`);
}

/** The bucket of an S3 node, or undefined when the node is not S3. */
export function bucketOf(node: string): string | undefined {
  const m = /^(arn:aws[a-z-]*:s3:::[^/]+)(?:\/|$)/.exec(node);
  return m?.[1];
}

export const isBucketNode = (node: string) => bucketOf(node) === node;

export const NODE_KINDS = ['s3-bucket', 's3-location', 'lambda-function', 'log-group', 'knowledge-base-data-source', 'invocation-logging-config', 'unknown'] as const;

/** What a node is: its inventory kind for AI resources, else one of NODE_KINDS. */
export function nodeKind(node: string): string {
  const ai = kindOfArn(node);
  if (ai) return ai.kind;
  if (bucketOf(node)) return isBucketNode(node) ? 's3-bucket' : 's3-location';
  if (node.startsWith('urn:ai-visibility:bedrock:') && node.includes('/data-source/')) return 'knowledge-base-data-source';
  const arn = parseArn(node);
  if (arn?.service === 'lambda' && arn.resourceType === 'function') return 'lambda-function';
  if (arn?.service === 'logs' && arn.resourceType === 'log-group') return 'log-group';
  if (arn?.service === 'bedrock' && arn.resourceType === 'model-invocation-logging-configuration') return 'invocation-logging-config';
  return 'unknown';
}

/**
 * Whether a node can carry a classification of its own, from its tags: a bucket, or a resource
 * its owner can tag (a knowledge base over Confluence, a SageMaker model trained elsewhere, a log
 * group). Not an S3 location (its bucket's classification reaches it over `contains`), a
 * knowledge-base data source (no ARN, no tags), nor what AWS owns or cannot be tagged (foundation
 * models, system inference profiles, AgentCore memory, the logging configuration): the same
 * answer the tagger's `routeOf` gives.
 */
export function carriesOwnClassification(node: string): boolean {
  if (isBucketNode(node)) return true;
  if (bucketOf(node) || !/^arn:[^:]+:[^:]+:[^:]*:\d{12}:/.test(node)) return false;
  return 'route' in routeOf({ arn: node, kind: nodeKind(node), account: '' }, { account: null });
}

/** Kinds whose sensitivity is mirrored onto their inventory item. */
export const isInventoryNode = (node: string) => kindOfArn(node) !== undefined || isBucketNode(node);

/** The Bedrock invocation-logging configuration of an account and region (one per region). */
export function loggingConfigNode(partition: string, region: string, account: string): string {
  return `arn:${partition}:bedrock:${region}:${account}:model-invocation-logging-configuration/default`;
}

export function dataSourceNode(region: string, account: string, knowledgeBaseId: string, dataSourceId: string): string {
  return `urn:ai-visibility:bedrock:${region}:${account}:knowledge-base/${knowledgeBaseId}/data-source/${dataSourceId}`;
}

/** Where a node's sensitivity comes from: the classified source and the path data took from it. */
export interface SensitivityFrom {
  /** The node whose own classification this is (a bucket). */
  readonly arn: string;
  /** The tag that classified it, as `key=value`. */
  readonly tag: string;
  /** Nodes from the source to this one, both included. */
  readonly path: readonly string[];
}

/** A bucket's own classification, as its tags showed it. */
/** An event, by the two things that order it. */
export interface EventRef {
  readonly time: string;
  readonly eventId: string;
}

/** The later of two events (by time, then id); undefined only when both are. */
export function laterOf(a: EventRef | null | undefined, b: EventRef | null | undefined): EventRef | undefined {
  if (!a) return b ?? undefined;
  if (!b) return a;
  return `${b.time}#${b.eventId}` > `${a.time}#${a.eventId}` ? b : a;
}

export interface OwnClassification {
  readonly level: string | null;
  /** `key=value` of the tag read, when there was one. */
  readonly tag?: string;
  /** When the tags were seen: the tag event's time, or the lookup's. */
  readonly at: string;
  /** The tag event that showed them (source `event`). */
  readonly eventId?: string;
  readonly source: 'event' | 'lookup';
  /** Why the tags could not be read (e.g. AccessDenied): recorded, never fatal. */
  readonly problem?: string;
}

export interface UpstreamState {
  readonly node: string;
  readonly relation: Relation;
  readonly own?: OwnClassification | null;
  readonly sensitivity: string | null;
  readonly sensitivityFrom: SensitivityFrom | null;
  /** The event the upstream node's sensitivity rests on (see `Resolved.basis`). */
  readonly basis?: EventRef | null;
  /** The event that first showed the edge. */
  readonly edge?: EventRef;
}

/** The event an own classification rests on: the tag event, or the lookup (by its time). */
export const ownBasis = (own: OwnClassification | null | undefined): EventRef | undefined =>
  own?.level ? { time: own.at, eventId: own.eventId ?? `${own.source}:${own.tag ?? ''}` } : undefined;

/** Paths longer than this are not followed: it bounds the stored path and ends any walk around a cycle. */
export const MAX_PATH = 24;

export interface Resolved {
  readonly sensitivity: string | null;
  readonly sensitivityFrom: SensitivityFrom | null;
  /**
   * The latest event among the facts the sensitivity rests on (the source's tag event and every
   * edge on the path): when the sensitivity became true in event time, whatever order the facts
   * arrived in. Findings are dated and attributed with it, so any order raises the same ones.
   */
  readonly basis: EventRef | null;
}

/**
 * A node's sensitivity from its own classification and its upstream nodes' stored states. Pure.
 *
 * The highest level wins; ties go to the node's own classification, then the shorter path, then
 * the source ARN, so the answer does not depend on the order anything arrived in. A candidate
 * whose path already passes through this node is refused (path-vector loop prevention): around
 * a cycle a node never keeps a level that only its own old state vouches for, so a source's
 * classification going down propagates down too. A `contains` edge carries only the bucket's
 * own classification: what was written into a bucket does not taint everything read from it.
 */
export function resolveSensitivity(scheme: ClassificationScheme, node: string, own: OwnClassification | null | undefined, upstream: readonly UpstreamState[]): Resolved {
  let best: Candidate | undefined = own?.level && own.tag && rank(scheme, own.level) > 0 ? { level: own.level, from: { arn: node, tag: own.tag, path: [node] }, basis: ownBasis(own) } : undefined;
  for (const u of upstream) {
    const c = candidateVia(scheme, node, u);
    if (c && outranks(scheme, c, best)) best = c;
  }
  return best ? { sensitivity: best.level, sensitivityFrom: best.from, basis: best.basis ?? null } : { sensitivity: null, sensitivityFrom: null, basis: null };
}

export interface Candidate {
  readonly level: string;
  readonly from: SensitivityFrom;
  readonly basis?: EventRef;
}

/** What an upstream node offers `node` over one edge, or undefined (nothing, or refused: a loop, too long). */
export function candidateVia(scheme: ClassificationScheme, node: string, u: Omit<UpstreamState, 'node'> & { node: string }): Candidate | undefined {
  if (u.relation === RELATIONS.contains) {
    return u.own?.level && u.own.tag && rank(scheme, u.own.level) > 0 ? { level: u.own.level, from: { arn: u.node, tag: u.own.tag, path: [u.node, node] }, basis: laterOf(ownBasis(u.own), u.edge) } : undefined;
  }
  if (!u.sensitivity || !u.sensitivityFrom || rank(scheme, u.sensitivity) === 0) return undefined;
  const path = u.sensitivityFrom.path;
  if (path.includes(node) || path.length + 1 > MAX_PATH || path[path.length - 1] !== u.node) return undefined;
  return { level: u.sensitivity, from: { ...u.sensitivityFrom, path: [...path, node] }, basis: laterOf(u.basis, u.edge) };
}

/** Whether `c` wins over `best`: higher level, then shorter path (own classification first), then source and path by name. */
export function outranks(scheme: ClassificationScheme, c: Candidate, best: Candidate | undefined): boolean {
  if (!best) return true;
  const byLevel = rank(scheme, c.level) - rank(scheme, best.level);
  if (byLevel !== 0) return byLevel > 0;
  const byLength = best.from.path.length - c.from.path.length;
  if (byLength !== 0) return byLength > 0;
  return `${best.from.arn}\u0000${best.from.path.join('\u0000')}`.localeCompare(`${c.from.arn}\u0000${c.from.path.join('\u0000')}`) > 0;
}

/**
 * Whether a change of `upstream` can change `target`'s sensitivity: only when the target's
 * current sensitivity came by way of it (it may go up or down), or when what it now offers beats
 * the target's current one. Everything else would recompute to the same answer: the fan-out
 * skips it, so a change does not come back around a cycle (a bucket and the files stored in it)
 * as work.
 */
export function mayChange(scheme: ClassificationScheme, upstream: UpstreamState, target: { node: string; sensitivity: string | null; sensitivityFrom: SensitivityFrom | null } | undefined): boolean {
  if (!target) return true;
  const path = target.sensitivityFrom?.path;
  if (path && path.length >= 2 && path[path.length - 2] === upstream.node) return true;
  const offer = candidateVia(scheme, target.node, upstream);
  const current = target.sensitivity && target.sensitivityFrom ? { level: target.sensitivity, from: target.sensitivityFrom } : undefined;
  return offer !== undefined && outranks(scheme, offer, current);
}

/** What the event that caused a recomputation was: findings are dated and attributed with it. */
export interface Cause {
  readonly eventId: string;
  readonly time: string;
  readonly account: string;
  readonly region: string;
  /** The node whose change this recomputation follows, and its revision. */
  readonly via?: string;
  readonly rev?: number;
}

/**
 * Work for the lineage propagator, one node per message: recompute a node, or tell one page of a
 * node's downstream nodes to recompute (`after`: the last edge sort key of the previous page).
 */
export type LineageMessage =
  | { readonly type: 'recompute'; readonly node: string; readonly cause: Cause }
  | { readonly type: 'fanout'; readonly node: string; readonly cause: Cause; readonly after?: string };

export interface LineageQueue {
  send(messages: readonly LineageMessage[]): Promise<void>;
}

const sha = (text: string) => sha256Hex(text);

/** FIFO group: one node's messages are handled one at a time, in order (ids limited to 128 characters). */
export const messageGroupOf = (m: LineageMessage) => sha(m.node).slice(0, 64);
/** FIFO deduplication: the same message sent twice (a redelivered batch) is handled once. */
export const deduplicationIdOf = (m: LineageMessage) => sha(JSON.stringify(m)).slice(0, 64);
