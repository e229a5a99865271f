/**
 * The in-process dynalite's storage (local/replay/sorted-store.ts) against LevelDB's rules: keys
 * in UTF-8 byte order, ranges as its iterators take them, a fresh copy on every read, and the
 * changes since loading. A seeded random sequence of writes and deletes, checked against a
 * plain sorted list after every step's ranges.
 */
import { compareKeys, SortedStore, type RangeOptions } from '../../local/replay/sorted-store';
import { seededRandom as random } from '../helpers';

const bytes = new Map<string, Buffer>();
const bytesOf = (k: string) => bytes.get(k) ?? (bytes.set(k, Buffer.from(k, 'utf8')), bytes.get(k)!);
const byBytes = (a: string, b: string) => Buffer.compare(bytesOf(a), bytesOf(b));

// Characters from every band UTF-16 and UTF-8 order differently: ASCII, dynalite's separators,
// Latin-1, U+E000-U+FFFF (above surrogates in UTF-16, below them in code points) and a pair.
const ALPHABET = ['a', 'b', 'z', 'A', '0', '#', '~', '\u0000', '\u00ff', '\u00e9', '\ue000', '\uffff', '\ud83d\ude00', '\u4e2d'];
function keyOf(next: () => number): string {
  const length = 1 + Math.floor(next() * 6);
  let key = '';
  for (let i = 0; i < length; i++) key += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return key;
}

function expectedRange(sorted: readonly string[], o: RangeOptions): string[] {
  let keys = sorted.filter((k) => (o.gte === undefined || byBytes(k, o.gte) >= 0) && (o.gt === undefined || byBytes(k, o.gt) > 0) && (o.lte === undefined || byBytes(k, o.lte) <= 0) && (o.lt === undefined || byBytes(k, o.lt) < 0));
  if (o.reverse) keys = keys.reverse();
  return o.limit === undefined || o.limit < 0 ? keys : keys.slice(0, o.limit);
}

describe('compareKeys', () => {
  it('orders strings as their UTF-8 bytes do, surrogate pairs and U+E000-U+FFFF included', () => {
    const next = random(7);
    for (let i = 0; i < 5_000; i++) {
      const a = keyOf(next);
      const b = keyOf(next);
      expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(byBytes(a, b)));
    }
    // The case a UTF-16 comparison gets wrong: U+1F600 is above U+FFFF.
    expect(compareKeys('\ud83d\ude00', '\uffff')).toBeGreaterThan(0);
    expect('\ud83d\ude00' < '\uffff').toBe(true);
  });
});

describe('SortedStore', () => {
  it('keeps keys in order through thousands of writes and deletes, and answers every range as LevelDB would', () => {
    const next = random(42);
    const store = new SortedStore();
    const model = new Map<string, unknown>();
    for (let step = 0; step < 6_000; step++) {
      const key = keyOf(next);
      if (next() < 0.3) {
        store.del(key);
        model.delete(key);
      } else {
        const value = { step, key, nested: { list: [step] } };
        store.put(key, value);
        model.set(key, value);
      }
      if (step % 500 === 0 || step > 5_980) {
        const sorted = [...model.keys()].sort(byBytes);
        expect(store.size).toBe(sorted.length);
        expect(store.rangeKeys({})).toEqual(sorted);
        for (let q = 0; q < 20; q++) {
          const bounds = [keyOf(next), keyOf(next)].sort(byBytes);
          const o: RangeOptions = {
            ...(next() < 0.5 ? { gte: bounds[0] } : next() < 0.5 ? { gt: bounds[0] } : {}),
            ...(next() < 0.5 ? { lte: bounds[1] } : next() < 0.5 ? { lt: bounds[1] } : {}),
            ...(next() < 0.5 ? { reverse: true } : {}),
            ...(next() < 0.5 ? { limit: Math.floor(next() * 5) } : next() < 0.3 ? { limit: -1 } : {}),
          };
          expect(store.rangeKeys(o)).toEqual(expectedRange(sorted, o));
        }
      }
    }
    // Chunks were split (more than 512 keys), so the walk across chunks was exercised.
    expect(store.size).toBeGreaterThan(1_000);
    const some = store.rangeKeys({ limit: 3 });
    expect(store.rangeValues({ limit: 3 })).toEqual(some.map((k) => model.get(k)));
  });

  it('answers in code-point order while it holds only keys below U+D800, bounds from every band included, and after the first key above', () => {
    const next = random(11);
    const low = ALPHABET.filter((c) => !/[\ud800-\uffff]/.test(c));
    const lowKey = () => Array.from({ length: 1 + Math.floor(next() * 6) }, () => low[Math.floor(next() * low.length)]).join('');
    const store = new SortedStore();
    const model = new Set<string>();
    const check = () => {
      const sorted = [...model].sort(byBytes);
      expect(store.rangeKeys({})).toEqual(sorted);
      for (let q = 0; q < 200; q++) {
        // Bounds from the whole alphabet: U+E000-U+FFFF and surrogate pairs against held keys.
        const bounds = [keyOf(next), keyOf(next)].sort(byBytes);
        const o: RangeOptions = { ...(next() < 0.5 ? { gte: bounds[0] } : { gt: bounds[0] }), ...(next() < 0.5 ? { lte: bounds[1] } : { lt: bounds[1] }), ...(next() < 0.5 ? { reverse: true } : {}) };
        expect(store.rangeKeys(o)).toEqual(expectedRange(sorted, o));
      }
    };
    for (let i = 0; i < 2_000; i++) {
      const key = lowKey();
      store.put(key, i);
      model.add(key);
      // Deleting a key that is not held, from any band, changes nothing.
      store.del(keyOf(next) + '\uffff');
    }
    check();
    for (let i = 0; i < 2_000; i++) {
      const key = keyOf(next);
      store.put(key, i);
      model.add(key);
    }
    expect([...model].some((k) => /[\ud800-\uffff]/.test(k))).toBe(true);
    check();
  });

  it('returns a fresh copy on every read, as a LevelDB read does', () => {
    const store = new SortedStore();
    const value = { a: [1], b: { c: 'd' } };
    store.put('k', value);
    value.a.push(2);
    const first = store.get('k') as typeof value;
    expect(first).toEqual({ a: [1], b: { c: 'd' } });
    first.b.c = 'changed';
    expect(store.get('k')).toEqual({ a: [1], b: { c: 'd' } });
    expect(store.get('missing')).toBeUndefined();
    expect((store.rangeValues({}) as Array<typeof value>)[0]).not.toBe(store.rangeValues({})[0]);
    // Read often, changed, read again: the new value.
    for (let i = 0; i < 3; i++) (store.get('k') as typeof value).a.push(i);
    store.put('k', { a: [9] });
    expect(store.get('k')).toEqual({ a: [9] });
    store.del('k');
    expect(store.get('k')).toBeUndefined();
    // Many keys, read twice: each reads back its own value.
    for (let i = 0; i < 3_000; i++) store.put(`m${i}`, { i });
    for (let round = 0; round < 2; round++) for (let i = 0; i < 3_000; i += 7) expect(store.get(`m${i}`)).toEqual({ i });
  });

  it('lists what changed since it was marked clean: writes with their text, deletes as undefined', () => {
    const store = new SortedStore();
    store.putText('kept', '{"v":1}');
    store.putText('gone', '{"v":2}');
    store.markClean();
    expect(store.changes()).toEqual([]);
    store.put('new', { v: 3 });
    store.del('gone');
    store.del('never-there');
    store.put('kept', { v: 4 });
    expect(new Map(store.changes())).toEqual(
      new Map([
        ['new', '{"v":3}'],
        ['gone', undefined],
        ['kept', '{"v":4}'],
      ]),
    );
    store.markClean();
    expect(store.changes()).toEqual([]);
    expect(store.rangeKeys({})).toEqual(['kept', 'new']);
  });
});
