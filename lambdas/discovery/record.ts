/**
 * Record a listing in the inventory: each listed resource through the same item builders and
 * ordered merge as the events (so a listing and the events about one resource merge into one
 * item, whichever comes first), the lineage edges it reveals as the events' lineage writes them
 * (and work for the propagator), the findings its configuration shows, and drift: a
 * resource the inventory holds that a complete listing no longer shows is marked `gone`.
 *
 * A listing is ordered like an event, at the time it ran: an event newer than the listing (a
 * delete a minute later) wins over it, and a listing wins over older events. Its event id is
 * `listing:<runId>`.
 */
import { paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { findingItem, indexQueries, keys, keyString, lineageEdgeLatest, readFinding, readResource, resourceLatest, type ResourceItem, type StoredValue } from '../shared/items';
import { orderKey, type EntityWrite, type InventoryStore, type VersionedValue } from '../shared/inventory-store';
import { absentSignal, completeKinds, LISTING_DISCOVERER, listedSignal, listingEventId, type ApiOutcome, type ListedResource, type Listing } from '../core/listing';
import type { FindingObservation } from '../core/model';
import type { LineageEdge, LineageMessage, LineageQueue } from '../core/lineage';
import { pool } from '../shared/pool';
import { assess } from './assess';

const WRITE_CONCURRENCY = 8;

/** What one listing changed, for the report and the metrics. */
export interface ListingReport {
  readonly account: string;
  readonly region: string;
  readonly at: string;
  readonly runId: string;
  readonly listed: number;
  /** Resources no event had shown: evidence that capture missed something (or predates the stack). */
  readonly foundByListing: string[];
  /** Resources a complete listing no longer shows (now `status: gone`). */
  readonly gone: string[];
  readonly findings: number;
  readonly lineageEdges: number;
  readonly apis: readonly ApiOutcome[];
  readonly failedApis: number;
  readonly throttled: number;
}

export interface RecordDependencies {
  readonly store: InventoryStore;
  /** The account's stored resources (identity fields), for drift and "is Bedrock in use". */
  readonly storedResources: (account: string) => Promise<ResourceItem[]>;
  readonly lineage?: LineageQueue;
}

/** The inventory's resources of an account (byAccount index; the identity fields it projects). */
export function storedResourcesOf(client: DynamoDBDocumentClient, tableName: string): (account: string) => Promise<ResourceItem[]> {
  return async (account) => {
    const query = indexQueries.resourcesOfAccount(account, '');
    const out: ResourceItem[] = [];
    const pages = paginateQuery(
      { client },
      {
        TableName: tableName,
        IndexName: query.index.indexName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': query.index.partitionKey, '#sk': query.index.sortKey },
        ExpressionAttributeValues: { ':pk': query.partition, ':prefix': (query.sortKeyPrefix ?? '').replace(/#$/, '') },
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) {
      const r = readResource(item);
      if (r) out.push(r);
    }
    return out;
  };
}

const orderOf = (listing: Listing) => ({ time: listing.at, eventId: listingEventId(listing.runId), contentHash: undefined });

/** The ordered merge of one listed resource: identity and evidence as `latest`, configuration as ordered attributes. */
export function listedWrite(listing: Listing, r: ListedResource): EntityWrite {
  const head = orderOf(listing);
  const at = orderKey(head);
  const attributes: Record<string, VersionedValue> = Object.fromEntries(Object.entries(r.configuration).map(([k, value]) => [k, { value: value as StoredValue, at }]));
  attributes.listedBy = { value: r.api, at };
  attributes.listedAt = { value: listing.at, at };
  return {
    key: keys.resource(r.arn),
    head,
    first: head,
    latest: resourceLatest({ ...r, account: listing.account, region: listing.region, attributes: {}, signals: [listedSignal(r.api, listing.at)] }, r.api),
    attributes,
    earliest: {},
    // An older event that arrives later takes `discoveredBy` (the merge's earliest fields).
    fill: { discoveredBy: LISTING_DISCOVERER },
    sticky: {},
    addToSet: {},
    onlyIfKnown: false,
  };
}

/** A resource a complete listing no longer shows: `gone`, with the listing's evidence, in the listing's order. */
export function goneWrite(listing: Listing, r: ResourceItem, apis: readonly string[]): EntityWrite {
  const head = orderOf(listing);
  return {
    key: keys.resource(r.arn),
    head,
    first: head,
    latest: { status: 'gone', signals: [absentSignal(apis, listing.at)] as unknown as StoredValue, lastEventName: 'listing' },
    attributes: { listedAbsentAt: { value: listing.at, at: orderKey(head) } },
    earliest: {},
    fill: {},
    sticky: {},
    addToSet: {},
    onlyIfKnown: true,
  };
}

/**
 * An edge a listing shows, under both of its nodes, as the events' lineage plan writes it
 * (classifier/plan.ts planLineageWrites): an ordered merge, so an edge's `firstSeen` names
 * whichever sighting, event or listing, came first.
 */
export function edgeWrites(listing: Listing, edge: LineageEdge): EntityWrite[] {
  const head = orderOf(listing);
  const write = (key: EntityWrite['key'], direction: 'in' | 'out'): EntityWrite => ({ key, head, first: head, latest: lineageEdgeLatest(edge, direction), attributes: {}, earliest: {}, fill: {}, sticky: {}, addToSet: {}, onlyIfKnown: false });
  return [write(keys.lineageOut(edge.from, edge.relation, edge.to), 'out'), write(keys.lineageIn(edge.to, edge.relation, edge.from), 'in')];
}

/**
 * Which stored resources a listing judges gone: of a kind every API covering it answered in
 * full, in the listing's region, active, not listed, and not seen since the listing began.
 */
export function goneCandidates(listing: Listing, stored: readonly ResourceItem[]): ResourceItem[] {
  const kinds = completeKinds(listing.apis) as Set<string>;
  const listed = new Set(listing.resources.map((r) => r.arn));
  return stored.filter((r) => r.region === listing.region && r.account === listing.account && kinds.has(r.kind) && r.status === 'active' && !listed.has(r.arn));
}

/** Findings not already stored: the same configuration listed again is the same finding. */
async function newFindings(store: InventoryStore, findings: readonly FindingObservation[]): Promise<FindingObservation[]> {
  const out: FindingObservation[] = [];
  await pool(findings, WRITE_CONCURRENCY, async (f) => {
    const stored = await store.queryRange(keys.resource(f.resource).pk, 'FINDING#', 'FINDING#\uffff');
    if (!stored.some((item) => readFinding(item)?.eventId === f.eventId && item.rule === f.rule)) out.push(f);
  });
  return out;
}

export async function recordListing(listing: Listing, deps: RecordDependencies, extra: { throttled?: number } = {}): Promise<ListingReport> {
  const { store } = deps;
  const stored = await deps.storedResources(listing.account);

  // 1. Resources: one ordered merge each; `created` means no event (nor listing) had shown it.
  const foundByListing: string[] = [];
  await pool(listing.resources, WRITE_CONCURRENCY, async (r) => {
    if ((await store.writeEntity(listedWrite(listing, r))) === 'created') foundByListing.push(r.arn);
  });

  // 2. Lineage: each edge once, under both nodes; the propagator recomputes both ends of each new one.
  const edges = [...new Map(listing.resources.flatMap((r) => r.edges).map((e) => [`${e.from}\u0000${e.relation}\u0000${e.to}`, e])).values()];
  const newEdges: LineageEdge[] = [];
  await pool(edges, WRITE_CONCURRENCY, async (edge) => {
    const outcomes = await Promise.all(edgeWrites(listing, edge).map((w) => store.writeEntity(w)));
    if (outcomes.some((o) => o === 'created' || o === 'merged')) newEdges.push(edge);
  });
  const cause = { eventId: listingEventId(listing.runId), time: listing.at, account: listing.account, region: listing.region };
  const nodes = [...new Set(newEdges.flatMap((e) => [e.from, e.to]))].sort();
  const work: LineageMessage[] = nodes.map((node) => ({ type: 'recompute', node, cause }));
  if (deps.lineage && work.length > 0) await deps.lineage.send(work);

  // 3. Findings the configuration shows, once per configuration.
  const bedrockInUse = stored.some((r) => r.region === listing.region && r.service === 'bedrock' && r.status === 'active' && r.kind !== 'invocation-logging-config');
  const findings = await newFindings(store, assess(listing, bedrockInUse));
  const unwritten = await store.putItems(findings.map((f) => findingItem(f, 'discovery')));
  if (unwritten.length) throw new Error(`${unwritten.length} listing finding(s) not written`);

  // 4. Drift. The stored state is read again (strongly consistent): an event newer than the
  // listing, or a delete already recorded, leaves the resource as it is.
  const candidates = goneCandidates(listing, stored);
  const fresh = await store.getItems(candidates.map((r) => keys.resource(r.arn)));
  const gone: string[] = [];
  const completeApis = listing.apis.filter((a) => a.complete).map((a) => a.api);
  await pool(candidates, WRITE_CONCURRENCY, async (r) => {
    const now = readResource(fresh.get(keyString(keys.resource(r.arn))) as never);
    if (!now || now.status !== 'active' || now.lastSeen > listing.at) return;
    const apis = completeApis.filter((api) => listing.apis.find((a) => a.api === api)?.kinds.includes(r.kind as never));
    const outcome = await store.writeEntity(goneWrite(listing, now, apis));
    if (outcome === 'applied' || outcome === 'merged') gone.push(r.arn);
  });

  return {
    account: listing.account,
    region: listing.region,
    at: listing.at,
    runId: listing.runId,
    listed: listing.resources.length,
    foundByListing: foundByListing.sort(),
    gone: gone.sort(),
    findings: findings.length,
    lineageEdges: newEdges.length,
    apis: listing.apis,
    failedApis: listing.apis.filter((a) => !a.complete).length,
    throttled: extra.throttled ?? 0,
  };
}
