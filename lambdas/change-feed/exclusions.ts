/**
 * Findings about what its owners excluded (`ai-visibility:ignore=true` on the resource, or on the
 * principal that raised it) are not published: no notification, no Security Hub import, no
 * subscriber sees them. They stay in the table, so an exclusion hides nothing from an audit, and
 * the replay lists the exclusions with who set each and when.
 */
import { taggedPrincipalOf } from '../core/arn';
import { DETAIL_TYPES, type DomainEvent } from '../core/events';
import { controlsOf, keys, keyString, type Key } from '../shared/items';
import type { InventoryStore } from '../shared/inventory-store';

/** Which of the events are findings of an excluded resource or principal (by index). */
export async function excludedFindings(events: readonly DomainEvent[], store: Pick<InventoryStore, 'getItems'>): Promise<Set<number>> {
  const asked = new Map<number, Key[]>();
  events.forEach((e, i) => {
    if (e.detailType !== DETAIL_TYPES.findingRecorded) return;
    const { resource, principal } = e.detail.finding;
    const tagged = principal ? taggedPrincipalOf(principal) : undefined;
    asked.set(i, [keys.resource(resource), ...(tagged ? [keys.principalTags(tagged)] : [])]);
  });
  if (asked.size === 0) return new Set();
  const unique = new Map<string, Key>();
  for (const list of asked.values()) for (const k of list) unique.set(keyString(k), k);
  const items = await store.getItems([...unique.values()]);
  const out = new Set<number>();
  for (const [i, list] of asked) if (list.some((k) => controlsOf(items.get(keyString(k))).excluded)) out.add(i);
  return out;
}
