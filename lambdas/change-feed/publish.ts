/**
 * Domain events onto EventBridge: PutEvents in request order, at most 10 entries and 256 KB a
 * request, entries EventBridge refuses retried with backoff. An entry is sized as EventBridge
 * sizes it (Source, DetailType, Detail and each Resources string in UTF-8, 14 bytes for Time:
 * "Calculating Amazon EventBridge PutEvents event entry size", EventBridge User Guide); a finding
 * too large for one entry keeps its first signals and says so (`signalsTruncated`), the table
 * keeps them all.
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DOMAIN_EVENT_SOURCE, DETAIL_TYPES, type DomainEvent } from '../core/events';

/** PutEvents quotas: entries per request and bytes per request (and so per entry). */
export const MAX_ENTRIES = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;
const ATTEMPTS = 5;

export interface EventPublisher {
  /**
   * Publish `events` in order. Resolves with how many of them, from the start, are on the bus;
   * less than all when some could not be published after retries (`error` says why).
   */
  publish(events: readonly DomainEvent[]): Promise<{ readonly published: number; readonly error?: string }>;
}

const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));

export function entrySize(e: PutEventsRequestEntry): number {
  return (e.Time ? 14 : 0) + bytes(e.Source) + bytes(e.DetailType) + bytes(e.Detail) + (e.Resources ?? []).reduce((n, r) => n + bytes(r), 0);
}

function entryOf(event: DomainEvent, eventBusName: string): PutEventsRequestEntry {
  return {
    Source: DOMAIN_EVENT_SOURCE,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    // Resources carries ARNs only (the inventory also names things by urn:ai-visibility:...).
    Resources: event.resources.filter((r) => r.startsWith('arn:')),
    Time: new Date(event.detail.changedAt),
    EventBusName: eventBusName,
  };
}

/** The entry for an event, cut to fit one request if it has to be. */
export function fittedEntry(event: DomainEvent, eventBusName: string): PutEventsRequestEntry {
  let entry = entryOf(event, eventBusName);
  if (entrySize(entry) <= MAX_REQUEST_BYTES || event.detailType !== DETAIL_TYPES.findingRecorded) return entry;
  const { finding } = event.detail;
  for (let keep = Math.floor(finding.signals.length / 2); entrySize(entry) > MAX_REQUEST_BYTES; keep = Math.floor(keep / 2)) {
    const cut: DomainEvent = { ...event, detail: { ...event.detail, finding: { ...finding, signals: finding.signals.slice(0, keep), signalsTruncated: true } } };
    entry = entryOf(cut, eventBusName);
    if (keep === 0) break;
  }
  return entry;
}

/** Consecutive groups of entries that fit one request each. */
export function requests(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const out: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let size = 0;
  for (const e of entries) {
    const n = entrySize(e);
    if (current.length > 0 && (current.length >= MAX_ENTRIES || size + n > MAX_REQUEST_BYTES)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function putEventsPublisher(client: EventBridgeClient, eventBusName: string, options: { backoffMs?: number } = {}): EventPublisher {
  const backoffMs = options.backoffMs ?? 100;
  return {
    async publish(events) {
      let published = 0;
      for (const request of requests(events.map((e) => fittedEntry(e, eventBusName)))) {
        let pending = request.map((entry, i) => ({ entry, i }));
        let error: string | undefined;
        for (let attempt = 1; pending.length > 0 && attempt <= ATTEMPTS; attempt++) {
          if (attempt > 1) await sleep(backoffMs * 2 ** (attempt - 2) * (0.5 + Math.random() / 2));
          try {
            const out = await client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
            const results = out.Entries ?? [];
            const failed = pending.filter((_, n) => results[n]?.ErrorCode !== undefined || results[n] === undefined);
            if (failed.length > 0) error = `${results.find((r) => r?.ErrorCode)?.ErrorCode ?? 'no result'}: ${results.find((r) => r?.ErrorCode)?.ErrorMessage ?? ''}`.trim();
            pending = out.FailedEntryCount ? failed : [];
          } catch (e) {
            error = String(e);
          }
        }
        if (pending.length > 0) {
          // Everything before the first entry still failing is on the bus; the rest is not (yet).
          return { published: published + Math.min(...pending.map((p) => p.i)), error };
        }
        published += request.length;
      }
      return { published };
    },
  };
}
