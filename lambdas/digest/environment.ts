/** The digest's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';

export const DIGEST_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  FINDINGS_TOPIC_ARN: { description: 'the findings topic the digests go to', pattern: /^arn:aws[a-z-]*:sns:/ },
  PERIOD_HOURS: { description: 'hours each digest covers, ending when it runs', pattern: /^\d{1,4}$/ },
  DEAD_LETTER_QUEUES: { description: 'JSON map of name to URL of the dead-letter queues whose depth the digest reports', pattern: /^\{.*\}$/ },
  ACCOUNT_OWNERS: { description: 'JSON map of account id to owner', pattern: /^\{.*\}$/ },
  OWNER_TAG_KEY: { description: "the tag whose value is a resource's owner", pattern: /^.{1,128}$/ },
  API_KEY_MAX_AGE_DAYS: { description: 'long-term Bedrock API keys older than this many days are listed', pattern: /^\d{1,4}$/ },
} as const satisfies EnvironmentSpec;

export type DigestEnvironment = EnvironmentOf<typeof DIGEST_ENVIRONMENT>;

/** The digest's Powertools service name. */
export const DIGEST_SERVICE = 'ai-visibility-digest';
