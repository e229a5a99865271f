/**
 * One account and region: list, then record. The state machine's target step, the CLI's
 * `discover` and the tests all run this.
 */
import { partitionOfRegion } from '../core/arn';
import type { Listing } from '../core/listing';
import { listAll, type ListingClients, type ListOptions } from './listers';
import { recordListing, type ListingReport, type RecordDependencies } from './record';

export interface DiscoverOptions extends ListOptions {
  /** Names the run (the evidence's `listing:<runId>`); default the listing's time. */
  readonly runId?: string;
  readonly now?: () => Date;
}

export async function discoverTarget(target: { account: string; region: string }, clients: ListingClients, deps: RecordDependencies, options: DiscoverOptions = {}): Promise<ListingReport> {
  const at = (options.now?.() ?? new Date()).toISOString();
  const place = { account: target.account, region: target.region, partition: partitionOfRegion(target.region) };
  const { resources, apis, settings, throttled } = await listAll(place, clients, options);
  const listing: Listing = { ...place, at, runId: options.runId ?? at, resources, apis, settings };
  return recordListing(listing, deps, { throttled });
}
