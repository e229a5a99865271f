/** The classifier's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';
import { canonicalPrincipal } from '../core/arn';
import { AGENT_DEFAULTS } from '../core/defaults';
import type { AgentSettings } from './agents/analyze';

const WHOLE = /^\d{1,9}$/;

export const CLASSIFIER_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  AGENT_PRINCIPALS: { description: 'comma-separated ARNs of principals declared AI agents', pattern: /^(arn:[^,\s]+)(,arn:[^,\s]+)*$/, optional: true },
  AGENT_BEHAVIOUR_WINDOW_SECONDS: { description: 'seconds between a model call and a write elsewhere that mark an agent', pattern: WHOLE },
  AGENT_DENIED_BURST_COUNT: { description: 'denied actions that make an agent-denied-burst', pattern: WHOLE },
  AGENT_DENIED_BURST_SECONDS: { description: 'window of an agent-denied-burst, in seconds', pattern: WHOLE },
  ACTION_LEDGER_RETENTION_DAYS: { description: 'days an agent action stays in the ledger', pattern: WHOLE },
  LINEAGE_QUEUE_URL: { description: 'URL of the lineage FIFO queue: nodes whose sensitivity must be recomputed', pattern: /^https:\/\/\S+\.fifo$/ },
  CLASSIFICATION_TAG_KEY: { description: "the tag that classifies data (a bucket's, or any taggable node's); default data-classification", pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, optional: true },
  ORGANIZATION_MODE: { description: "'true': look up member accounts' principals and resources through each member role (docs/organization.md)", pattern: /^(true|false)$/, optional: true },
  AGENT_TAG_LOOKUPS: { description: "'true': look up (cached) the agent tag of AI applications' roles, for agents tagged before the deploy", pattern: /^(true|false)$/, optional: true },
} as const satisfies EnvironmentSpec;

export type ClassifierEnvironment = EnvironmentOf<typeof CLASSIFIER_ENVIRONMENT>;

/** The classifier's Powertools service name. */
export const CLASSIFIER_SERVICE = 'ai-visibility-classifier';

/** The defaults, as environment values (the CDK config and the local replay start from them). */
export const DEFAULT_AGENT_ENVIRONMENT = {
  AGENT_PRINCIPALS: '',
  AGENT_BEHAVIOUR_WINDOW_SECONDS: String(AGENT_DEFAULTS.behaviourWindowSeconds),
  AGENT_DENIED_BURST_COUNT: String(AGENT_DEFAULTS.deniedBurstCount),
  AGENT_DENIED_BURST_SECONDS: String(AGENT_DEFAULTS.deniedBurstSeconds),
  ACTION_LEDGER_RETENTION_DAYS: String(AGENT_DEFAULTS.ledgerRetentionDays),
  // No lookups unless the stack asks (deployed): the local replay and the tests have no AWS.
  CLASSIFICATION_TAG_KEY: { description: "the tag that classifies data (a bucket's, or any taggable node's); default data-classification", pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, optional: true },
  AGENT_TAG_LOOKUPS: 'false',
  ORGANIZATION_MODE: 'false',
} as const;

export function agentSettingsFrom(env: ClassifierEnvironment): AgentSettings {
  return {
    declared: new Set(env.AGENT_PRINCIPALS.split(',').filter(Boolean).map(canonicalPrincipal)),
    behaviourWindowMs: Number(env.AGENT_BEHAVIOUR_WINDOW_SECONDS) * 1000,
    deniedBurst: { count: Number(env.AGENT_DENIED_BURST_COUNT), windowMs: Number(env.AGENT_DENIED_BURST_SECONDS) * 1000 },
  };
}
