/** The tagger's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';

export const TAGGER_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table (resources, what the tagger wrote)', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  TAG_PREFIX: { description: 'the prefix of every tag key the tagger writes', pattern: /^[a-zA-Z0-9 ._:/=+@-]{1,100}$/ },
  EXCLUDE_KINDS: { description: 'JSON array of resource kinds the tagger leaves alone', pattern: /^\[.*\]$/ },
  ACCOUNT_ID: { description: 'the account the tagger tags (the stack\'s)', pattern: /^\d{12}$/ },
  ORGANIZATION_MODE: { description: "'true': also tag the organization's member accounts, through each one's member role (docs/organization.md)", pattern: /^(true|false)$/, optional: true },
} as const satisfies EnvironmentSpec;

export type TaggerEnvironment = EnvironmentOf<typeof TAGGER_ENVIRONMENT>;

/** The tagger's Powertools service name. */
export const TAGGER_SERVICE = 'ai-visibility-tagger';
