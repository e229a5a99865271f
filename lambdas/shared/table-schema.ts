/**
 * The inventory table's physical schema: key attribute names and the global secondary indexes,
 * shared by the CDK construct that creates the table and the local runtime that creates the
 * same table in dynalite. Key *values* (`RESOURCE#...`, `KIND#...`) are spelled only in the item
 * module (lambdas/shared/items); docs/data-model.md explains each access pattern.
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

export type IndexName = keyof typeof INDEXES;

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

/** The attribute DynamoDB's time to live deletes items by (epoch seconds). */
export const TTL_ATTRIBUTE = 'expiresAt';
