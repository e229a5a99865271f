/**
 * Deploy-time configuration: the `ai-visibility` object in cdk.json's context (or
 * `cdk deploy -c ai-visibility='{"dataEventTrail":true}'`), validated with every problem
 * listed at once, with defaults for everything. README.md documents each setting.
 */

import { AGENT_DEFAULTS, BEDROCK_API_KEY_MAX_AGE_DAYS, MODEL_USE_DEFAULTS, CLASSIFICATION_DEFAULTS, CLASSIFIER_BATCH_SIZE, DEFAULT_TRAIL_LOOK_BACK_MINUTES, SWEEP_DEFAULTS } from '../lambdas/core/defaults';
import { DEFAULT_SWEEP_MAX_CONCURRENCY, DEFAULT_SWEEP_SCHEDULE } from './constructs/gpu-utilization-sweep';
import { DEFAULT_DISCOVERY_MAX_CONCURRENCY, DEFAULT_DISCOVERY_SCHEDULE } from './constructs/ai-discovery';
import { FINDING_RULES } from '../lambdas/core/findings';
import { RESOURCE_KINDS, SEVERITIES, type Severity } from '../lambdas/core/model';
import { DEFAULT_TAG_PREFIX, prefixProblem } from '../lambdas/core/tagging';
import { REMEDIATION_DEFAULTS, REMEDIATION_MODES, type RemediationSettings } from '../lambdas/core/remediation';
import { FILTER_POLICY_LIMITS, filterPolicyOf, type SubscriptionFilter } from '../lambdas/core/notifications';


/** CloudWatch Logs accepts only these retention periods (PutRetentionPolicy API reference). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export interface AiVisibilityConfig {
  /** Create the opt-in CloudTrail trail that logs AI data events (InvokeAgent, Retrieve, model uploads). Default false: it costs $0.10 per 100,000 events. */
  readonly dataEventTrail: boolean;
  /** Keep the inventory table, its key and the trail bucket when the stack is deleted, and turn on deletion protection. Default true. */
  readonly retainData: boolean;
  /** Days to keep Lambda logs. Default 365. */
  readonly logRetentionDays: number;
  /** Messages per classifier invocation (1-10,000). Default 1,000: larger batches coalesce more writes (docs/performance.md). */
  readonly classifierBatchSize: number;
  /** Seconds SQS may wait to fill a batch (0-300; needed above 10 messages). Default 5. */
  readonly classifierMaxBatchingWindowSeconds: number;
  /** Classifier invocations at once (the SQS event source's maximum concurrency, 2-1000). Default 5. */
  readonly classifierMaxConcurrency: number;
  /** Deliveries before a message goes to the dead-letter queue. Default 5. */
  readonly maxReceiveCount: number;
  /** The account's EventBridge event-pattern size quota in characters (2,048 unless raised by request, at most 4,096); the agent rules are sized for it. Default 2048. */
  readonly eventPatternQuota: number;
  /** Ship source maps with the functions and turn them on (readable stack traces, slower cold starts). Default false. */
  readonly lambdaSourceMaps: boolean;
  /** Email addresses subscribed to the operations topic (every alarm). Default none. */
  readonly alarmEmails: readonly string[];
  /** Tags put on every resource the stack creates, besides ai-visibility:stack. Default none. */
  readonly resourceTags: Readonly<Record<string, string>>;
  /** Finding notifications: the severity floor, the dedup window, email subscriptions with filters, account owners. */
  readonly notifications: NotificationsConfig;
  /** Import findings into AWS Security Hub (enabled in the account and region), and archive those of deleted resources. Default false. */
  readonly securityHubExport: boolean;
  /** Read GuardDuty's findings about AI workloads (AI Protection types, or naming models or guardrails) and join them to the inventory, as corroborated findings. Needs GuardDuty on, AI Protection for its AI types. Default false. */
  readonly guardDutyAiFindings: boolean;
  /** The tagger: `ai-visibility:*` tags on classified resources. On by default; `prefix` (default "ai-visibility:") and kinds to `exclude` (default none). */
  readonly tagging: TaggingConfig;
  /** ARNs of IAM roles and users declared AI agents (paths are ignored). Default none. */
  readonly agentPrincipals: readonly string[];
  /** A model call and then a write to another service within this many seconds marks an agent. Default 900. */
  readonly agentBehaviourWindowSeconds: number;
  /** This many denied actions of an agent... Default 5. */
  readonly agentDeniedBurstCount: number;
  /** ...within this many seconds raise agent-denied-burst. Default 300. */
  readonly agentDeniedBurstSeconds: number;
  /** Days an agent action stays in the ledger (DynamoDB TTL). Default 400. */
  readonly actionLedgerRetentionDays: number;
  /** Bucket tag whose value is the data's classification. Default "data-classification". */
  readonly classificationTagKey: string;
  /** Classification values, lowest first (matched case-insensitively). Default public, internal, confidential, restricted. */
  readonly classificationLevels: readonly string[];
  /** The lowest classification that raises lineage findings. Default "confidential". */
  readonly sensitiveFromLevel: string;
  /** When the GPU sweep runs: an EventBridge Scheduler rate or cron expression. Default "rate(1 hour)". */
  readonly sweepSchedule: string;
  /** Minutes of metrics each sweep judges (1-1440). Default 60. */
  readonly sweepWindowMinutes: number;
  /** Account-regions swept at once (1-40). Default 10. */
  readonly sweepMaxConcurrency: number;
  /** Regions of this account to sweep. Default: the stack's region. */
  readonly sweepRegions: readonly string[];
  /** Mean GPU utilization (%) below which a GPU is idle. Default 5. */
  readonly gpuIdleBelowPct: number;
  /** Mean GPU utilization (%) below which a GPU is underutilized. Default 40. */
  readonly gpuUnderutilizedBelowPct: number;
  /** GPU memory allocated (%) that makes an idle GPU memory-held-idle. Default 10. */
  readonly gpuMemoryHeldFromPct: number;
  /** USD per hour by instance type, overriding the built-in on-demand table. Default none. */
  readonly gpuPrices: Readonly<Record<string, number>>;
  /** The opt-in remediation of idle accelerators tagged ai-visibility:idle-action: `mode` off (default), dry-run or on; after `idleSweeps` consecutive idle sweeps (default 3). */
  readonly remediation: RemediationSettings;
  /** Organization-wide mode: a hub here, a member stack in every account and region of the OUs (docs/organization.md). Off by default: one account, one region. */
  readonly organization: OrganizationConfig;
  /** The trail reader: agents' every call from the (organization) trail's log files, the look-back included (docs/agents.md). Off until `bucketName` is set. */
  readonly agentTrail: AgentTrailConfig;
  /** Day-zero discovery by listing, and drift (docs/discovery.md): daily and right after each deployment. On by default. */
  readonly discovery: DiscoveryConfig;
  /** The LLMjacking detections on model use: reconnaissance then first invocation, new regions, new models, refused-invocation bursts (docs/findings.md). */
  readonly modelUse: ModelUseConfig;
}

export interface ModelUseConfig {
  /** Reconnaissance, then the principal's first model invocation within this many minutes, raises model-recon-then-invoke (1-1440). Default 15. */
  readonly reconWindowMinutes: number;
  /** This many refused invocations (ValidationException, AccessDenied) of one principal... (2-10,000). Default 10. */
  readonly probeBurstCount: number;
  /** ...within this many seconds raise model-invocation-probing (1-86,400). Default 300. */
  readonly probeBurstSeconds: number;
  /** Hours of an account's model use before new regions and new models are flagged (0-2160). Default 24. */
  readonly baselineHours: number;
  /**
   * Role ARN patterns of known AI applications (EventBridge wildcards: `*` any run of characters,
   * like "arn:aws:iam::*:role/rag-service-*"): their model reconnaissance reads are not captured,
   * and their use of a new model is no finding. Default none.
   */
  readonly knownAiApplications: readonly string[];
}

export interface DiscoveryConfig {
  /** List the AI resources of every enrolled account and region. Default true. */
  readonly enabled: boolean;
  /** When: an EventBridge Scheduler rate or cron expression. Default "rate(1 day)". */
  readonly schedule: string;
  /** Also once right after each create or update of the stack. Default true. */
  readonly afterDeploy: boolean;
  /** Account-regions listed at once (1-40). Default 5. */
  readonly maxConcurrency: number;
  /** Regions of this account to list. Default: the stack's region (organization mode adds organization.regions in every account). */
  readonly regions: readonly string[];
  /**
   * Import the AI event sources' past calls from CloudTrail event history (LookupEvents, 90 days,
   * 2 requests/s per account-region) once when the stack is created, for the same account-regions.
   * Default true; started by hand at any time too (docs/discovery.md, "History").
   */
  readonly lookupHistory: boolean;
}

export interface AgentTrailConfig {
  /** The trail's S3 bucket. Default null: no trail reader. */
  readonly bucketName: string | null;
  /** The trail's S3 key prefix (no slashes at either end). Default "" (none). */
  readonly keyPrefix: string;
  /** An organization trail (its files under AWSLogs/<organization id>/). Default: whether organization mode is on. */
  readonly organizationTrail: boolean | null;
  /** The account that owns the bucket (the queue takes its notifications only). Default: this account. */
  readonly bucketAccount: string | null;
  /** The KMS key the trail encrypts its files with (SSE-KMS), if any. Default null. */
  readonly kmsKeyArn: string | null;
  /** The trail's SNS topic of deliveries: subscribed to, instead of a bucket notification. Default null. */
  readonly notificationTopicArn: string | null;
  /** Minutes of delivered files searched for a newly identified agent's calls (0-1440). Default 30. */
  readonly lookBackMinutes: number;
}

/** How a StackSet rolls out (CloudFormation StackSetOperationPreferences). */
export interface StackSetOperationPreferences {
  /** Accounts per region that may fail before the operation stops, as a percentage (0-100). Default 10. */
  readonly failureTolerancePercentage: number;
  /** Accounts per region deployed at once, as a percentage (1-100). Default 25. */
  readonly maxConcurrentPercentage: number;
  /** Regions one after the other (SEQUENTIAL) or at once (PARALLEL). Default PARALLEL. */
  readonly regionConcurrencyType: 'SEQUENTIAL' | 'PARALLEL';
}

export interface OrganizationConfig {
  /** Deploy as the organization's hub. Default false. */
  readonly enabled: boolean;
  /** The organization's id (o-...), for the bus policy and the member role's trust. Required when enabled. */
  readonly organizationId: string;
  /** The OUs (ou-... or the root r-...) the StackSet deploys member stacks to, new accounts included. Required when enabled. */
  readonly memberOus: readonly string[];
  /** The regions of each member account. Required when enabled; us-east-1 is needed for IAM, STS and Organizations events. */
  readonly regions: readonly string[];
  /** The hub's region: the central bus, the pipeline and the table. Default: the stack's region. */
  readonly homeRegion: string | null;
  /** The hub is a delegated administrator for StackSets, not the management account (CallAs DELEGATED_ADMIN). Default true. */
  readonly delegatedAdmin: boolean;
  /** Accounts outside the StackSet's reach that get the member stack deployed directly (the management account: service-managed StackSets never deploy to it); the hub covers them too. Default none. */
  readonly accounts: readonly string[];
  readonly stackSetOperationPreferences: StackSetOperationPreferences;
}

export interface TaggingConfig {
  /** Tag classified resources. Default true. */
  readonly enabled: boolean;
  /** The prefix of every tag key written (not aws:). Default "ai-visibility:". */
  readonly prefix: string;
  /** Resource kinds never tagged (docs/data-model.md lists the kinds). Default none. */
  readonly exclude: readonly string[];
}

export interface NotificationsConfig {
  /** The least severe finding sent. Default "medium". */
  readonly minSeverity: Severity;
  /** Hours within which one rule, resource and principal send one message (1-720). Default 24. */
  readonly dedupWindowHours: number;
  /** Email subscriptions, each with optional severities, accounts, owners and rules it receives. Default none. */
  readonly subscriptions: ReadonlyArray<{ readonly email: string } & SubscriptionFilter>;
  /** Account id to owner, when neither the resource nor the principal has an owner tag. Default none. */
  readonly accountOwners: Readonly<Record<string, string>>;
  /** The daily digest: sent when `enabled` (default: when there is a subscription), at `schedule` (EventBridge Scheduler, UTC; default "cron(0 8 * * ? *)"). */
  readonly digest: { readonly enabled?: boolean; readonly schedule: string; readonly apiKeyMaxAgeDays: number };
}

export const DEFAULT_CONFIG: AiVisibilityConfig = {
  dataEventTrail: false,
  retainData: true,
  logRetentionDays: 365,
  classifierBatchSize: CLASSIFIER_BATCH_SIZE,
  classifierMaxBatchingWindowSeconds: 5,
  classifierMaxConcurrency: 5,
  maxReceiveCount: 5,
  eventPatternQuota: 2_048,
  lambdaSourceMaps: false,
  alarmEmails: [],
  resourceTags: {},
  notifications: { minSeverity: 'medium', dedupWindowHours: 24, subscriptions: [], accountOwners: {}, digest: { schedule: 'cron(0 8 * * ? *)', apiKeyMaxAgeDays: BEDROCK_API_KEY_MAX_AGE_DAYS } },
  securityHubExport: false,
  guardDutyAiFindings: false,
  tagging: { enabled: true, prefix: DEFAULT_TAG_PREFIX, exclude: [] },
  agentPrincipals: [],
  agentBehaviourWindowSeconds: AGENT_DEFAULTS.behaviourWindowSeconds,
  agentDeniedBurstCount: AGENT_DEFAULTS.deniedBurstCount,
  agentDeniedBurstSeconds: AGENT_DEFAULTS.deniedBurstSeconds,
  actionLedgerRetentionDays: AGENT_DEFAULTS.ledgerRetentionDays,
  classificationTagKey: CLASSIFICATION_DEFAULTS.tagKey,
  classificationLevels: CLASSIFICATION_DEFAULTS.levels,
  sensitiveFromLevel: CLASSIFICATION_DEFAULTS.sensitiveFrom,
  sweepSchedule: DEFAULT_SWEEP_SCHEDULE,
  sweepWindowMinutes: SWEEP_DEFAULTS.windowMinutes,
  sweepMaxConcurrency: DEFAULT_SWEEP_MAX_CONCURRENCY,
  sweepRegions: [],
  gpuIdleBelowPct: SWEEP_DEFAULTS.idleBelowPct,
  gpuUnderutilizedBelowPct: SWEEP_DEFAULTS.underutilizedBelowPct,
  gpuMemoryHeldFromPct: SWEEP_DEFAULTS.memoryHeldFromPct,
  gpuPrices: {},
  remediation: REMEDIATION_DEFAULTS,
  organization: {
    enabled: false,
    organizationId: '',
    memberOus: [],
    regions: [],
    homeRegion: null,
    delegatedAdmin: true,
    accounts: [],
    stackSetOperationPreferences: { failureTolerancePercentage: 10, maxConcurrentPercentage: 25, regionConcurrencyType: 'PARALLEL' },
  },
  discovery: { enabled: true, schedule: DEFAULT_DISCOVERY_SCHEDULE, afterDeploy: true, maxConcurrency: DEFAULT_DISCOVERY_MAX_CONCURRENCY, regions: [], lookupHistory: true },
  modelUse: { reconWindowMinutes: MODEL_USE_DEFAULTS.reconWindowMinutes, probeBurstCount: MODEL_USE_DEFAULTS.probeBurstCount, probeBurstSeconds: MODEL_USE_DEFAULTS.probeBurstSeconds, baselineHours: MODEL_USE_DEFAULTS.baselineHours, knownAiApplications: [] },
  agentTrail: { bucketName: null, keyPrefix: '', organizationTrail: null, bucketAccount: null, kmsKeyArn: null, notificationTopicArn: null, lookBackMinutes: DEFAULT_TRAIL_LOOK_BACK_MINUTES },
};

/** A region name: a partition's prefix, a direction, a number (us-east-1, ap-southeast-5, us-gov-west-1). */
const REGION = /^(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob|eusc)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d{1,2}$/;

const CRON_FIELDS: ReadonlyArray<[string, RegExp]> = [
  ['minutes', /^[0-9,\-*/]+$/],
  ['hours', /^[0-9,\-*/]+$/],
  ['day-of-month', /^[0-9,\-*/?LW]+$/],
  ['month', /^([0-9,\-*/]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)+$/i],
  ['day-of-week', /^([0-9,\-*/?L#]|SUN|MON|TUE|WED|THU|FRI|SAT)+$/i],
  ['year', /^[0-9,\-*/]+$/],
];

/**
 * What is wrong with a Scheduler expression, or undefined. The syntax (EventBridge Scheduler User
 * Guide, "Schedule types"; EventBridge User Guide, "Rate expressions reference" and "cron
 * expressions"): `rate(value unit)` with a positive whole value, the unit singular for 1 and
 * plural above (`rate(1 hour)`, `rate(5 minutes)`); `cron(minutes hours day-of-month month
 * day-of-week year)`, six fields, `?` in one of day-of-month and day-of-week.
 */
export function scheduleProblem(expression: string): string | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    if (value < 1) return 'a rate is at least 1';
    if ((value === 1) !== !rate[2].endsWith('s')) return value === 1 ? `write rate(1 ${rate[2].replace(/s$/, '')})` : `write rate(${value} ${rate[2].replace(/s?$/, 's')})`;
    return undefined;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) return 'neither rate(...) nor cron(...)';
  const fields = cron[1].trim().split(/\s+/);
  if (fields.length !== 6) return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one ${fields.length}`;
  for (const [i, [name, pattern]] of CRON_FIELDS.entries()) if (!pattern.test(fields[i])) return `cron field ${name} "${fields[i]}" is not valid`;
  if ((fields[2] === '?') === (fields[4] === '?')) return 'exactly one of day-of-month and day-of-week must be ?';
  return undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid ai-visibility configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readConfig(raw: unknown): AiVisibilityConfig {
  let input = raw ?? {};
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input);
    } catch {
      throw new ConfigError([`the ai-visibility context must be a JSON object, got ${JSON.stringify(raw)}`]);
    }
  }
  if (!isObject(input)) throw new ConfigError([`the ai-visibility context must be an object, got ${JSON.stringify(raw)}`]);
  const problems: string[] = [];
  const known = new Set(Object.keys(DEFAULT_CONFIG));
  for (const key of Object.keys(input)) if (!known.has(key)) problems.push(`unknown setting "${key}" (known: ${[...known].join(', ')})`);

  const bool = (key: keyof AiVisibilityConfig): boolean => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    if (typeof v !== 'boolean') problems.push(`${key} must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
  const int = (key: keyof AiVisibilityConfig, min: number, max: number): number => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) problems.push(`${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return v as number;
  };

  const arns = (key: keyof AiVisibilityConfig): string[] => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    if (!Array.isArray(v) || !v.every((a) => typeof a === 'string' && /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/\S+$/.test(a))) {
      problems.push(`${key} must be a list of IAM role or user ARNs, got ${JSON.stringify(v)}`);
      return [];
    }
    return v as string[];
  };
  const text = (key: keyof AiVisibilityConfig, pattern: RegExp, what: string): string => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    if (typeof v !== 'string' || !pattern.test(v)) problems.push(`${key} must be ${what}, got ${JSON.stringify(v)}`);
    return v as string;
  };
  const levels = (key: keyof AiVisibilityConfig): string[] => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    const ok = Array.isArray(v) && v.length >= 2 && v.every((l) => typeof l === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(l)) && new Set(v.map((l: string) => l.toLowerCase())).size === v.length;
    if (!ok) problems.push(`${key} must be a list of at least two distinct levels (letters, digits, _.:-), lowest first, got ${JSON.stringify(v)}`);
    return ok ? (v as string[]) : [...CLASSIFICATION_DEFAULTS.levels];
  };
  const regions = (key: keyof AiVisibilityConfig): string[] => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    if (!Array.isArray(v) || !v.every((r) => typeof r === 'string' && REGION.test(r))) {
      problems.push(`${key} must be a list of region names (like us-east-1), got ${JSON.stringify(v)}`);
      return [];
    }
    if (new Set(v).size !== v.length) problems.push(`${key} names a region more than once: ${JSON.stringify(v)}`);
    return v as string[];
  };
  const schedule = (key: keyof AiVisibilityConfig): string => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    const problem = typeof v === 'string' ? scheduleProblem(v) : 'not a string';
    if (problem) problems.push(`${key} must be an EventBridge Scheduler rate(...) or cron(...) expression: ${problem}, got ${JSON.stringify(v)}`);
    return v as string;
  };
  const prices = (key: keyof AiVisibilityConfig): Record<string, number> => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    // Number.isFinite: JSON's 1e400 parses to Infinity, which a template writes as null.
    if (!isObject(v) || !Object.entries(v).every(([k, n]) => /^(ml\.)?[a-z0-9-]+\.[a-z0-9]+$/.test(k) && typeof n === 'number' && Number.isFinite(n) && n >= 0)) {
      problems.push(`${key} must map instance types to non-negative USD per hour, got ${JSON.stringify(v)}`);
      return {};
    }
    return v as Record<string, number>;
  };
  const emails = (key: keyof AiVisibilityConfig): string[] => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    if (!Array.isArray(v) || !v.every((e) => typeof e === 'string' && /^[^\s@,]{1,64}@[^\s@,]+\.[^\s@,]+$/.test(e))) {
      problems.push(`${key} must be a list of email addresses, got ${JSON.stringify(v)}`);
      return [];
    }
    if (new Set(v).size !== v.length) problems.push(`${key} names an address more than once: ${JSON.stringify(v)}`);
    return v as string[];
  };
  const tags = (key: keyof AiVisibilityConfig): Record<string, string> => {
    const v = input[key] ?? DEFAULT_CONFIG[key];
    // Tag keys 1-128 and values 0-256 characters; aws: is reserved, and ai-visibility: is this project's own.
    const ok = isObject(v) && Object.entries(v).every(([k, t]) => /^(?!aws:)(?!ai-visibility:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(k) && typeof t === 'string' && /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u.test(t));
    if (!ok || Object.keys(v).length > 40) {
      problems.push(`${key} must map at most 40 tag keys (1-128 characters, not starting with aws: or ai-visibility:) to values of up to 256 characters, got ${JSON.stringify(v)}`);
      return {};
    }
    return v as Record<string, string>;
  };
  const notifications = (key: keyof AiVisibilityConfig): NotificationsConfig => {
    const d = DEFAULT_CONFIG.notifications;
    const v = input[key] ?? d;
    if (!isObject(v)) {
      problems.push(`${key} must be an object (minSeverity, dedupWindowHours, subscriptions, accountOwners), got ${JSON.stringify(v)}`);
      return d;
    }
    const knownKeys = Object.keys(d);
    for (const k of Object.keys(v)) if (!knownKeys.includes(k)) problems.push(`unknown setting "${key}.${k}" (known: ${knownKeys.join(', ')})`);
    const minSeverity = v.minSeverity ?? d.minSeverity;
    if (typeof minSeverity !== 'string' || !(SEVERITIES as readonly string[]).includes(minSeverity)) problems.push(`${key}.minSeverity must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(minSeverity)}`);
    const hours = v.dedupWindowHours ?? d.dedupWindowHours;
    if (typeof hours !== 'number' || !Number.isInteger(hours) || hours < 1 || hours > 720) problems.push(`${key}.dedupWindowHours must be a whole number from 1 to 720, got ${JSON.stringify(hours)}`);
    const owners = v.accountOwners ?? d.accountOwners;
    if (!isObject(owners) || !Object.entries(owners).every(([a, o]) => /^\d{12}$/.test(a) && typeof o === 'string' && o.length > 0 && o.length <= 256)) {
      problems.push(`${key}.accountOwners must map 12-digit account ids to owner names (1-256 characters), got ${JSON.stringify(owners)}`);
    }
    const subs = v.subscriptions ?? d.subscriptions;
    const list = (x: unknown, ok: (s: string) => boolean) => x === undefined || (Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === 'string' && ok(e)));
    if (!Array.isArray(subs)) problems.push(`${key}.subscriptions must be a list, got ${JSON.stringify(subs)}`);
    else {
      subs.forEach((sub: unknown, i: number) => {
        const at = `${key}.subscriptions[${i}]`;
        if (!isObject(sub) || typeof sub.email !== 'string' || !/^[^\s@,]{1,64}@[^\s@,]+\.[^\s@,]+$/.test(sub.email)) return void problems.push(`${at} must be an object with an email address, got ${JSON.stringify(sub)}`);
        for (const k of Object.keys(sub)) if (!['email', 'severities', 'accounts', 'owners', 'rules'].includes(k)) problems.push(`unknown setting "${at}.${k}" (known: email, severities, accounts, owners, rules)`);
        if (!list(sub.severities, (s) => (SEVERITIES as readonly string[]).includes(s))) problems.push(`${at}.severities must be a non-empty list of ${SEVERITIES.join(', ')}, got ${JSON.stringify(sub.severities)}`);
        if (!list(sub.accounts, (s) => /^\d{12}$/.test(s))) problems.push(`${at}.accounts must be a non-empty list of 12-digit account ids, got ${JSON.stringify(sub.accounts)}`);
        if (!list(sub.owners, (s) => s.length > 0 && s.length <= 256)) problems.push(`${at}.owners must be a non-empty list of owner names, got ${JSON.stringify(sub.owners)}`);
        if (!list(sub.rules, (s) => Object.hasOwn(FINDING_RULES, s))) problems.push(`${at}.rules must be a non-empty list of finding rules (docs/findings.md), got ${JSON.stringify(sub.rules)}`);
        const { combinations } = filterPolicyOf(sub as SubscriptionFilter);
        if (combinations > FILTER_POLICY_LIMITS.combinations) problems.push(`${at} filters on ${combinations} combinations of values; SNS allows ${FILTER_POLICY_LIMITS.combinations} (the product of the list lengths): split it into several subscriptions`);
      });
    }
    const digest = v.digest ?? d.digest;
    if (!isObject(digest) || Object.keys(digest).some((k) => k !== 'enabled' && k !== 'schedule' && k !== 'apiKeyMaxAgeDays') || (digest.enabled !== undefined && typeof digest.enabled !== 'boolean')) {
      problems.push(`${key}.digest must be an object with enabled (true or false), schedule and apiKeyMaxAgeDays, got ${JSON.stringify(digest)}`);
    } else {
      if (digest.schedule !== undefined) {
        const problem = typeof digest.schedule === 'string' ? scheduleProblem(digest.schedule) : 'not a string';
        if (problem) problems.push(`${key}.digest.schedule must be an EventBridge Scheduler rate(...) or cron(...) expression: ${problem}, got ${JSON.stringify(digest.schedule)}`);
      }
      const age = digest.apiKeyMaxAgeDays;
      if (age !== undefined && (typeof age !== 'number' || !Number.isInteger(age) || age < 1 || age > 3650)) problems.push(`${key}.digest.apiKeyMaxAgeDays must be a whole number of days from 1 to 3650, got ${JSON.stringify(age)}`);
    }
    return { ...d, ...v, digest: { ...d.digest, ...(isObject(digest) ? digest : {}) } } as NotificationsConfig;
  };
  /** A nested setting: the defaults with what was given, or undefined (its problems listed) when it is not an object. */
  const nested = <T extends object>(key: keyof AiVisibilityConfig, d: T): T | undefined => {
    const v = input[key] ?? d;
    if (!isObject(v)) {
      problems.push(`${key} must be an object (${Object.keys(d).join(', ')}), got ${JSON.stringify(v)}`);
      return undefined;
    }
    for (const k of Object.keys(v)) if (!Object.hasOwn(d, k)) problems.push(`unknown setting "${key}.${k}" (known: ${Object.keys(d).join(', ')})`);
    return { ...d, ...v } as T;
  };
  const tagging = (key: keyof AiVisibilityConfig): TaggingConfig => {
    const d = DEFAULT_CONFIG.tagging;
    const out = nested(key, d);
    if (!out) return d;
    if (typeof out.enabled !== 'boolean') problems.push(`${key}.enabled must be true or false, got ${JSON.stringify(out.enabled)}`);
    const problem = typeof out.prefix === 'string' ? prefixProblem(out.prefix) : 'is not a string';
    if (problem) problems.push(`${key}.prefix ${problem}, got ${JSON.stringify(out.prefix)}`);
    if (!Array.isArray(out.exclude) || !out.exclude.every((k) => (RESOURCE_KINDS as readonly string[]).includes(k))) problems.push(`${key}.exclude must be a list of resource kinds (${RESOURCE_KINDS.join(', ')}), got ${JSON.stringify(out.exclude)}`);
    return out;
  };
  const remediation = (key: keyof AiVisibilityConfig): RemediationSettings => {
    const d = DEFAULT_CONFIG.remediation;
    const out = nested(key, d);
    if (!out) return d;
    if (!(REMEDIATION_MODES as readonly unknown[]).includes(out.mode)) problems.push(`${key}.mode must be one of ${REMEDIATION_MODES.join(', ')}, got ${JSON.stringify(out.mode)}`);
    if (typeof out.idleSweeps !== 'number' || !Number.isInteger(out.idleSweeps) || out.idleSweeps < 1 || out.idleSweeps > 999) problems.push(`${key}.idleSweeps must be a whole number from 1 to 999, got ${JSON.stringify(out.idleSweeps)}`);
    return out;
  };
  const organization = (key: keyof AiVisibilityConfig): OrganizationConfig => {
    const d = DEFAULT_CONFIG.organization;
    const v = input[key] ?? d;
    if (!isObject(v)) {
      problems.push(`${key} must be an object (${Object.keys(d).join(', ')}), got ${JSON.stringify(v)}`);
      return d;
    }
    for (const k of Object.keys(v)) if (!Object.hasOwn(d, k)) problems.push(`unknown setting "${key}.${k}" (known: ${Object.keys(d).join(', ')})`);
    const prefs = isObject(v.stackSetOperationPreferences) ? v.stackSetOperationPreferences : {};
    if (v.stackSetOperationPreferences !== undefined && !isObject(v.stackSetOperationPreferences)) problems.push(`${key}.stackSetOperationPreferences must be an object, got ${JSON.stringify(v.stackSetOperationPreferences)}`);
    for (const k of Object.keys(prefs)) if (!Object.hasOwn(d.stackSetOperationPreferences, k)) problems.push(`unknown setting "${key}.stackSetOperationPreferences.${k}" (known: ${Object.keys(d.stackSetOperationPreferences).join(', ')})`);
    const out = { ...d, ...v, stackSetOperationPreferences: { ...d.stackSetOperationPreferences, ...prefs } } as OrganizationConfig;
    const at = (k: string) => `${key}.${k}`;
    if (typeof out.enabled !== 'boolean') problems.push(`${at('enabled')} must be true or false, got ${JSON.stringify(out.enabled)}`);
    if (typeof out.delegatedAdmin !== 'boolean') problems.push(`${at('delegatedAdmin')} must be true or false, got ${JSON.stringify(out.delegatedAdmin)}`);
    // Organizations API reference: Organization.Id ^o-[a-z0-9]{10,32}$, OU ids ^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$, root ids ^r-[0-9a-z]{4,32}$.
    const orgIdOk = typeof out.organizationId === 'string' && /^o-[a-z0-9]{10,32}$/.test(out.organizationId);
    if (out.enabled === true && !orgIdOk) problems.push(`${at('organizationId')} must be the organization's id (o- and 10-32 letters or digits: aws organizations describe-organization), got ${JSON.stringify(out.organizationId)}`);
    if (out.enabled !== true && out.organizationId !== '' && !orgIdOk) problems.push(`${at('organizationId')} must be an organization id (o-...), got ${JSON.stringify(out.organizationId)}`);
    const ous = out.memberOus;
    if (!Array.isArray(ous) || !ous.every((o) => typeof o === 'string' && /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/.test(o))) problems.push(`${at('memberOus')} must be a list of OU ids (ou-...) or the root id (r-...), got ${JSON.stringify(ous)}`);
    else if (out.enabled === true && ous.length === 0) problems.push(`${at('memberOus')} must name at least one OU (or the root, r-...) when ${at('enabled')} is true`);
    if (!Array.isArray(out.regions) || !out.regions.every((r) => typeof r === 'string' && REGION.test(r))) problems.push(`${at('regions')} must be a list of region names (like us-east-1), got ${JSON.stringify(out.regions)}`);
    else {
      if (new Set(out.regions).size !== out.regions.length) problems.push(`${at('regions')} names a region more than once: ${JSON.stringify(out.regions)}`);
      if (out.enabled === true && out.regions.length === 0) problems.push(`${at('regions')} must name at least one region when ${at('enabled')} is true`);
      if (out.enabled === true && out.regions.length > 0 && !out.regions.includes('us-east-1') && out.regions.every((r) => !r.startsWith('cn-') && !r.startsWith('us-gov-'))) {
        problems.push(`${at('regions')} must include us-east-1: IAM, STS and Organizations events (agent declarations, owner tags) arrive only there`);
      }
    }
    if (out.homeRegion !== null && (typeof out.homeRegion !== 'string' || !REGION.test(out.homeRegion))) problems.push(`${at('homeRegion')} must be a region name or null (the stack's region), got ${JSON.stringify(out.homeRegion)}`);
    if (!Array.isArray(out.accounts) || !out.accounts.every((a) => typeof a === 'string' && /^\d{12}$/.test(a))) problems.push(`${at('accounts')} must be a list of 12-digit account ids, got ${JSON.stringify(out.accounts)}`);
    const p = out.stackSetOperationPreferences;
    const pct = (k: 'failureTolerancePercentage' | 'maxConcurrentPercentage', min: number) => {
      if (typeof p[k] !== 'number' || !Number.isInteger(p[k]) || p[k] < min || p[k] > 100) problems.push(`${at(`stackSetOperationPreferences.${k}`)} must be a whole number from ${min} to 100, got ${JSON.stringify(p[k])}`);
    };
    pct('failureTolerancePercentage', 0);
    pct('maxConcurrentPercentage', 1);
    if (p.regionConcurrencyType !== 'SEQUENTIAL' && p.regionConcurrencyType !== 'PARALLEL') problems.push(`${at('stackSetOperationPreferences.regionConcurrencyType')} must be SEQUENTIAL or PARALLEL, got ${JSON.stringify(p.regionConcurrencyType)}`);
    return out;
  };
  const agentTrail = (key: keyof AiVisibilityConfig): AgentTrailConfig => {
    const d = DEFAULT_CONFIG.agentTrail;
    const out = nested(key, d);
    if (!out) return d;
    const at = (k: string) => `${key}.${k}`;
    const orNull = (k: keyof AgentTrailConfig, pattern: RegExp, what: string) => {
      const x = out[k];
      if (x !== null && (typeof x !== 'string' || !pattern.test(x))) problems.push(`${at(k)} must be ${what} or null, got ${JSON.stringify(x)}`);
    };
    // S3 User Guide, "General purpose bucket naming rules": 3-63 lowercase letters, digits, dots and hyphens.
    orNull('bucketName', /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name');
    if (typeof out.keyPrefix !== 'string' || !/^([^/](.{0,198}[^/])?)?$/.test(out.keyPrefix)) problems.push(`${at('keyPrefix')} must be the trail's S3 key prefix (at most 200 characters, no slash at either end), got ${JSON.stringify(out.keyPrefix)}`);
    if (out.organizationTrail !== null && typeof out.organizationTrail !== 'boolean') problems.push(`${at('organizationTrail')} must be true, false or null, got ${JSON.stringify(out.organizationTrail)}`);
    orNull('bucketAccount', /^\d{12}$/, 'a 12-digit account id');
    orNull('kmsKeyArn', /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)');
    orNull('notificationTopicArn', /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN');
    if (typeof out.lookBackMinutes !== 'number' || !Number.isInteger(out.lookBackMinutes) || out.lookBackMinutes < 0 || out.lookBackMinutes > 1_440) problems.push(`${at('lookBackMinutes')} must be a whole number from 0 to 1440, got ${JSON.stringify(out.lookBackMinutes)}`);
    return out;
  };
  const discovery = (key: keyof AiVisibilityConfig): DiscoveryConfig => {
    const d = DEFAULT_CONFIG.discovery;
    const out = nested(key, d);
    if (!out) return d;
    const at = (k: string) => `${key}.${k}`;
    for (const k of ['enabled', 'afterDeploy', 'lookupHistory'] as const) if (typeof out[k] !== 'boolean') problems.push(`${at(k)} must be true or false, got ${JSON.stringify(out[k])}`);
    const problem = typeof out.schedule === 'string' ? scheduleProblem(out.schedule) : 'not a string';
    if (problem) problems.push(`${at('schedule')} must be an EventBridge Scheduler rate(...) or cron(...) expression: ${problem}, got ${JSON.stringify(out.schedule)}`);
    if (typeof out.maxConcurrency !== 'number' || !Number.isInteger(out.maxConcurrency) || out.maxConcurrency < 1 || out.maxConcurrency > 40) problems.push(`${at('maxConcurrency')} must be a whole number from 1 to 40, got ${JSON.stringify(out.maxConcurrency)}`);
    if (!Array.isArray(out.regions) || !out.regions.every((r) => typeof r === 'string' && REGION.test(r))) problems.push(`${at('regions')} must be a list of region names (like us-east-1), got ${JSON.stringify(out.regions)}`);
    else if (new Set(out.regions).size !== out.regions.length) problems.push(`${at('regions')} names a region more than once: ${JSON.stringify(out.regions)}`);
    return out;
  };
  const modelUse = (key: keyof AiVisibilityConfig): ModelUseConfig => {
    const d = DEFAULT_CONFIG.modelUse;
    const out = nested(key, d);
    if (!out) return d;
    const whole = (k: 'reconWindowMinutes' | 'probeBurstCount' | 'probeBurstSeconds' | 'baselineHours', min: number, max: number) => {
      const n = out[k];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) problems.push(`${key}.${k} must be a whole number from ${min} to ${max}, got ${JSON.stringify(n)}`);
    };
    whole('reconWindowMinutes', 1, 1_440);
    whole('probeBurstCount', 2, 10_000);
    whole('probeBurstSeconds', 1, 86_400);
    whole('baselineHours', 0, 2_160);
    // EventBridge wildcards: `*` only, never two in a row (EventBridge User Guide, "Wildcard matching").
    const pattern = /^arn:[a-z*-]+:iam::(\d{12}|\*):role\/[\w+=,.@\/*-]+$/;
    const apps = out.knownAiApplications;
    if (!Array.isArray(apps) || !apps.every((a) => typeof a === 'string' && pattern.test(a) && !a.includes('**'))) {
      problems.push(`${key}.knownAiApplications must be a list of role ARN patterns (arn:aws:iam::<account or *>:role/<name, * for any run of characters>), got ${JSON.stringify(apps)}`);
    }
    return out;
  };
  const config: AiVisibilityConfig = {
    dataEventTrail: bool('dataEventTrail'),
    retainData: bool('retainData'),
    logRetentionDays: int('logRetentionDays', 1, 3653),
    classifierBatchSize: int('classifierBatchSize', 1, 10_000),
    classifierMaxBatchingWindowSeconds: int('classifierMaxBatchingWindowSeconds', 0, 300),
    classifierMaxConcurrency: int('classifierMaxConcurrency', 2, 1000),
    maxReceiveCount: int('maxReceiveCount', 1, 1000),
    eventPatternQuota: int('eventPatternQuota', 2_048, 4_096),
    lambdaSourceMaps: bool('lambdaSourceMaps'),
    alarmEmails: emails('alarmEmails'),
    resourceTags: tags('resourceTags'),
    notifications: notifications('notifications'),
    securityHubExport: bool('securityHubExport'),
    guardDutyAiFindings: bool('guardDutyAiFindings'),
    tagging: tagging('tagging'),
    agentPrincipals: arns('agentPrincipals'),
    agentBehaviourWindowSeconds: int('agentBehaviourWindowSeconds', 1, 86_400),
    agentDeniedBurstCount: int('agentDeniedBurstCount', 2, 10_000),
    agentDeniedBurstSeconds: int('agentDeniedBurstSeconds', 1, 86_400),
    actionLedgerRetentionDays: int('actionLedgerRetentionDays', 1, 3_650),
    classificationTagKey: text('classificationTagKey', /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, 'a tag key of 1-128 characters, not starting with aws:'),
    classificationLevels: levels('classificationLevels'),
    sensitiveFromLevel: text('sensitiveFromLevel', /^[A-Za-z0-9_.:-]{1,64}$/, 'one of classificationLevels'),
    sweepSchedule: schedule('sweepSchedule'),
    sweepWindowMinutes: int('sweepWindowMinutes', 1, 1_440),
    sweepMaxConcurrency: int('sweepMaxConcurrency', 1, 40),
    sweepRegions: regions('sweepRegions'),
    gpuIdleBelowPct: int('gpuIdleBelowPct', 0, 100),
    gpuUnderutilizedBelowPct: int('gpuUnderutilizedBelowPct', 0, 100),
    gpuMemoryHeldFromPct: int('gpuMemoryHeldFromPct', 0, 100),
    gpuPrices: prices('gpuPrices'),
    remediation: remediation('remediation'),
    organization: organization('organization'),
    agentTrail: agentTrail('agentTrail'),
    discovery: discovery('discovery'),
    modelUse: modelUse('modelUse'),
  };
  if (config.agentTrail.organizationTrail === true && !config.organization.enabled && !/^o-[a-z0-9]{10,32}$/.test(config.organization.organizationId)) {
    problems.push('agentTrail.organizationTrail needs organization.organizationId (the organization trail keeps its files under AWSLogs/<organization id>/)');
  }
  if (config.gpuIdleBelowPct > config.gpuUnderutilizedBelowPct) problems.push(`gpuIdleBelowPct (${config.gpuIdleBelowPct}) must not be above gpuUnderutilizedBelowPct (${config.gpuUnderutilizedBelowPct})`);
  if (!config.classificationLevels.some((l) => l.toLowerCase() === config.sensitiveFromLevel.toLowerCase())) {
    problems.push(`sensitiveFromLevel must be one of classificationLevels (${config.classificationLevels.join(', ')}), got ${JSON.stringify(config.sensitiveFromLevel)}`);
  }
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(config.logRetentionDays)) {
    problems.push(`logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${config.logRetentionDays}`);
  }
  if (config.classifierBatchSize > 10 && config.classifierMaxBatchingWindowSeconds < 1) {
    problems.push('classifierBatchSize above 10 needs classifierMaxBatchingWindowSeconds of at least 1 (SQS event source mapping rule)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
