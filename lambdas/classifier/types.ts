/**
 * The records the classifier reads and the decisions it makes.
 *
 * Data flows one way: a raw input (EventBridge envelope or CloudTrail record) is normalized into
 * a `NormalizedEvent`; `classify` turns that into a `Classification` (resources, the principal,
 * findings), each part carrying the `Signal`s that justify it; the store persists those.
 */

/** A CloudTrail record as CloudTrail writes it (only the fields the classifier reads are typed). */
export interface CloudTrailRecord {
  eventVersion?: string;
  eventID?: string;
  eventTime?: string;
  eventSource?: string;
  eventName?: string;
  eventType?: string;
  eventCategory?: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  userIdentity?: UserIdentity;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown> | null;
  errorCode?: string;
  errorMessage?: string;
  readOnly?: boolean | string;
  managementEvent?: boolean | string;
  recipientAccountId?: string;
  sessionCredentialFromConsole?: boolean | string;
  resources?: Array<{ ARN?: string; arn?: string; type?: string; accountId?: string }>;
  [key: string]: unknown;
}

export interface UserIdentity {
  type?: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  userName?: string;
  invokedBy?: string;
  sessionContext?: {
    sessionIssuer?: { type?: string; principalId?: string; arn?: string; accountId?: string; userName?: string };
    attributes?: { creationDate?: string; mfaAuthenticated?: string };
    sourceIdentity?: string;
  };
  [key: string]: unknown;
}

/** A CloudTrail record that passed validation, with the fields every rule needs resolved. */
export interface NormalizedEvent {
  /** The CloudTrail eventID, or `derived:sha256:...` of the record when the exporter dropped it. */
  readonly eventId: string;
  readonly eventIdDerived: boolean;
  /** ISO 8601 UTC with milliseconds: comparable as a string. */
  readonly time: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly region: string;
  /** The account the event happened in (recipientAccountId), or the caller's account. */
  readonly account: string;
  readonly partition: string;
  readonly readOnly: boolean;
  readonly errorCode?: string;
  readonly record: CloudTrailRecord;
}

/** One piece of evidence: which field of which event had which value. */
export interface Signal {
  readonly eventName: string;
  readonly path: string;
  readonly value: string | number | boolean | null;
  readonly note?: string;
}

export const RESOURCE_KINDS = [
  'gpu-instance',
  'foundation-model',
  'custom-model',
  'imported-model',
  'model-import-job',
  'customization-job',
  'provisioned-throughput',
  'inference-profile',
  'guardrail',
  'agent',
  'agent-alias',
  'knowledge-base',
  'flow',
  'agent-runtime',
  'agent-gateway',
  'agent-memory',
  'notebook',
  'training-job',
  'processing-job',
  'transform-job',
  'model',
  'endpoint-config',
  'inference-endpoint',
  'model-artifact-store',
  'batch-inference-job',
  'invocation-logging-config',
  /** Anything else an AI agent created (an instance, a bucket, a role...). */
  'agent-created-resource',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export type ResourceStatus = 'active' | 'deleted';
export type AttributeValue = string | number | boolean | string[] | Record<string, string>;

/** What one event reveals about one AI resource. */
export interface ResourceObservation {
  readonly arn: string;
  readonly kind: ResourceKind;
  /** The AWS service that owns the resource: bedrock, bedrock-agentcore, sagemaker, ec2, s3. */
  readonly service: string;
  readonly account: string;
  readonly region: string;
  readonly status: ResourceStatus;
  /** Configuration the event shows (instanceType, modelId, ...), keyed by attribute name. */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly signals: readonly Signal[];
  /**
   * The event alone cannot tell whether this is an AI resource (StopInstances names only an
   * instance id): update it only if the inventory already knows it.
   */
  readonly onlyIfKnown?: boolean;
}

export const PRINCIPAL_ROLES = ['ai-application', 'human', 'service', 'unknown'] as const;
export type PrincipalRole = (typeof PRINCIPAL_ROLES)[number];

export interface PrincipalObservation {
  /**
   * The IAM ARN where there is one, without the path for roles and users (see
   * `canonicalPrincipal`); otherwise a `urn:ai-visibility:...` identifier.
   */
  readonly arn: string;
  /** The exact IAM ARN, when it has a path. */
  readonly iamArn?: string;
  /** userIdentity.type (IAMUser, AssumedRole, AWSService, ...) or `JWT` for token callers. */
  readonly type: string;
  readonly account: string;
  readonly role: PrincipalRole;
  readonly signals: readonly Signal[];
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface FrameworkRef {
  readonly framework: 'OWASP-LLM-2025' | 'MITRE-ATLAS' | 'MITRE-ATTACK';
  readonly id: string;
  readonly name: string;
}

export interface FindingObservation {
  readonly rule: string;
  readonly severity: Severity;
  readonly title: string;
  /** What the event showed, in one sentence. */
  readonly summary: string;
  /** `confirmed` when the event shows the risk; `possible` when it shows a change it cannot vet. */
  readonly confidence: 'confirmed' | 'possible';
  readonly resource: string;
  readonly principal: string | null;
  readonly eventId: string;
  readonly time: string;
  readonly account: string;
  readonly region: string;
  readonly frameworks: readonly FrameworkRef[];
  readonly signals: readonly Signal[];
}

export interface Classification {
  readonly resources: readonly ResourceObservation[];
  readonly principal?: PrincipalObservation;
  readonly findings: readonly FindingObservation[];
  /** Why nothing was recorded, when nothing was (e.g. "own activity", "not a GPU instance type"). */
  readonly ignoredBecause?: string;
}
