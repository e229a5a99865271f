/** The notifier's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';

export const NOTIFIER_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table (dedup windows, owners)', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  FINDINGS_TOPIC_ARN: { description: 'the findings topic', pattern: /^arn:aws[a-z-]*:sns:/ },
  MIN_SEVERITY: { description: 'the least severe finding that is sent', pattern: /^(critical|high|medium|low|informational)$/ },
  DEDUP_WINDOW_HOURS: { description: 'hours within which one rule, resource and principal send one message', pattern: /^\d{1,4}$/ },
  ACCOUNT_OWNERS: { description: 'JSON map of account id to owner, the last fallback of owner routing', pattern: /^\{.*\}$/ },
  OWNER_TAG_KEY: { description: 'the tag whose value is a resource\'s or principal\'s owner', pattern: /^.{1,128}$/ },
} as const satisfies EnvironmentSpec;

export type NotifierEnvironment = EnvironmentOf<typeof NOTIFIER_ENVIRONMENT>;

/** The notifier's Powertools service name. */
export const NOTIFIER_SERVICE = 'ai-visibility-notifier';

/** The owner tag (the classifier records it on resources; lambdas/classifier/tags.ts). */
export { OWNER_TAG_KEY } from '../core/constants';
