/**
 * The tagger's items: what it wrote on each resource, as it last confirmed it, or why the
 * resource cannot be tagged (recorded once, never retried). Beside the resource's state
 * (`RESOURCE#<arn>`, `#TAGGER`), outside the change feed: the tagger's own bookkeeping is no event.
 */
import type { TaggableResource, TaggerState } from '../../core/tagging';
import { ENTITY, keys } from './keys';
import { isRecord, stringRecord, type Item, type RawItem } from './read';
import { controlsOf, type LookedUpTags, type ResourceItem } from './inventory';

export interface TaggerStateItem extends TaggerState {
  readonly arn: string;
  readonly updatedAt: string;
  /** The last write that failed for good (not retried until the resource changes). */
  readonly lastError?: string;
}

export function taggerStateItem(s: TaggerStateItem): Item {
  return {
    ...keys.taggerState(s.arn),
    entity: ENTITY.taggerState,
    arn: s.arn,
    applied: { ...s.applied },
    updatedAt: s.updatedAt,
    ...(s.untaggable ? { untaggable: s.untaggable } : {}),
    ...(s.lastError ? { lastError: s.lastError } : {}),
  };
}

export function readTaggerState(item: RawItem | undefined): TaggerStateItem | undefined {
  if (!item || item.entity !== ENTITY.taggerState || typeof item.arn !== 'string') return undefined;
  return {
    arn: item.arn,
    applied: isRecord(item.applied) ? stringRecord(item.applied) : {},
    updatedAt: typeof item.updatedAt === 'string' ? item.updatedAt : '',
    ...(typeof item.untaggable === 'string' ? { untaggable: item.untaggable } : {}),
    ...(typeof item.lastError === 'string' ? { lastError: item.lastError } : {}),
  };
}

/** What the tagger reads of an inventory resource, with the tags a lookup found on it. */
export function taggableOf(r: ResourceItem, lookup?: LookedUpTags): TaggableResource {
  const createdByAgent = r.configuration.createdByAgent;
  return {
    arn: r.arn,
    kind: r.kind,
    account: r.account,
    region: r.region,
    status: r.status,
    firstSeen: r.firstSeen,
    sensitivity: r.sensitivity,
    gpuVerdict: r.lastSweep?.verdict ?? null,
    createdByAgent: typeof createdByAgent === 'string' ? createdByAgent : null,
    tags: lookup ? { ...lookup.tags, ...(r.tags ?? {}) } : (r.tags ?? null),
    excluded: controlsOf(r.configuration, lookup).excluded !== null,
  };
}
