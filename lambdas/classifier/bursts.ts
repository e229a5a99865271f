/**
 * Bursts: `count` occurrences of something within `windowMs`, judged whatever the order in
 * which the occurrences arrive. Pure but for the reads it is given.
 *
 * An occurrence completes a burst when exactly `count - 1` others precede it (by time, then
 * event id) no more than `windowMs` before it. That is a property of the occurrences, not of
 * their arrival: when a late one arrives, the stored ones after it within the window are judged
 * again, since it may be what makes one of them complete a burst. Reads stay bounded however busy
 * the subject: at most `count` stored occurrences before and after each new one. Why that is
 * enough: an occurrence that is not read lies beyond `count` read ones, and any window holding it
 * holds those too, so it could only have been preceded by `count` or more (no completion either way).
 *
 * The same burst is reported once when its occurrences arrive in order; when a late occurrence
 * lands inside an already reported burst, an earlier occurrence may complete it too, and is
 * reported (the notifications' dedup window holds such repeats back).
 */
export interface Occurrence {
  readonly time: string;
  readonly eventId: string;
}

export interface OccurrenceReader {
  /** Stored occurrences before `o` (never `o` itself) and no earlier than `from`, nearest first, at most `limit`. */
  before(from: string, o: Occurrence, limit: number): Promise<Occurrence[]>;
  /** Stored occurrences after `o` (never `o` itself) and no later than `to`, nearest first, at most `limit`. */
  after(o: Occurrence, to: string, limit: number): Promise<Occurrence[]>;
}

/** By time, then event id (byte order, as DynamoDB keeps them). */
export const occurrenceOrder = (x: Occurrence, y: Occurrence) => (x.time !== y.time ? (x.time < y.time ? -1 : 1) : x.eventId < y.eventId ? -1 : x.eventId > y.eventId ? 1 : 0);

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The occurrences (new ones of `fresh`, or stored ones) that complete a burst now that `fresh`
 * is known, in order. `fresh` may already be stored (a redelivery): it is counted once.
 */
export async function completedBursts<T extends Occurrence>(fresh: readonly T[], reader: OccurrenceReader, count: number, windowMs: number): Promise<Array<T | Occurrence>> {
  if (fresh.length === 0 || count < 1) return [];
  const all = new Map<string, T | Occurrence>();
  const candidates = new Map<string, T | Occurrence>();
  for (const o of fresh) {
    all.set(o.eventId, o);
    candidates.set(o.eventId, o);
  }
  for (const o of fresh) {
    const t = Date.parse(o.time);
    const [before, after] = await Promise.all([reader.before(iso(t - windowMs), o, count), reader.after(o, iso(t + windowMs), count)]);
    for (const b of before) if (!all.has(b.eventId)) all.set(b.eventId, b);
    for (const a of after) {
      if (!all.has(a.eventId)) all.set(a.eventId, a);
      if (!candidates.has(a.eventId)) candidates.set(a.eventId, a);
    }
  }
  const sorted = [...all.values()].sort(occurrenceOrder);
  const out: Array<T | Occurrence> = [];
  for (const c of [...candidates.values()].sort(occurrenceOrder)) {
    const from = iso(Date.parse(c.time) - windowMs);
    const prior = sorted.filter((x) => occurrenceOrder(x, c) < 0 && x.time >= from).length;
    if (prior === count - 1) out.push(c);
  }
  return out;
}
