/** The agent capture sync's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';

export const AGENT_CAPTURE_SYNC_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  EVENT_BUS_NAME: { description: 'bus that holds the capture rules', pattern: /^[A-Za-z0-9/_.-]{1,256}$/ },
  CAPTURE_QUEUE_ARN: { description: 'queue the rules deliver to', pattern: /^arn:aws[a-z-]*:sqs:/ },
  CAPTURE_DLQ_ARN: { description: 'dead-letter queue of the rules', pattern: /^arn:aws[a-z-]*:sqs:/ },
  AGENT_RULE_PREFIX: { description: "name prefix of this deployment's agent rules (the only rules it changes)", pattern: /^[A-Za-z0-9_.-]{1,55}$/ },
  EVENT_PATTERN_QUOTA: { description: "the account's EventBridge event-pattern size quota in characters (2048 by default, up to 4096)", pattern: /^\d{4}$/ },
} as const satisfies EnvironmentSpec;

export type AgentCaptureSyncEnvironment = EnvironmentOf<typeof AGENT_CAPTURE_SYNC_ENVIRONMENT>;

/** The sync's Powertools service name. */
export const AGENT_CAPTURE_SYNC_SERVICE = 'ai-visibility-agent-capture-sync';
