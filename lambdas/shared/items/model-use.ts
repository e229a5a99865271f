/**
 * Model use, as the LLMjacking detections keep it (lambdas/classifier/model-use): the first
 * invocation of each principal, of each account in a region and of each model in an account
 * (each the earliest event seen, whatever the order of arrival), and each principal's
 * reconnaissance reads and refused invocations as short-lived markers.
 */
import { TTL_ATTRIBUTE } from '../table-schema';
import { ENTITY, keys, type UsageMarker } from './keys';
import { num, text, type Item, type RawItem } from './read';

/** The first invocation an item holds: the event and what it called. */
export interface FirstInvocation {
  /** orderKey of the event: the earliest one wins. */
  readonly order: string;
  readonly time: string;
  readonly eventId: string;
  readonly account: string;
  readonly region: string;
  readonly principal: string;
  /** The model's ARN as the inventory names it. */
  readonly model: string;
  readonly eventName: string;
  /** Whether the caller used a long-term credential (an IAM user, the root user, an AKIA key). */
  readonly longTerm: boolean;
  /** When a finding was raised about this first invocation (once per item). */
  readonly flaggedAt?: string;
}

/** The fields a first-invocation item stores besides its key and order (the store's conditional write sets them). */
export function firstInvocationFields(f: Omit<FirstInvocation, 'order' | 'flaggedAt'>, entityOf: 'principal' | 'region' | 'model'): Record<string, string | boolean> {
  return { entity: ENTITY.modelUseFirst, scope: entityOf, time: f.time, eventId: f.eventId, account: f.account, region: f.region, principal: f.principal, model: f.model, eventName: f.eventName, longTerm: f.longTerm };
}

export function readFirstInvocation(item: RawItem | undefined): FirstInvocation | undefined {
  if (!item || item.entity !== ENTITY.modelUseFirst) return undefined;
  const [order, time, eventId, account, region, principal, model, eventName] = [item.order, item.time, item.eventId, item.account, item.region, item.principal, item.model, item.eventName].map(text);
  if (!order || !time || !eventId || !account || !region || !principal || !model || !eventName) return undefined;
  const flaggedAt = text(item.flaggedAt);
  return { order, time, eventId, account, region, principal, model, eventName, longTerm: item.longTerm === true, ...(flaggedAt ? { flaggedAt } : {}) };
}

/**
 * How long a marker outlives the batch that wrote it: far longer than any window it is read
 * in, so a late or redelivered batch still sees it. Counted from when it was written, not from
 * its event: an imported event of last month needs its markers as much as today's.
 */
export const USAGE_MARKER_RETENTION_SECONDS = 7 * 86_400;

export interface UsageMarkerItem {
  readonly time: string;
  readonly eventId: string;
  readonly eventName: string;
  /** The error code of a refused invocation. */
  readonly errorCode?: string;
}

export function usageMarkerItem(principal: string, marker: UsageMarker, m: UsageMarkerItem, nowMs: number): Item {
  return {
    ...keys.usageMarker(principal, marker, m.time, m.eventId),
    entity: ENTITY.modelUseMarker,
    marker,
    time: m.time,
    eventId: m.eventId,
    eventName: m.eventName,
    ...(m.errorCode ? { errorCode: m.errorCode } : {}),
    [TTL_ATTRIBUTE]: Math.floor(nowMs / 1000) + USAGE_MARKER_RETENTION_SECONDS,
  };
}

export function readUsageMarker(item: RawItem | undefined): UsageMarkerItem | undefined {
  if (!item || item.entity !== ENTITY.modelUseMarker) return undefined;
  const time = text(item.time);
  const eventId = text(item.eventId);
  if (!time || !eventId) return undefined;
  const errorCode = text(item.errorCode);
  return { time, eventId, eventName: text(item.eventName) ?? 'unknown', ...(errorCode ? { errorCode } : {}) };
}

/** Expiry of an item, epoch seconds (for tests and readers that must ignore expired markers). */
export const expiresAtOf = (item: RawItem): number | undefined => num(item[TTL_ATTRIBUTE]);
