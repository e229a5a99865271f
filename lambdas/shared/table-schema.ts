/**
 * The inventory table's key design, shared by the CDK construct that creates the table and the
 * local replay that creates the same table in dynalite. docs/data-model.md explains each access
 * pattern; the item builders in lambdas/classifier/plan.ts are the only writers of these keys.
 */

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
}

/** Overloaded GSIs: each serves one access pattern per entity type (see docs/data-model.md). */
export const INDEXES = {
  /** resources by kind, principals by role, findings by severity and time, quarantine by time */
  byKind: { indexName: 'byKind', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** resources, principals and findings by account */
  byAccount: { indexName: 'byAccount', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  /** a principal, the resources it first revealed, and the findings it raised */
  byPrincipal: { indexName: 'byPrincipal', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
} as const satisfies Record<string, IndexDefinition>;

/**
 * Attributes copied into every index (besides the keys). Only attributes that rarely change
 * are projected, so updating `lastSeen` on a busy resource writes the table, not three indexes.
 */
export const PROJECTED_ATTRIBUTES = [
  'entity',
  'arn',
  'kind',
  'service',
  'account',
  'region',
  'status',
  'role',
  'rule',
  'severity',
  'resource',
  'principal',
  'time',
  'eventId',
  'title',
  'reason',
  'source',
  'iamArn',
] as const;

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
} as const;
export const STATE_SK = '#STATE';
export const PROFILE_SK = '#PROFILE';
/** Partition of the watched principals in the byKind index: the agent capture rules are built from it. */
export const WATCH_INDEX_PK = 'WATCH';

export const keys = {
  resource: (arn: string) => ({ pk: `RESOURCE#${arn}`, sk: STATE_SK }),
  principal: (arn: string) => ({ pk: `PRINCIPAL#${arn}`, sk: STATE_SK }),
  finding: (resource: string, time: string, eventId: string, rule: string) => ({
    pk: `RESOURCE#${resource}`,
    sk: `FINDING#${time}#${eventId}#${rule}`,
  }),
  quarantine: (id: string) => ({ pk: `QUARANTINE#${id}`, sk: STATE_SK }),
  /** An agent's profile and, in the same partition, its action ledger in time order. */
  agentProfile: (principal: string) => ({ pk: `AGENT#${principal}`, sk: PROFILE_SK }),
  agentAction: (principal: string, time: string, eventId: string) => ({ pk: `AGENT#${principal}`, sk: `ACTION#${time}#${eventId}` }),
  /**
   * A marker per denied action, so a burst check reads denials only, never the whole ledger.
   * `DENIAL#` sorts after `#PROFILE` and `ACTION#`: reading an agent stops before the markers.
   */
  agentDenial: (principal: string, time: string, eventId: string) => ({ pk: `AGENT#${principal}`, sk: `DENIAL#${time}#${eventId}` }),
  agentDenialsFrom: (principal: string, time: string) => ({ pk: `AGENT#${principal}`, sk: `DENIAL#${time}` }),
  watch: (principal: string) => ({ pk: `WATCH#${principal}`, sk: STATE_SK }),
  function: (functionArn: string) => ({ pk: `FUNCTION#${functionArn}`, sk: STATE_SK }),
  lookup: (kind: string, id: string) => ({ pk: `LOOKUP#${kind}#${id}`, sk: STATE_SK }),
  /**
   * Lineage: a node's computed sensitivity (`#NODE`), a bucket's tags as tag events showed them
   * (`#TAGS`), and each edge under both of its nodes: `IN#relation#from` under `to`,
   * `OUT#relation#to` under `from`. `#NODE` and `#TAGS` sort before `IN#`, `IN#` before `OUT#`.
   */
  lineageNode: (node: string) => ({ pk: `LINEAGE#${node}`, sk: '#NODE' }),
  /** A resource's utilization as one sweep measured it, in the resource's own partition. */
  utilization: (resource: string, windowEnd: string, sweepId: string) => ({ pk: `RESOURCE#${resource}`, sk: `UTILIZATION#${windowEnd}#${sweepId}` }),
  lineageTags: (bucket: string) => ({ pk: `LINEAGE#${bucket}`, sk: '#TAGS' }),
  lineageIn: (to: string, relation: string, from: string) => ({ pk: `LINEAGE#${to}`, sk: `IN#${relation}#${from}` }),
  lineageOut: (from: string, relation: string, to: string) => ({ pk: `LINEAGE#${from}`, sk: `OUT#${relation}#${to}` }),
};

/** Sort-key ranges of a node's incoming and outgoing edges. */
export const LINEAGE_RANGES = {
  in: { from: 'IN#', to: 'IN#\uffff' },
  out: { from: 'OUT#', to: 'OUT#\uffff' },
} as const;
