/**
 * What every lister shares: the place it lists, paging, retries on throttling, bounded
 * concurrency for per-resource detail calls, and the edge builder the events' lineage uses.
 * No SDK here: the listers (listers.ts) bring the clients.
 */
import { RELATIONS, bucketOf, loggingConfigNode, s3Node, type LineageEdge, type Relation } from '../core/lineage';
import { kindOfArn } from '../core/arn';
import type { AttributeValue, ResourceKind } from '../core/model';
import type { ListedResource } from '../core/listing';
import { pool } from '../shared/pool';

export interface ListingPlace {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
}

/** Error names AWS services answer when a caller is over its request rate. */
const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'ProvisionedThroughputExceededException']);

export function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return !!e && (THROTTLING.has(e.name ?? '') || e.$metadata?.httpStatusCode === 429);
}

export interface RetryOptions {
  /** Attempts per call, throttled ones included (default 6). */
  readonly attempts?: number;
  /** First back-off in ms, doubled per attempt with full jitter (default 250). */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Call `fn`, backing off and retrying while the service throttles. The SDK retries too, but
 * only three times by default; listing a large account is a burst of calls to one API, so the
 * listing backs off further rather than lose a page (exponential back-off with full jitter,
 * AWS Architecture Blog "Exponential Backoff And Jitter").
 */
export async function retrying<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<{ value: T; throttled: number }> {
  const attempts = options.attempts ?? 6;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  let throttled = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(), throttled };
    } catch (error) {
      if (!isThrottling(error) || attempt >= attempts) throw error;
      throttled++;
      await sleep(Math.floor(random() * (options.baseDelayMs ?? 250) * 2 ** (attempt - 1)));
    }
  }
}

/** A lister's context: its place, its calls (retried), its detail pool, what it found. */
export class ListingContext {
  readonly found: ListedResource[] = [];
  throttled = 0;

  constructor(
    readonly place: ListingPlace,
    readonly api: string,
    private readonly retry: RetryOptions,
    private readonly detailConcurrency: number,
  ) {}

  /** One call, retried on throttling. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    const { value, throttled } = await retrying(fn, this.retry);
    this.throttled += throttled;
    return value;
  }

  /** Every page of a paginated API, following its token (`undefined` or '' ends it). */
  async *pages<P>(fetch: (token: string | undefined) => Promise<P>, next: (page: P) => string | undefined): AsyncGenerator<P> {
    let token: string | undefined;
    const seen = new Set<string>();
    do {
      const page: P = await this.call(() => fetch(token));
      yield page;
      token = next(page) || undefined;
      // A service that hands back a token it already gave would page forever.
      if (token && seen.has(token)) throw new Error(`${this.api}: pagination token repeated`);
      if (token) seen.add(token);
    } while (token);
  }

  /** Run `work` over `items`, at most the detail concurrency at once (per API). */
  each<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    return pool(items, this.detailConcurrency, work);
  }

  /** Record a resource; its ARN is made canonical the way events make it, so both land on one item. */
  add(r: { arn: string | undefined; kind: ResourceKind; api?: string; configuration?: Record<string, AttributeValue | undefined | null>; edges?: Edges; changedAt?: Date | string }): string | undefined {
    if (!r.arn) return undefined;
    const known = kindOfArn(r.arn);
    const arn = known?.arn ?? r.arn;
    const configuration = Object.fromEntries(Object.entries(r.configuration ?? {}).filter((e): e is [string, AttributeValue] => e[1] !== undefined && e[1] !== null && !(Array.isArray(e[1]) && e[1].length === 0)));
    const changedAt = r.changedAt instanceof Date ? r.changedAt.toISOString() : r.changedAt;
    this.found.push({
      arn,
      kind: known?.kind ?? r.kind,
      service: arn.split(':')[2] ?? '',
      status: 'active',
      api: r.api ?? this.api,
      configuration,
      edges: r.edges?.unique() ?? [],
      ...(changedAt && !Number.isNaN(Date.parse(changedAt)) ? { changedAt: new Date(changedAt).toISOString() } : {}),
    });
    return arn;
  }

  edges(): Edges {
    return new Edges(this.place);
  }

  get loggingConfig(): string {
    return loggingConfigNode(this.place.partition, this.place.region, this.place.account);
  }
}

/** Edges as the events' lineage builds them (lineage/extract.ts): a location's bucket contains it. */
export class Edges {
  private readonly list: LineageEdge[] = [];
  constructor(private readonly place: ListingPlace) {}

  add(from: string | undefined, relation: Relation, to: string | undefined): this {
    if (!from || !to || from === to) return this;
    const canonical = (n: string) => kindOfArn(n)?.arn ?? n;
    this.list.push({ from: canonical(from), to: canonical(to), relation });
    for (const node of [from, to]) {
      const bucket = bucketOf(node);
      if (bucket && bucket !== node) this.list.push({ from: bucket, to: node, relation: RELATIONS.contains });
    }
    return this;
  }

  s3(location: string | undefined): string | undefined {
    return location ? s3Node(this.place.partition, location) : undefined;
  }

  unique(): LineageEdge[] {
    return [...new Map(this.list.map((e) => [`${e.from}\u0000${e.relation}\u0000${e.to}`, e])).values()];
  }
}

/** A Date or ISO string as ISO, or undefined. */
export const iso = (d: Date | string | undefined): string | undefined => (d === undefined ? undefined : d instanceof Date ? d.toISOString() : d);
