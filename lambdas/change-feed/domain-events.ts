/**
 * Table changes in, domain events out. Pure: one item change (a stream record's kind and its
 * old and new images) becomes zero or more events (lambdas/core/events.ts):
 *
 *   finding inserted                              Finding Recorded
 *   resource inserted (or first becomes one)      Resource Inventoried
 *   resource modified in kind, status,            Resource Changed (which aspects, and their old values)
 *     sensitivity, tags, GPU verdict or exclusion
 *   agent profile inserted                        Agent Identified
 *   watched principal inserted                    Principal Watched
 *
 * Anything else (a newer `lastSeen`, fresh evidence, an expired ledger entry) is no event.
 */
import { sha256Hex } from '../core/hash';
import { DETAIL_TYPES, DETAIL_VERSION, RESOURCE_ASPECTS, type DomainEvent, type ResourceAspect, type ResourceDetail } from '../core/events';
import { controlsOf, readAgentProfile, readFinding, readResource, readWatch, type RawItem, type ResourceItem } from '../shared/items';

export interface ItemChange {
  readonly kind: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** When DynamoDB wrote the change (ISO 8601). */
  readonly at: string;
  readonly oldImage?: RawItem;
  readonly newImage?: RawItem;
}

const idOf = (...parts: string[]) => sha256Hex(parts.join('\u0000')).slice(0, 32);

function resourceDetail(r: ResourceItem): ResourceDetail {
  const { arn, kind, service, account, region, status, firstSeen, lastSeen, sensitivity, sensitivityFrom } = r;
  return { arn, kind, service, account, region, status, firstSeen, lastSeen, discoveredBy: r.discoveredBy ?? null, sensitivity, sensitivityFrom, tags: r.tags ?? null, gpuVerdict: r.lastSweep?.verdict ?? null, excluded: controlsOf(r.configuration).excluded !== null };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The aspects that differ between two states of a resource. */
export function changedAspects(before: ResourceDetail, after: ResourceDetail): ResourceAspect[] {
  return RESOURCE_ASPECTS.filter((a) => (a === 'sensitivity' ? !same([before.sensitivity, before.sensitivityFrom], [after.sensitivity, after.sensitivityFrom]) : !same(before[a], after[a])));
}

function resourceEvents(change: ItemChange): DomainEvent[] {
  const after = readResource(change.newImage);
  if (!after) return [];
  const detail = resourceDetail(after);
  const before = change.kind === 'MODIFY' ? readResource(change.oldImage) : undefined;
  if (!before) {
    return [{ detailType: DETAIL_TYPES.resourceInventoried, resources: [after.arn], detail: { version: DETAIL_VERSION, id: idOf('inventoried', after.arn), changedAt: change.at, resource: detail } }];
  }
  const old = resourceDetail(before);
  const changed = changedAspects(old, detail);
  if (changed.length === 0) return [];
  const previous: { -readonly [K in ResourceAspect | 'sensitivityFrom']?: ResourceDetail[K] } = {};
  for (const a of changed) {
    if (a === 'kind') previous.kind = old.kind;
    if (a === 'status') previous.status = old.status;
    if (a === 'tags') previous.tags = old.tags;
    if (a === 'gpuVerdict') previous.gpuVerdict = old.gpuVerdict;
    if (a === 'excluded') previous.excluded = old.excluded;
    if (a === 'sensitivity') {
      previous.sensitivity = old.sensitivity;
      previous.sensitivityFrom = old.sensitivityFrom;
    }
  }
  // The item's revision counts its writes: the same change of the same item has the same id.
  const id = idOf('changed', after.arn, String(after.rev ?? change.at), changed.join(','));
  return [{ detailType: DETAIL_TYPES.resourceChanged, resources: [after.arn], detail: { version: DETAIL_VERSION, id, changedAt: change.at, resource: detail, changed, before: previous } }];
}

export function domainEventsOf(change: ItemChange): DomainEvent[] {
  if (change.kind === 'REMOVE' || !change.newImage) return [];
  const resource = resourceEvents(change);
  if (resource.length > 0 || readResource(change.newImage)) return resource;
  if (change.kind !== 'INSERT') return [];

  const finding = readFinding(change.newImage);
  if (finding) {
    const { findingId, producer, ...rest } = finding;
    return [
      {
        detailType: DETAIL_TYPES.findingRecorded,
        resources: [finding.resource],
        detail: { version: DETAIL_VERSION, id: findingId, changedAt: change.at, finding: { findingId, producer: producer ?? 'unknown', ...rest } },
      },
    ];
  }
  const agent = readAgentProfile(change.newImage);
  if (agent) {
    const identifiedBy = agent.identifiedBy.map(({ how, agent: of, eventId, time }) => ({ how, ...(of ? { agent: of } : {}), eventId, time }));
    return [
      {
        detailType: DETAIL_TYPES.agentIdentified,
        resources: [agent.arn, ...agent.agentOf],
        detail: { version: DETAIL_VERSION, id: idOf('agent', agent.arn), changedAt: change.at, agent: { arn: agent.arn, account: agent.account, identifiedBy, agentOf: agent.agentOf, firstSeen: agent.firstSeen } },
      },
    ];
  }
  const watch = readWatch(change.newImage);
  if (watch) {
    return [
      {
        detailType: DETAIL_TYPES.principalWatched,
        resources: [watch.principal],
        detail: { version: DETAIL_VERSION, id: idOf('watch', watch.principal), changedAt: change.at, principal: watch.principal, iamArn: watch.iamArn ?? null, reason: watch.reason },
      },
    ];
  }
  return [];
}
