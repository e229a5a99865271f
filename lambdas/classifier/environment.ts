/** The classifier's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';
import { canonicalPrincipal } from '../core/arn';
import { AGENT_DEFAULTS, MODEL_USE_DEFAULTS } from '../core/defaults';
import type { AgentSettings } from './agents/analyze';
import type { ModelUseSettings } from './model-use';

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
  GUARDRAIL_LOOKUPS: { description: "'true': read the guardrail versions an enforced configuration moves between (bedrock:GetGuardrail), to flag weaker filters", pattern: /^(true|false)$/, optional: true },
  MODEL_RECON_WINDOW_SECONDS: { description: "seconds from model reconnaissance to a principal's first invocation that raise model-recon-then-invoke", pattern: WHOLE },
  MODEL_PROBE_BURST_COUNT: { description: 'refused model invocations of one principal that make model-invocation-probing', pattern: WHOLE },
  MODEL_PROBE_BURST_SECONDS: { description: 'window of model-invocation-probing, in seconds', pattern: WHOLE },
  MODEL_BASELINE_HOURS: { description: "hours of an account's model use before new regions and new models are flagged", pattern: WHOLE },
  KNOWN_AI_APPLICATIONS: { description: 'comma-separated role ARN patterns (* wildcards) of known AI applications', pattern: /^(arn:[^,\s]+)(,arn:[^,\s]+)*$/, optional: true },
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
  AGENT_TAG_LOOKUPS: 'false',
  GUARDRAIL_LOOKUPS: 'false',
  ORGANIZATION_MODE: 'false',
} as const;

/** The model-use step's settings. */
export function modelUseSettingsFrom(env: ClassifierEnvironment): ModelUseSettings {
  return {
    reconWindowMs: Number(env.MODEL_RECON_WINDOW_SECONDS) * 1000,
    probe: { count: Number(env.MODEL_PROBE_BURST_COUNT), windowMs: Number(env.MODEL_PROBE_BURST_SECONDS) * 1000 },
    baselineMs: Number(env.MODEL_BASELINE_HOURS) * 3_600_000,
    knownAiApplications: env.KNOWN_AI_APPLICATIONS.split(',').filter(Boolean),
  };
}

/** The model-use defaults, as environment values. */
export const DEFAULT_MODEL_USE_ENVIRONMENT = {
  MODEL_RECON_WINDOW_SECONDS: String(MODEL_USE_DEFAULTS.reconWindowMinutes * 60),
  MODEL_PROBE_BURST_COUNT: String(MODEL_USE_DEFAULTS.probeBurstCount),
  MODEL_PROBE_BURST_SECONDS: String(MODEL_USE_DEFAULTS.probeBurstSeconds),
  MODEL_BASELINE_HOURS: String(MODEL_USE_DEFAULTS.baselineHours),
  KNOWN_AI_APPLICATIONS: '',
} as const;

export function agentSettingsFrom(env: ClassifierEnvironment): AgentSettings {
  return {
    declared: new Set(env.AGENT_PRINCIPALS.split(',').filter(Boolean).map(canonicalPrincipal)),
    behaviourWindowMs: Number(env.AGENT_BEHAVIOUR_WINDOW_SECONDS) * 1000,
    deniedBurst: { count: Number(env.AGENT_DENIED_BURST_COUNT), windowMs: Number(env.AGENT_DENIED_BURST_SECONDS) * 1000 },
  };
}
