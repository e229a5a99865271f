/**
 * Domain events: what the change feed publishes on the stack's event bus when the inventory
 * changes, for later capabilities (tagger, notifier, exporter) and users' own rules to subscribe
 * to. Pure types and names; lambdas/change-feed turns table changes into them.
 *
 * Every event has `source: "ai-visibility"`, a `detail-type` naming what happened, and a detail
 * whose `version` is the schema version of that detail type. Additive changes (a new optional
 * field) keep the version; a breaking change publishes the new version alongside the old one for
 * a deprecation period, so a rule can pin `detail.version`. `detail.id` is stable for the same
 * change: the feed delivers at least once, and a consumer deduplicates on it. README.md and
 * docs/events.md show a sample of each.
 */
import type { SensitivityFrom } from './lineage';
import type { FindingObservation, FindingProducer, ResourceIdentity } from './model';

export const DOMAIN_EVENT_SOURCE = 'ai-visibility';

export const DETAIL_TYPES = {
  findingRecorded: 'Finding Recorded',
  resourceInventoried: 'Resource Inventoried',
  resourceChanged: 'Resource Changed',
  agentIdentified: 'Agent Identified',
  principalWatched: 'Principal Watched',
} as const;
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** The schema version of each detail type's current detail. */
export const DETAIL_VERSION = 1;

interface DetailBase {
  readonly version: typeof DETAIL_VERSION;
  /** Stable for the same change: deduplicate on it. */
  readonly id: string;
  /** When the change was written to the inventory (ISO 8601). */
  readonly changedAt: string;
}

/** A finding as subscribers see it: everything the inventory holds, and where it came from. */
export interface FindingDetail extends FindingObservation {
  /** Stable id of the finding (the same finding always has the same id). */
  readonly findingId: string;
  /** Which function raised it. */
  readonly producer: FindingProducer | 'unknown';
  /** Set when the signals were cut to fit an EventBridge entry (256 KB); the table keeps them all. */
  readonly signalsTruncated?: true;
}

export interface FindingRecorded extends DetailBase {
  readonly finding: FindingDetail;
}

/** An inventory resource as subscribers see it. */
export interface ResourceDetail extends ResourceIdentity {
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Who first revealed it (a principal ARN, or `gpu-sweep`). */
  readonly discoveredBy: string | null;
  readonly sensitivity: string | null;
  readonly sensitivityFrom: SensitivityFrom | null;
  /** Tags as the newest tag event showed them, when the inventory records them (S3 buckets). */
  readonly tags: Readonly<Record<string, string>> | null;
  /** The newest GPU sweep's verdict on it (idle, busy, ...), when one judged it. */
  readonly gpuVerdict?: string | null;
  /** Tagged `ai-visibility:ignore=true`: its findings are not published and it is not tagged. */
  readonly excluded?: boolean;
}

export interface ResourceInventoried extends DetailBase {
  readonly resource: ResourceDetail;
}

/** The aspects of a resource whose change is an event; `lastSeen` and evidence alone are not. */
export const RESOURCE_ASPECTS = ['kind', 'status', 'sensitivity', 'tags', 'gpuVerdict', 'excluded'] as const;
export type ResourceAspect = (typeof RESOURCE_ASPECTS)[number];

export interface ResourceChanged extends DetailBase {
  readonly resource: ResourceDetail;
  /** Which aspects changed, in RESOURCE_ASPECTS order. */
  readonly changed: readonly ResourceAspect[];
  /** The changed aspects' values before the change (`sensitivityFrom` goes with `sensitivity`). */
  readonly before: Readonly<Partial<Pick<ResourceDetail, ResourceAspect | 'sensitivityFrom'>>>;
}

export interface AgentDetail {
  readonly arn: string;
  readonly account: string;
  /** The evidence that made it an agent: how, for which agent resource, and the event. */
  readonly identifiedBy: ReadonlyArray<{ readonly how: string; readonly agent?: string; readonly eventId: string; readonly time: string }>;
  readonly agentOf: readonly string[];
  readonly firstSeen: string;
}

export interface AgentIdentified extends DetailBase {
  readonly agent: AgentDetail;
}

/** A principal the agent capture rules now follow (an agent, or a model caller that may be one). */
export interface PrincipalWatched extends DetailBase {
  readonly principal: string;
  readonly iamArn: string | null;
  readonly reason: 'agent' | 'candidate';
}

export type DomainEvent =
  | { readonly detailType: typeof DETAIL_TYPES.findingRecorded; readonly resources: readonly string[]; readonly detail: FindingRecorded }
  | { readonly detailType: typeof DETAIL_TYPES.resourceInventoried; readonly resources: readonly string[]; readonly detail: ResourceInventoried }
  | { readonly detailType: typeof DETAIL_TYPES.resourceChanged; readonly resources: readonly string[]; readonly detail: ResourceChanged }
  | { readonly detailType: typeof DETAIL_TYPES.agentIdentified; readonly resources: readonly string[]; readonly detail: AgentIdentified }
  | { readonly detailType: typeof DETAIL_TYPES.principalWatched; readonly resources: readonly string[]; readonly detail: PrincipalWatched };
