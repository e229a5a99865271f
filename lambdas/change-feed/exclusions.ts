/**
 * Findings about what its owners excluded (`ai-visibility:ignore=true` on the resource, or on the
 * principal that raised it) are not published: no notification, no Security Hub import, no
 * subscriber sees them. They stay in the table, so an exclusion hides nothing from an audit, and
 * the replay lists the exclusions with who set each and when. Deployed, the tags of a finding's
 * resource and principal are also looked up (cached), for what was tagged before the deploy.
 */
import { taggedPrincipalOf } from '../core/arn';
import { DETAIL_TYPES, type DomainEvent } from '../core/events';
import { controlsOf, keys, keyString, type Key, type LookedUpTags } from '../shared/items';
import type { LookupRequest } from '../shared/tag-lookup';
import type { InventoryStore } from '../shared/inventory-store';

/** Where the tags of what the events never tagged are looked up (lambdas/shared/tag-lookup.ts); none locally. */
export type TagLookup = (request: LookupRequest) => Promise<Map<string, LookedUpTags>>;

/**
 * Which of the events are findings of an excluded resource or principal (by index): the ignore
 * tag as the events showed it, or as a (cached) lookup finds it when that is newer, so a
 * resource or role tagged before the deploy is excluded too.
 */
export async function excludedFindings(events: readonly DomainEvent[], store: Pick<InventoryStore, 'getItems'>, lookup?: TagLookup): Promise<Set<number>> {
  const asked = new Map<number, Array<{ key: Key; arn: string }>>();
  const resources: Array<{ arn: string; region: string; account: string }> = [];
  const principals: string[] = [];
  events.forEach((e, i) => {
    if (e.detailType !== DETAIL_TYPES.findingRecorded) return;
    const { resource, principal, region, account } = e.detail.finding;
    const tagged = principal ? taggedPrincipalOf(principal) : undefined;
    resources.push({ arn: resource, region, account });
    if (tagged) principals.push(tagged);
    asked.set(i, [{ key: keys.resource(resource), arn: resource }, ...(tagged ? [{ key: keys.principalTags(tagged), arn: tagged }] : [])]);
  });
  if (asked.size === 0) return new Set();
  const unique = new Map<string, Key>();
  for (const list of asked.values()) for (const { key } of list) unique.set(keyString(key), key);
  const [items, looked] = await Promise.all([store.getItems([...unique.values()]), lookup ? lookup({ resources, principals }) : Promise.resolve(new Map<string, LookedUpTags>())]);
  const out = new Set<number>();
  for (const [i, list] of asked) if (list.some(({ key, arn }) => controlsOf(items.get(keyString(key)), looked.get(arn)).excluded)) out.add(i);
  return out;
}
