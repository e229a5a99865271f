/**
 * An ordered key-value store in memory, in LevelDB's order: the storage under the in-process
 * dynalite (in-process-dynamodb.ts). dynalite keeps every table, item and index entry in one
 * LevelDB whose keys it builds to sort as DynamoDB returns them (db/index.js createKey,
 * createIndexKey); LevelDB compares keys as bytes, so UTF-8 strings sort by code point. This
 * store keeps the same keys in the same order, with values held as the JSON text dynalite's
 * `valueEncoding: 'json'` writes: every read returns a fresh copy, as a LevelDB read does.
 *
 * What it replaces costs most of dynalite's time: each LevelDB call is a promise, a trip to the
 * thread pool (on disk) and a setImmediate before its callback (docs/performance.md measures it).
 * Pure: no I/O; the owner loads and saves it.
 */

/** Compare two strings by code point: UTF-8 byte order, LevelDB's order for utf8 keys. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 puts surrogates (code points above U+FFFF) below U+E000-U+FFFF; code points do not.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** A key range as LevelDB's iterators take it. `limit` -1 or absent: no limit. */
export interface RangeOptions {
  readonly gt?: string;
  readonly gte?: string;
  readonly lt?: string;
  readonly lte?: string;
  readonly reverse?: boolean;
  readonly limit?: number;
}

const CHUNK = 512;

/** JavaScript's own string order: UTF-16 code units. */
const byCodeUnits = (a: string, b: string): number => (a === b ? 0 : a < b ? -1 : 1);
/** A code unit where UTF-16 order and code-point order can part: a surrogate, or U+E000-U+FFFF. */
const HIGH = /[\ud800-\uffff]/;

/**
 * Sorted keys in chunks of at most CHUNK: insertion and removal cost the square root of a flat array's.
 * Compared by code units (the engine's own comparison) while no key held has a code unit from
 * U+D800 up: at the first unit where a held key and any other string differ, the held key's unit
 * is then below U+D800, and both orders put it first. The first such key held switches the store
 * to `compareKeys` for good.
 */
class SortedKeys {
  private chunks: string[][] = [];
  private compare: (a: string, b: string) => number = byCodeUnits;

  get size(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /** The chunk that holds `key` or would: the first whose last key is not below it (the last chunk if none). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid];
      if (this.compare(chunk[chunk.length - 1], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index of the first key of `chunk` not below `key` (strictly above with `after`). */
  private lowerBound(chunk: readonly string[], key: string, after = false): number {
    const compare = this.compare;
    let lo = 0;
    let hi = chunk.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compare(chunk[mid], key);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Add a key not held yet. */
  insert(key: string): void {
    if (this.compare === byCodeUnits && HIGH.test(key)) this.compare = compareKeys;
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      return;
    }
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci];
    chunk.splice(this.lowerBound(chunk, key), 0, key);
    if (chunk.length > CHUNK) this.chunks.splice(ci, 1, chunk.slice(0, chunk.length >> 1), chunk.slice(chunk.length >> 1));
  }

  /** Remove a key held. */
  remove(key: string): void {
    if (this.chunks.length === 0) return;
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci];
    const i = this.lowerBound(chunk, key);
    if (chunk[i] !== key) return;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.chunks.splice(ci, 1);
  }

  /** The keys in a range, in order (or reversed), at most `limit`. */
  range(o: RangeOptions): string[] {
    const out: string[] = [];
    const limit = o.limit === undefined || o.limit < 0 ? Infinity : o.limit;
    if (limit === 0 || this.chunks.length === 0) return out;
    const low = o.gte ?? o.gt;
    const high = o.lte ?? o.lt;
    const compare = this.compare;
    const aboveLow = (k: string) => low === undefined || (o.gte !== undefined ? compare(k, low) >= 0 : compare(k, low) > 0);
    const belowHigh = (k: string) => high === undefined || (o.lte !== undefined ? compare(k, high) <= 0 : compare(k, high) < 0);
    if (!o.reverse) {
      let ci = low === undefined ? 0 : this.chunkFor(low);
      let i = low === undefined ? 0 : this.lowerBound(this.chunks[ci], low, o.gte === undefined);
      for (; ci < this.chunks.length; ci++, i = 0) {
        const chunk = this.chunks[ci];
        for (; i < chunk.length; i++) {
          const k = chunk[i];
          if (!belowHigh(k)) return out;
          out.push(k);
          if (out.length >= limit) return out;
        }
      }
      return out;
    }
    let ci = high === undefined ? this.chunks.length - 1 : this.chunkFor(high);
    // The last key not above the high bound: the lower bound's index, less one.
    let i = high === undefined ? this.chunks[ci].length - 1 : this.lowerBound(this.chunks[ci], high, o.lte !== undefined) - 1;
    for (; ci >= 0; ci--, i = ci >= 0 ? this.chunks[ci].length - 1 : 0) {
      const chunk = this.chunks[ci];
      for (; i >= 0; i--) {
        const k = chunk[i];
        if (!aboveLow(k)) return out;
        out.push(k);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }
}

/** Keys and their values' JSON text, in key order; tracks the keys changed since `markClean`. */
export class SortedStore {
  private readonly values = new Map<string, string>();
  private readonly keys = new SortedKeys();
  private readonly dirty = new Set<string>();

  get size(): number {
    return this.values.size;
  }

  /** The value's JSON text, or undefined. */
  getText(key: string): string | undefined {
    return this.values.get(key);
  }

  get(key: string): unknown {
    const text = this.values.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** Store a value (as its JSON text, what LevelDB's json encoding writes). */
  put(key: string, value: unknown): void {
    this.putText(key, JSON.stringify(value));
  }

  putText(key: string, text: string): void {
    if (!this.values.has(key)) this.keys.insert(key);
    this.values.set(key, text);
    this.dirty.add(key);
  }

  del(key: string): void {
    if (!this.values.delete(key)) return;
    this.keys.remove(key);
    this.dirty.add(key);
  }

  /** The keys in a range, in order: a snapshot, as a LevelDB iterator reads one. */
  rangeKeys(o: RangeOptions): string[] {
    return this.keys.range(o);
  }

  /** The values in a range, each a fresh copy, in key order. */
  rangeValues(o: RangeOptions): unknown[] {
    return this.rangeTexts(o).map((text) => JSON.parse(text));
  }

  /** The values' JSON texts in a range, in key order: a snapshot, to parse when needed. */
  rangeTexts(o: RangeOptions): string[] {
    return this.keys.range(o).map((k) => this.values.get(k)!);
  }

  /** The keys written or deleted since the last `markClean`, with their text now (undefined: deleted). */
  changes(): Array<[string, string | undefined]> {
    return [...this.dirty].map((k) => [k, this.values.get(k)]);
  }

  markClean(): void {
    this.dirty.clear();
  }
}
