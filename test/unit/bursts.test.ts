/**
 * Bursts judged whatever the order of arrival (lambdas/classifier/bursts.ts): occurrences
 * delivered in batches, each batch judged against what the earlier ones stored, give the
 * completions of the whole sequence, and the reads stay bounded.
 */
import { completedBursts, occurrenceOrder, type Occurrence, type OccurrenceReader } from '../../lambdas/classifier/bursts';

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 9, 0, 0) + s * 1000).toISOString();
const occ = (s: number, id = `e-${String(s).padStart(4, '0')}`): Occurrence => ({ time: t(s), eventId: id });

/** A reader over a stored list, counting what it is asked for. */
function memory(stored: Occurrence[]): OccurrenceReader & { limits: number[] } {
  const limits: number[] = [];
  const sorted = () => [...stored].sort(occurrenceOrder);
  return {
    limits,
    async before(from, o, limit) {
      limits.push(limit);
      return sorted().filter((x) => occurrenceOrder(x, o) < 0 && x.time >= from).reverse().slice(0, limit);
    },
    async after(o, to, limit) {
      limits.push(limit);
      return sorted().filter((x) => occurrenceOrder(x, o) > 0 && x.time <= to).slice(0, limit);
    },
  };
}

/** Deliver `batches` in turn (each judged, then stored); every completion reported. */
async function deliver(batches: Occurrence[][], count: number, windowMs: number): Promise<string[]> {
  const stored: Occurrence[] = [];
  const reported: string[] = [];
  for (const batch of batches) {
    for (const c of await completedBursts(batch, memory(stored), count, windowMs)) reported.push(c.eventId);
    stored.push(...batch);
  }
  return reported;
}

describe('completed bursts (3 within 60 s)', () => {
  const burst = [occ(0), occ(10), occ(20)];

  it('in order, one batch or three: the third completes it', async () => {
    expect(await deliver([burst], 3, 60_000)).toEqual(['e-0020']);
    expect(await deliver(burst.map((o) => [o]), 3, 60_000)).toEqual(['e-0020']);
  });

  it('out of order: the same completion, reported when the last missing one arrives', async () => {
    expect(await deliver([[occ(20)], [occ(0)], [occ(10)]], 3, 60_000)).toEqual(['e-0020']);
    expect(await deliver([[occ(20), occ(10)], [occ(0)]], 3, 60_000)).toEqual(['e-0020']);
  });

  it('exactly the window apart is a burst; a millisecond more is not', async () => {
    expect(await deliver([[occ(60)], [occ(0), occ(30)]], 3, 60_000)).toEqual(['e-0060']);
    const late = { time: new Date(Date.parse(t(60)) + 1).toISOString(), eventId: 'late' };
    expect(await deliver([[late], [occ(0), occ(30)]], 3, 60_000)).toEqual([]);
  });

  it('more in the same burst raise nothing more, in order', async () => {
    expect(await deliver([[occ(0), occ(10), occ(20), occ(30), occ(40)]], 3, 60_000)).toEqual(['e-0020']);
  });

  it('a late occurrence inside a reported burst may complete it earlier: reported too (the notifier dedups)', async () => {
    expect(await deliver([[occ(0), occ(10), occ(30)], [occ(5)]], 3, 60_000)).toEqual(['e-0030', 'e-0010']);
  });

  it('a redelivered batch already stored reports the same completion', async () => {
    const stored = memory(burst);
    expect((await completedBursts(burst, stored, 3, 60_000)).map((c) => c.eventId)).toEqual(['e-0020']);
  });

  it('reads at most count before and after each new occurrence however busy the subject', async () => {
    const busy = Array.from({ length: 500 }, (_, i) => occ(i / 10, `busy-${String(i).padStart(4, '0')}`));
    const reader = memory(busy);
    expect(await completedBursts([occ(25, 'new')], reader, 3, 60_000)).toEqual([]);
    expect(reader.limits).toEqual([3, 3]);
  });

  it('nothing to judge: no reads', async () => {
    const reader = memory([occ(0)]);
    expect(await completedBursts([], reader, 3, 60_000)).toEqual([]);
    expect(reader.limits).toEqual([]);
  });
});
