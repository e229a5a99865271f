/**
 * One home for each default that both a function and the deploy-time configuration need: the
 * function's environment spec, the local runtime and `lib/config.ts` all read these, none
 * retypes them. docs explain each (agents.md, lineage.md, gpu-sweep.md).
 */

/** The CloudWatch namespace of every function's metrics. */
export const METRICS_NAMESPACE = 'AiVisibility';

/**
 * Messages per classifier invocation (the SQS event source's batch size, and the local replay's):
 * larger batches coalesce more writes (docs/performance.md).
 */
export const CLASSIFIER_BATCH_SIZE = 1_000;

/** A long-term Bedrock API key older than this many days is listed in the daily digest (rotate or delete it). */
export const BEDROCK_API_KEY_MAX_AGE_DAYS = 90;

/** Agent identification and the action ledger. */
export const AGENT_DEFAULTS = {
  /** A model call and then a write to another service within this many seconds marks an agent. */
  behaviourWindowSeconds: 900,
  /** This many denied actions of an agent... */
  deniedBurstCount: 5,
  /** ...within this many seconds raise agent-denied-burst. */
  deniedBurstSeconds: 300,
  /** Days an agent action stays in the ledger (DynamoDB TTL). */
  ledgerRetentionDays: 400,
} as const;

/**
 * The LLMjacking detections on model use (lambdas/classifier/model-use.ts, docs/findings.md).
 */
export const MODEL_USE_DEFAULTS = {
  /** Reconnaissance, then the principal's first model invocation within this many minutes: model-recon-then-invoke. */
  reconWindowMinutes: 15,
  /** This many refused invocations (ValidationException, AccessDenied) of one principal... */
  probeBurstCount: 10,
  /** ...within this many seconds: model-invocation-probing. */
  probeBurstSeconds: 300,
  /**
   * An account's model use must be this many hours old before a new region or a new model is
   * flagged: the first day of a new account (or of a deployment without its history import) is
   * its baseline, not news.
   */
  baselineHours: 24,
} as const;

/**
 * Minutes of already delivered trail files searched for a newly watched principal's calls: the
 * behaviour window (a model call, then a write up to 15 minutes later, identifies the principal
 * at the write) plus CloudTrail's delivery delay ("within an average of about 5 minutes",
 * CloudTrail FAQ) with room to spare.
 */
export const DEFAULT_TRAIL_LOOK_BACK_MINUTES = 30;

/** The data classification scheme lineage reads from bucket tags. */
export const CLASSIFICATION_DEFAULTS = {
  tagKey: 'data-classification',
  /** Lowest first. */
  levels: ['public', 'internal', 'confidential', 'restricted'] as readonly string[],
  /** Findings are raised from this level up. */
  sensitiveFrom: 'confidential',
} as const;

/** The GPU utilization sweep. */
export const SWEEP_DEFAULTS = {
  /** Minutes of metrics each sweep judges. */
  windowMinutes: 60,
  /** Mean GPU utilization (%) below which a GPU is idle. */
  idleBelowPct: 5,
  /** Mean GPU utilization (%) below which a GPU is underutilized. */
  underutilizedBelowPct: 40,
  /** Share of GPU memory (%) allocated that makes an idle GPU memory-held-idle. */
  memoryHeldFromPct: 10,
  /** Days a utilization record is kept. */
  historyDays: 90,
} as const;
