/**
 * Item keys and index keys: the only place their values are spelled. Every writer builds keys
 * here and every reader asks here which partition or range holds what it wants.
 */
import { sha256Hex } from '../../core/hash';
import { INDEXES, type IndexDefinition } from '../table-schema';

export type Key = { pk: string; sk: string };

/**
 * DynamoDB's key size limits (table and index keys alike): a partition key value holds at most
 * 2,048 bytes, a sort key value 1,024 (DynamoDB Developer Guide, "Service, account, and table
 * quotas": attributes). A value built from input (an ARN, an event id) that would exceed them
 * is cut and ends with a hash of the whole, so it still names one thing, and always the same
 * way: the same input gives the same key.
 */
export const PARTITION_KEY_BYTES = 2_048;
export const SORT_KEY_BYTES = 1_024;

export function withinBytes(value: string, max: number): string {
  if (Buffer.byteLength(value) <= max) return value;
  const mark = `…#sha256:${sha256Hex(value).slice(0, 32)}`;
  // Cut on a character boundary, then drop a half character the byte cut may leave.
  return `${Buffer.from(value).subarray(0, max - Buffer.byteLength(mark)).toString().replace(/\uFFFD+$/, '')}${mark}`;
}

const key = (pk: string, sk: string): Key => ({ pk: withinBytes(pk, PARTITION_KEY_BYTES), sk: withinBytes(sk, SORT_KEY_BYTES) });

/** The map key `InventoryStore.getItems` uses for an item. */
export const keyString = (k: Key) => `${k.pk}\u0000${k.sk}`;

export const ENTITY = {
  resource: 'resource',
  principal: 'principal',
  finding: 'finding',
  quarantine: 'quarantine',
  agent: 'agent',
  agentAction: 'agent-action',
  agentDenial: 'agent-denial',
  watch: 'watch',
  function: 'function',
  lookup: 'lookup',
  lineageEdge: 'lineage-edge',
  lineageNode: 'lineage-node',
  lineageTags: 'lineage-tags',
  utilization: 'utilization',
  notifyWindow: 'notify-window',
  principalTags: 'principal-tags',
  taggerState: 'tagger-state',
  remediation: 'remediation',
  account: 'account',
  modelUseFirst: 'model-use-first',
  modelUseMarker: 'model-use-marker',
} as const;
export type EntityName = (typeof ENTITY)[keyof typeof ENTITY];

const STATE_SK = '#STATE';
const PROFILE_SK = '#PROFILE';

const PREFIX = {
  resource: 'RESOURCE#',
  principal: 'PRINCIPAL#',
  quarantine: 'QUARANTINE#',
  agent: 'AGENT#',
  watch: 'WATCH#',
  function: 'FUNCTION#',
  lookup: 'LOOKUP#',
  notify: 'NOTIFY#',
  lineage: 'LINEAGE#',
  account: 'ACCOUNT#',
  usage: 'USAGE#',
} as const;

export const keys = {
  resource: (arn: string): Key => key(`${PREFIX.resource}${arn}`, STATE_SK),
  principal: (arn: string): Key => key(`${PREFIX.principal}${arn}`, STATE_SK),
  /**
   * A principal's owner tag as its newest IAM tag call showed it, beside (not in) its state: a
   * role is often tagged before it makes any AI call, and the inventory lists only principals
   * that did.
   */
  principalTags: (arn: string): Key => key(`${PREFIX.principal}${arn}`, '#TAGS'),
  /** A finding lives in the item collection of the resource it is about. */
  finding: (resource: string, time: string, eventId: string, rule: string): Key => key(`${PREFIX.resource}${resource}`, `FINDING#${time}#${eventId}#${rule}`),
  quarantine: (id: string): Key => key(`${PREFIX.quarantine}${id}`, STATE_SK),
  /** An agent's profile and, in the same partition, its action ledger in time order. */
  agentProfile: (principal: string): Key => key(`${PREFIX.agent}${principal}`, PROFILE_SK),
  agentAction: (principal: string, time: string, eventId: string): Key => key(`${PREFIX.agent}${principal}`, `ACTION#${time}#${eventId}`),
  /**
   * A marker per denied action, so a burst check reads denials only, never the whole ledger.
   * `DENIAL#` sorts after `#PROFILE` and `ACTION#`: reading an agent stops before the markers.
   */
  agentDenial: (principal: string, time: string, eventId: string): Key => key(`${PREFIX.agent}${principal}`, `DENIAL#${time}#${eventId}`),
  agentDenialsFrom: (principal: string, time: string): Key => key(`${PREFIX.agent}${principal}`, `DENIAL#${time}`),
  watch: (principal: string): Key => key(`${PREFIX.watch}${principal}`, STATE_SK),
  function: (functionArn: string): Key => key(`${PREFIX.function}${functionArn}`, STATE_SK),
  /** Organization mode: an account's name and OU path, as Organizations listed them at the last sweep. */
  account: (id: string): Key => key(`${PREFIX.account}${id}`, STATE_SK),
  lookup: (kind: LookupKind, id: string): Key => key(`${PREFIX.lookup}${kind}#${id}`, STATE_SK),
  /**
   * Model use (lambdas/classifier/model-use): the first model invocation of a principal, and its
   * reconnaissance and refused invocations as markers in time order (`RECON#`, `REFUSED#`, kept
   * days, read in bounded ranges); the first invocation of an account in a region, and of a model
   * (`REGION#`, `MODEL#` under the account). Outside the change feed: they are no events.
   */
  usagePrincipalFirst: (principal: string): Key => key(`${PREFIX.usage}PRINCIPAL#${principal}`, '#FIRST'),
  usageMarker: (principal: string, marker: UsageMarker, time: string, eventId: string): Key => key(`${PREFIX.usage}PRINCIPAL#${principal}`, `${marker}#${time}#${eventId}`),
  /** The sort key where `principal`'s markers of a kind at `time` begin (a range bound). */
  usageMarkersAt: (principal: string, marker: UsageMarker, time: string): Key => key(`${PREFIX.usage}PRINCIPAL#${principal}`, `${marker}#${time}`),
  usageRegion: (account: string, region: string): Key => key(`${PREFIX.usage}ACCOUNT#${account}`, `REGION#${region}`),
  usageModel: (account: string, model: string): Key => key(`${PREFIX.usage}ACCOUNT#${account}`, `MODEL#${model}`),
  usageAccountPartition: (account: string): string => key(`${PREFIX.usage}ACCOUNT#${account}`, '').pk,
  /** The notification dedup window of one rule, resource and principal. */
  notifyWindow: (dedupKey: string): Key => key(`${PREFIX.notify}${dedupKey}`, STATE_SK),
  /**
   * Lineage: a node's computed sensitivity (`#NODE`), a node's tags as tag events showed them (a
   * bucket's set, another node's classification tag: `#TAGS`), and each edge under both of its nodes: `IN#relation#from` under `to`,
   * `OUT#relation#to` under `from`. `#NODE` and `#TAGS` sort before `IN#`, `IN#` before `OUT#`.
   */
  lineageNode: (node: string): Key => key(`${PREFIX.lineage}${node}`, '#NODE'),
  lineageTags: (node: string): Key => key(`${PREFIX.lineage}${node}`, '#TAGS'),
  lineageIn: (to: string, relation: string, from: string): Key => key(`${PREFIX.lineage}${to}`, `IN#${relation}#${from}`),
  lineageOut: (from: string, relation: string, to: string): Key => key(`${PREFIX.lineage}${from}`, `OUT#${relation}#${to}`),
  /** What the tagger wrote on a resource (or why it cannot), beside the resource's state. */
  taggerState: (resource: string): Key => key(`${PREFIX.resource}${resource}`, '#TAGGER'),
  /** A remediation (or dry run) of an idle resource, in the resource's own partition. */
  remediation: (resource: string, time: string, sweepId: string): Key => key(`${PREFIX.resource}${resource}`, `REMEDIATION#${time}#${sweepId}`),
  /** A resource's utilization as one sweep measured it, in the resource's own partition. */
  utilization: (resource: string, windowEnd: string, sweepId: string): Key => key(`${PREFIX.resource}${resource}`, `UTILIZATION#${windowEnd}#${sweepId}`),
};

/** The kinds of a principal's model-use markers. */
export type UsageMarker = 'RECON' | 'REFUSED';

/** What a cached lookup holds. */
export type LookupKind = 'function-role' | 'bucket-tags' | 'resource-tags' | 'principal-tags';

/** Sort-key ranges within one partition. */
export const RANGES = {
  /** A node's incoming and outgoing edges. */
  lineageIn: { from: 'IN#', to: 'IN#\uffff' },
  lineageOut: { from: 'OUT#', to: 'OUT#\uffff' },
  /** An account's first invocation in each region. */
  usageRegions: { from: 'REGION#', to: 'REGION#\uffff' },
  /** An account's first invocation of each model. */
  usageModels: { from: 'MODEL#', to: 'MODEL#\uffff' },
  /** An agent's profile and ledger, without the denial markers that sort after them. */
  agentBeforeDenials: { below: 'DENIAL#' },
} as const;

/** The store's items of a key's partition family: what a write or a stream record is about. */
export type KeyFamily = 'resource' | 'principal' | 'quarantine' | 'agent' | 'watch' | 'function' | 'lookup' | 'lineage' | 'account' | 'usage' | 'unknown';

export function familyOfKey(key: Pick<Key, 'pk'>): KeyFamily {
  for (const [family, prefix] of Object.entries(PREFIX)) if (key.pk.startsWith(prefix)) return family as KeyFamily;
  return 'unknown';
}

/** A lineage edge's key names its direction: `OUT#` under its source, `IN#` under its target. */
export const isOutgoingEdgeKey = (key: Key) => key.pk.startsWith(PREFIX.lineage) && key.sk.startsWith(RANGES.lineageOut.from);

type IndexKeys = Record<string, string>;
const on = (index: IndexDefinition, pk: string, sk: string): IndexKeys => ({ [index.partitionKey]: withinBytes(pk, PARTITION_KEY_BYTES), [index.sortKey]: withinBytes(sk, SORT_KEY_BYTES) });

/** Index key values, per entity and index (docs/data-model.md, "Access patterns"). */
export const indexKeys = {
  resourceByKind: (kind: string, arn: string) => on(INDEXES.byKind, `KIND#${kind}`, arn),
  resourceByAccount: (account: string, kind: string, arn: string) => on(INDEXES.byAccount, `ACCOUNT#${account}`, `RESOURCE#${kind}#${arn}`),
  /** The principal that first revealed a resource. */
  resourceByPrincipal: (principal: string, arn: string) => on(INDEXES.byPrincipal, `PRINCIPAL#${principal}`, `RESOURCE#${arn}`),
  principalByRole: (role: string, arn: string) => on(INDEXES.byKind, `ROLE#${role}`, arn),
  /** The role's partition alone (the sort key is set separately, where the role is not known yet). */
  principalRolePartition: (role: string) => ({ [INDEXES.byKind.partitionKey]: withinBytes(`ROLE#${role}`, PARTITION_KEY_BYTES) }),
  principalSortKey: (arn: string) => ({ [INDEXES.byKind.sortKey]: withinBytes(arn, SORT_KEY_BYTES) }),
  principalByAccount: (account: string, arn: string) => on(INDEXES.byAccount, `ACCOUNT#${account}`, `PRINCIPAL#${arn}`),
  principalSelf: (arn: string) => on(INDEXES.byPrincipal, `PRINCIPAL#${arn}`, STATE_SK),
  findingBySeverity: (severity: string, order: string) => on(INDEXES.byKind, `SEVERITY#${severity}`, order),
  findingByAccount: (account: string, order: string) => on(INDEXES.byAccount, `ACCOUNT#${account}`, `FINDING#${order}`),
  findingByPrincipal: (principal: string, order: string) => on(INDEXES.byPrincipal, `PRINCIPAL#${principal}`, `FINDING#${order}`),
  quarantineByTime: (receivedAt: string, id: string) => on(INDEXES.byKind, 'QUARANTINE', `${receivedAt}#${id}`),
  agent: (arn: string) => on(INDEXES.byKind, 'AGENT', arn),
  agentByAccount: (account: string, arn: string) => on(INDEXES.byAccount, `ACCOUNT#${account}`, `AGENT#${arn}`),
  watched: (principal: string) => on(INDEXES.byKind, 'WATCH', principal),
  nodeBySensitivity: (level: string, node: string) => on(INDEXES.byKind, `SENSITIVITY#${level}`, node),
  utilizationBySweep: (sweepId: string, resource: string) => on(INDEXES.byKind, `SWEEP#${sweepId}`, resource),
};

/** An index query: the index, its partition, and optionally a sort-key prefix. */
export interface IndexQuery {
  readonly index: IndexDefinition;
  readonly partition: string;
  readonly sortKeyPrefix?: string;
}

export const indexQueries = {
  /** The watched principals: the agent capture rules are built from them (sort key: the principal). */
  watched: (): IndexQuery => ({ index: INDEXES.byKind, partition: 'WATCH' }),
  /** An account's resources of one kind. */
  resourcesOfAccount: (account: string, kind: string): IndexQuery => ({ index: INDEXES.byAccount, partition: `ACCOUNT#${account}`, sortKeyPrefix: `RESOURCE#${kind}#` }),
};
