/** The discovery function's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';

export const DISCOVERY_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  DISCOVERY_TARGETS: { description: 'comma-separated account:region pairs to list', pattern: /^(\d{12}:[a-z0-9-]+)(,\d{12}:[a-z0-9-]+)*$/ },
  LINEAGE_QUEUE_URL: { description: 'URL of the lineage propagator FIFO queue (new edges a listing reveals)', pattern: /^https:\/\/\S+\.fifo$/ },
  ORGANIZATION_REGIONS: { description: "organization mode: comma-separated regions listed in every active account of the organization (Organizations ListAccounts), besides DISCOVERY_TARGETS; each member is listed with its member role", pattern: /^[a-z0-9-]+(,[a-z0-9-]+)*$/, optional: true },
} as const satisfies EnvironmentSpec;

export type DiscoveryEnvironment = EnvironmentOf<typeof DISCOVERY_ENVIRONMENT>;

/** The discovery function's Powertools service name. */
export const DISCOVERY_SERVICE = 'ai-visibility-discovery';

/** The LookupEvents history import's environment contract. */
export const LOOKUP_HISTORY_ENVIRONMENT = {
  ...HOUSE_ENVIRONMENT,
  CAPTURE_QUEUE_URL: { description: "URL of the classifier's capture queue, where the matched records go as EventBridge envelopes" },
  DISCOVERY_TARGETS: DISCOVERY_ENVIRONMENT.DISCOVERY_TARGETS,
  ORGANIZATION_REGIONS: DISCOVERY_ENVIRONMENT.ORGANIZATION_REGIONS,
} as const satisfies EnvironmentSpec;

export type LookupHistoryEnvironment = EnvironmentOf<typeof LOOKUP_HISTORY_ENVIRONMENT>;

/** The LookupEvents history import's Powertools service name. */
export const LOOKUP_HISTORY_SERVICE = 'ai-visibility-lookup-history';
