/**
 * Cached tag lookups: the tags of resources and principals tagged before the deploy (or whose
 * tag calls were never captured), so the controls (ignore, owner, expected-idle, idle-action)
 * count for them too. Resources through the Resource Groups Tagging API `GetResources`
 * (`ResourceARNList`: at most 100 ARNs a call, one region; it does not cover IAM), roles and
 * users through IAM `ListRoleTags`/`ListUserTags` (paginated with `Marker`). Each answer is kept
 * as a lookup item for six hours (a failed one for one hour), so a burst of findings costs one
 * call. `items/inventory.ts` `withLookedUpTags` puts the answer under what the events showed:
 * the newer wins.
 */
// Imported by name, not with import(): a dynamic import keeps the whole package in the bundle
// (the IAM client with every command is 131 KB minified, with these two 26 KB; measured with
// esbuild's metafile). A function that never calls awsTagLookupApis drops the IAM client.
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { IAMClient, ListRoleTagsCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { keys, keyString, lookupItem, readFreshLookup, type LookedUpTags, type LookupKind } from './items';
import type { InventoryStore } from './inventory-store';
import type { CredentialProvider, MemberCredentials } from './member-credentials';

export const TAG_LOOKUP_TTL_SECONDS = 6 * 3600;
export const FAILED_LOOKUP_TTL_SECONDS = 3600;
/** GetResources takes at most 100 ARNs (API reference, ResourceARNList). */
export const GET_RESOURCES_BATCH = 100;

export interface TagLookupApis {
  /**
   * The tags of each ARN (of one account and region: GetResources answers for the caller's own
   * only); an ARN with none may be missing. `account` undefined: the function's own.
   */
  resourceTags(region: string, arns: readonly string[], account?: string): Promise<Map<string, Record<string, string>>>;
  /**
   * The tags of an IAM role or user (canonical ARN). Absent: principals are read from the cache
   * only (the change feed: the classifier looked them up when it wrote the findings, and the
   * IAM client stays out of the feed's bundle).
   */
  principalTags?(arn: string): Promise<Record<string, string>>;
}

export interface LookupRequest {
  /** `account`: where the resource is, when its ARN names none (a bucket); else the ARN's. */
  readonly resources?: ReadonlyArray<{ readonly arn: string; readonly region: string; readonly account?: string }>;
  readonly principals?: readonly string[];
}

/**
 * What GetResources can answer for: an account's own ARN, or an S3 bucket. An AWS-owned ARN (a
 * foundation model: no account) is left out, as one bad ARN fails the whole call.
 */
const LOOKABLE = /^arn:[^:]+:(s3:::[^/]+$|[^:]+:[^:]*:\d{12}:)/;
const ACCOUNT_IN_ARN = /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/;

type Cached = LookedUpTags | { readonly problem: string; readonly at: string };

const isTags = (v: unknown): v is LookedUpTags => typeof v === 'object' && v !== null && typeof (v as LookedUpTags).at === 'string' && typeof (v as LookedUpTags).tags === 'object';

/**
 * The tags of the resources and principals asked for, from the cache or looked up (and cached).
 * A lookup that fails is cached as a problem and leaves that ARN out: what the events showed
 * still holds.
 */
export async function lookUpTags(request: LookupRequest, deps: { store: Pick<InventoryStore, 'getItems' | 'putItems'>; apis: TagLookupApis; now: () => number; log?: { warn(message: string, extra?: Record<string, unknown>): void } }): Promise<Map<string, LookedUpTags>> {
  const wanted: Array<{ kind: LookupKind; arn: string; region?: string; account?: string }> = [
    ...(request.resources ?? []).filter((r) => LOOKABLE.test(r.arn)).map((r) => ({ kind: 'resource-tags' as const, arn: r.arn, region: r.region, account: ACCOUNT_IN_ARN.exec(r.arn)?.[1] ?? r.account })),
    ...(request.principals ?? []).map((arn) => ({ kind: 'principal-tags' as const, arn })),
  ];
  const unique = new Map(wanted.map((w) => [`${w.kind}\u0000${w.arn}`, w]));
  const out = new Map<string, LookedUpTags>();
  if (unique.size === 0) return out;
  const cached = await deps.store.getItems([...unique.values()].map((w) => keys.lookup(w.kind, w.arn)));
  const stale: typeof wanted = [];
  for (const w of unique.values()) {
    const fresh = readFreshLookup(cached.get(keyString(keys.lookup(w.kind, w.arn))), deps.now());
    if (!fresh) stale.push(w);
    else if (isTags(fresh.value)) out.set(w.arn, fresh.value);
  }
  if (stale.length === 0) return out;
  const at = new Date(deps.now()).toISOString();
  const answers = new Map<string, Cached>();
  // GetResources answers for one account and region: a batch per both.
  const byPlace = new Map<string, { region: string; account?: string; arns: string[] }>();
  for (const w of stale.filter((x) => x.kind === 'resource-tags')) {
    const k = `${w.account ?? ''}\u0000${w.region ?? ''}`;
    const place = byPlace.get(k) ?? { region: w.region ?? '', account: w.account, arns: [] };
    place.arns.push(w.arn);
    byPlace.set(k, place);
  }
  for (const { region, account, arns } of byPlace.values()) {
    for (let i = 0; i < arns.length; i += GET_RESOURCES_BATCH) {
      const batch = arns.slice(i, i + GET_RESOURCES_BATCH);
      try {
        const found = await deps.apis.resourceTags(region, batch, account);
        for (const arn of batch) answers.set(`resource-tags\u0000${arn}`, { tags: found.get(arn) ?? {}, at });
      } catch (error) {
        deps.log?.warn('resource tags not readable; the events alone decide', { region, resources: batch.length, error: String(error) });
        for (const arn of batch) answers.set(`resource-tags\u0000${arn}`, { problem: String(error).slice(0, 300), at });
      }
    }
  }
  const principalTags = deps.apis.principalTags?.bind(deps.apis);
  for (const w of stale.filter((x) => x.kind === 'principal-tags' && principalTags)) {
    try {
      answers.set(`principal-tags\u0000${w.arn}`, { tags: await principalTags!(w.arn), at });
    } catch (error) {
      deps.log?.warn('principal tags not readable; the events alone decide', { principal: w.arn, error: String(error) });
      answers.set(`principal-tags\u0000${w.arn}`, { problem: String(error).slice(0, 300), at });
    }
  }
  const nowSeconds = Math.floor(deps.now() / 1000);
  const items = [...answers].map(([k, v]) => {
    const w = unique.get(k)!;
    if (isTags(v)) out.set(w.arn, v);
    return lookupItem(w.kind, w.arn, v, nowSeconds + (isTags(v) ? TAG_LOOKUP_TTL_SECONDS : FAILED_LOOKUP_TTL_SECONDS));
  });
  // A cache write that fails costs a lookup next time, nothing else.
  await deps.store.putItems(items).catch((error: unknown) => deps.log?.warn('tag lookups not cached', { error: String(error) }));
  return out;
}

/** A handler's lookups: `apis` as given (null: none, as locally), else over the SDK; cached in `store`. */
export function cachedTagLookup(
  apis: TagLookupApis | null | undefined,
  deps: {
    store: Pick<InventoryStore, 'getItems' | 'putItems'>;
    now: () => number;
    logger: { warn(message: string, extra: Record<string, unknown>): void };
    /** Organization mode: a member account's credentials (its member role); the SDK lookups use them for its ARNs. */
    credentials?: MemberCredentials;
  },
  /** The SDK lookups when none are given: resources only (no IAM client in the bundle), or with principals. */
  defaults: (credentials?: MemberCredentials) => TagLookupApis = awsResourceTagLookupApis,
): ((request: LookupRequest) => Promise<Map<string, LookedUpTags>>) | undefined {
  const chosen = apis === undefined ? defaults(deps.credentials) : apis;
  if (!chosen) return undefined;
  return (request) => lookUpTags(request, { store: deps.store, apis: chosen, now: deps.now, log: { warn: (message, extra) => deps.logger.warn(message, extra ?? {}) } });
}

/** One client per account (undefined: the function's own) and region, made on first use, on the member's credentials where given. */
export function perPlace<T>(make: (options: { region?: string; credentials?: CredentialProvider }) => T, credentials?: MemberCredentials) {
  const clients = new Map<string, T>();
  return (region: string | undefined, account: string | undefined): T => {
    const k = `${account ?? ''}\u0000${region ?? ''}`;
    let client = clients.get(k);
    if (!client) {
      const provider = account && credentials && region ? credentials(account, region) : undefined;
      client = make({ ...(region ? { region } : {}), ...(provider ? { credentials: provider } : {}) });
      clients.set(k, client);
    }
    return client;
  };
}

/** Resource tags over the SDK (one Tagging API client per account and region, made on first use); principals from the cache only. */
export function awsResourceTagLookupApis(credentials?: MemberCredentials): TagLookupApis {
  const tagging = perPlace((o) => new ResourceGroupsTaggingAPIClient(o), credentials);
  return {
    async resourceTags(region, arns, account) {
      const client = tagging(region, account);
      const out = new Map<string, Record<string, string>>();
      let token: string | undefined;
      do {
        const page = await client.send(new GetResourcesCommand({ ResourceARNList: [...arns], ...(token ? { PaginationToken: token } : {}) }));
        for (const m of page.ResourceTagMappingList ?? []) if (m.ResourceARN) out.set(m.ResourceARN, Object.fromEntries((m.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])));
        token = page.PaginationToken || undefined;
      } while (token);
      return out;
    },
  };
}

/**
 * Resource and principal tags over the SDK: the Tagging API, and one IAM client per account (made
 * on first use; a member's on its member role, IAM being global: the credentials of us-east-1's
 * STS) for roles and users. Only where principals are looked up (the classifier), as the IAM
 * client is large.
 */
export function awsTagLookupApis(credentials?: MemberCredentials): TagLookupApis {
  const iam = perPlace((o) => new IAMClient(o), credentials);
  return {
    ...awsResourceTagLookupApis(credentials),
    async principalTags(arn) {
      const m = /^arn:([^:]+):iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(arn);
      if (!m) return {};
      const [, partition, account, type, name] = m;
      const client = iam(credentials ? globalRegionOf(partition) : undefined, credentials ? account : undefined);
      const out: Record<string, string> = {};
      let marker: string | undefined;
      do {
        const page = type === 'role' ? await client.send(new ListRoleTagsCommand({ RoleName: name, Marker: marker })) : await client.send(new ListUserTagsCommand({ UserName: name, Marker: marker }));
        for (const t of page.Tags ?? []) if (t.Key) out[t.Key] = t.Value ?? '';
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
      return out;
    },
  };
}

/** The region of a partition's global services (IAM): where its STS issues the member's credentials. */
const globalRegionOf = (partition: string) => (partition === 'aws-cn' ? 'cn-north-1' : partition === 'aws-us-gov' ? 'us-gov-west-1' : 'us-east-1');
