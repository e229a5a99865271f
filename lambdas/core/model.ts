/**
 * The model types every capability shares: evidence (`Signal`), resource kinds and statuses,
 * principals and their roles, severities, framework references and finding observations. Pure
 * types and the lists behind them; no I/O.
 *
 * Data flows one way: an event is normalized and classified into observations (resources, a
 * principal, findings), each carrying the `Signal`s that justify it; the item module turns
 * observations into table items; the change feed turns item changes into domain events.
 */

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
  /** An account-region's enforced guardrail: applied to every model invocation there. */
  'enforced-guardrail-config',
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
  /** An account's access to one foundation model (an agreement, or the retired entitlement). */
  'model-agreement',
  'prompt',
  /** A long-term Bedrock API key: an IAM service-specific credential for bedrock.amazonaws.com. */
  'bedrock-api-key',
  'agent-identity',
  'studio-domain',
  /** Anything else an AI agent created (an instance, a bucket, a role...). */
  'agent-created-resource',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** `gone`: a complete listing no longer shows it, and no delete event said so (discovery's drift). */
export const RESOURCE_STATUSES = ['active', 'deleted', 'gone'] as const;
export type ResourceStatus = (typeof RESOURCE_STATUSES)[number];
export type AttributeValue = string | number | boolean | string[] | Record<string, string>;

/** A resource as the inventory names it. */
export interface ResourceIdentity {
  readonly arn: string;
  readonly kind: string;
  /** The AWS service that owns the resource: bedrock, bedrock-agentcore, sagemaker, ec2, s3. */
  readonly service: string;
  readonly account: string;
  readonly region: string;
  readonly status: string;
}

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

/** Most severe first: the order reports list findings in. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** 0 for the most severe; unknown severities sort last. */
export function severityOrder(severity: string): number {
  const i = (SEVERITIES as readonly string[]).indexOf(severity);
  return i === -1 ? SEVERITIES.length : i;
}

export const FRAMEWORKS = ['OWASP-LLM-2025', 'MITRE-ATLAS', 'MITRE-ATTACK'] as const;

export interface FrameworkRef {
  readonly framework: (typeof FRAMEWORKS)[number];
  readonly id: string;
  readonly name: string;
}

export const CONFIDENCES = ['confirmed', 'possible'] as const;
export type Confidence = (typeof CONFIDENCES)[number];

const among = <T extends string>(list: readonly T[]) => (v: unknown): v is T => typeof v === 'string' && (list as readonly string[]).includes(v);
export const isSeverity = among(SEVERITIES);
export const isConfidence = among(CONFIDENCES);

/** Which function raised a finding. */
export const FINDING_PRODUCERS = ['classifier', 'lineage-propagator', 'gpu-sweep', 'tagger', 'discovery'] as const;
export type FindingProducer = (typeof FINDING_PRODUCERS)[number];
export const isFindingProducer = among(FINDING_PRODUCERS);

export interface FindingObservation {
  readonly rule: string;
  readonly severity: Severity;
  readonly title: string;
  /** What the event showed, in one sentence. */
  readonly summary: string;
  /** `confirmed` when the event shows the risk; `possible` when it shows a change it cannot vet. */
  readonly confidence: Confidence;
  readonly resource: string;
  readonly principal: string | null;
  readonly eventId: string;
  readonly time: string;
  readonly account: string;
  readonly region: string;
  readonly frameworks: readonly FrameworkRef[];
  readonly signals: readonly Signal[];
}

/** What a finding is dated and placed by: the event (or sweep, or recomputation) that raised it. */
export interface FindingOccasion {
  readonly eventId: string;
  readonly time: string;
  readonly account: string;
  readonly region: string;
}
