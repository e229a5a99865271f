/** The lineage propagator's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';
import { DEFAULT_CLASSIFICATION, type ClassificationScheme } from '../core/lineage';

const LEVEL = /^[A-Za-z0-9_.:-]{1,64}$/;

export const LINEAGE_PROPAGATOR_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  LINEAGE_QUEUE_URL: { description: 'URL of the lineage FIFO queue the propagator reads and feeds', pattern: /^https:\/\/\S+\.fifo$/ },
  CLASSIFICATION_TAG_KEY: { description: 'the tag that carries the data classification (of a bucket, or any taggable node)', pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u },
  CLASSIFICATION_LEVELS: { description: 'comma-separated classification levels, lowest first', pattern: /^[A-Za-z0-9_.:-]{1,64}(,[A-Za-z0-9_.:-]{1,64})+$/ },
  SENSITIVE_FROM_LEVEL: { description: 'lowest level that raises lineage findings', pattern: LEVEL },
  ORGANIZATION_MODE: { description: "'true': look up member accounts' resources through each member role (docs/organization.md)", pattern: /^(true|false)$/, optional: true },
  RESOURCE_TAG_LOOKUPS: { description: "'true': look up (Tagging API GetResources, cached) the classification tag of nodes other than buckets, for tags set before the deploy", pattern: /^(true|false)$/, optional: true },
} as const satisfies EnvironmentSpec;

export type LineagePropagatorEnvironment = EnvironmentOf<typeof LINEAGE_PROPAGATOR_ENVIRONMENT>;

/** The propagator's Powertools service name. */
export const LINEAGE_PROPAGATOR_SERVICE = 'ai-visibility-lineage-propagator';

export const DEFAULT_CLASSIFICATION_ENVIRONMENT = {
  CLASSIFICATION_TAG_KEY: DEFAULT_CLASSIFICATION.tagKey,
  CLASSIFICATION_LEVELS: DEFAULT_CLASSIFICATION.levels.join(','),
  SENSITIVE_FROM_LEVEL: DEFAULT_CLASSIFICATION.sensitiveFrom,
  // No lookups unless the stack asks (deployed): the local replay and the tests have no AWS.
  RESOURCE_TAG_LOOKUPS: 'false',
  ORGANIZATION_MODE: 'false',
} as const;

/** The scheme the variables describe; a threshold that is not one of the levels is an error. */
export function classificationScheme(env: Pick<LineagePropagatorEnvironment, 'CLASSIFICATION_TAG_KEY' | 'CLASSIFICATION_LEVELS' | 'SENSITIVE_FROM_LEVEL'>): ClassificationScheme {
  const levels = env.CLASSIFICATION_LEVELS.split(',').map((l) => l.trim());
  if (new Set(levels.map((l) => l.toLowerCase())).size !== levels.length) throw new Error(`CLASSIFICATION_LEVELS repeats a level: ${env.CLASSIFICATION_LEVELS}`);
  const sensitiveFrom = levels.find((l) => l.toLowerCase() === env.SENSITIVE_FROM_LEVEL.toLowerCase());
  if (!sensitiveFrom) throw new Error(`SENSITIVE_FROM_LEVEL=${env.SENSITIVE_FROM_LEVEL} is not one of CLASSIFICATION_LEVELS (${levels.join(', ')})`);
  return { tagKey: env.CLASSIFICATION_TAG_KEY, levels, sensitiveFrom };
}
