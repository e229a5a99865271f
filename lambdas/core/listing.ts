/**
 * Discovery by listing: what one listing of an account and region found, in domain terms. Pure.
 *
 * A listing is a second way into the inventory beside events: it shows what exists now (a
 * SageMaker endpoint created last year, a guardrail no one has touched since the stack was
 * deployed), not who did what. Each listed resource carries the API that showed it, as
 * evidence, and the configuration the listing shows; the lineage edges it reveals are the edges
 * the events would give, so sensitivity flows on day zero.
 */
import type { LineageEdge } from './lineage';
import type { AttributeValue, ResourceKind, ResourceStatus, Signal } from './model';

/** One resource as a listing shows it. */
export interface ListedResource {
  readonly arn: string;
  readonly kind: ResourceKind;
  readonly service: string;
  readonly status: ResourceStatus;
  /** The API whose answer showed it (`bedrock:GetGuardrail`): the evidence. */
  readonly api: string;
  /** Configuration the listing shows: roles, model ids, KMS keys, data sources, settings. */
  readonly configuration: Readonly<Record<string, AttributeValue>>;
  /** Lineage the configuration reveals (a knowledge base's data source bucket, an endpoint's model). */
  readonly edges: readonly LineageEdge[];
  /** When the service says the resource was last changed, where it says so (ISO 8601). */
  readonly changedAt?: string;
}

/** How one API fared in a listing. `complete` only when every page was read. */
export interface ApiOutcome {
  readonly api: string;
  /** The resource kinds a complete answer covers: only these may be judged absent (drift). */
  readonly kinds: readonly ResourceKind[];
  readonly listed: number;
  readonly complete: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

/** A region's account-level settings a listing reads (not resources). */
export interface ListedSettings {
  /**
   * Bedrock model invocation logging: `undefined` when the API could not be read, `null` when
   * logging is off (no configuration), else what is logged where.
   */
  readonly invocationLogging?: {
    readonly s3Bucket?: string;
    readonly logGroup?: string;
    readonly dataTypes: Readonly<Record<string, boolean>>;
  } | null;
}

/** Everything one listing of one account and region found. */
export interface Listing {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
  /** When the listing ran (ISO 8601, milliseconds): the evidence's time and its order. */
  readonly at: string;
  /** Names the run: the evidence's event id (`listing:<runId>`). */
  readonly runId: string;
  readonly resources: readonly ListedResource[];
  readonly apis: readonly ApiOutcome[];
  readonly settings: ListedSettings;
}

/** The pseudo event id of a listing: what the inventory's ordered merge compares, with `at`. */
export const listingEventId = (runId: string) => `listing:${runId}`;

/** The name listings are discovered by (`discoveredBy` of a resource no event showed first). */
export const LISTING_DISCOVERER = 'listing';

/** The evidence a listing gives: `listed by <API> at <time>`. */
export function listedSignal(api: string, at: string): Signal {
  return { eventName: api, path: 'listedBy', value: api, note: `listed by ${api} at ${at}` };
}

/** The evidence that a complete listing did not show a resource: `listed absent at <time>`. */
export function absentSignal(apis: readonly string[], at: string): Signal {
  return { eventName: apis.join(','), path: 'listedAbsent', value: at, note: `listed absent at ${at} (${apis.join(', ')} complete)` };
}

/** The kinds a listing may judge absent: those every API that covers them answered completely. */
export function completeKinds(apis: readonly ApiOutcome[]): Set<ResourceKind> {
  const complete = new Set<ResourceKind>();
  const incomplete = new Set<ResourceKind>();
  for (const a of apis) for (const k of a.kinds) (a.complete ? complete : incomplete).add(k);
  for (const k of incomplete) complete.delete(k);
  return complete;
}
