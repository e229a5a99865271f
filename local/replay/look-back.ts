/**
 * The trail reader's look-back over the files read before (replay.ts): when a principal is
 * watched for the first time, every call it made in the files of the last `lookBackMinutes` is
 * kept, captured or not. Those files were read once already. A file a reading thread read comes
 * back with its kept records and the distinct callers of the rest (`ReadFile`). Of every such
 * file the look-back keeps those callers, as numbers (`EarlierFiles`), and the kept records while
 * they fit (`HELD_BYTES`, the oldest let go first). A look-back for principals none of whose ARNs
 * is among a file's callers needs only its kept records: every other record of the file is a
 * call by someone else, which the pass skips (its matcher requires a caller ARN of the principals
 * it looks for: `watchedMatcher`). So a file is read again only when they called in it, or its
 * kept records were let go, or it was read in this thread. Memory: the kept records within their
 * bound, and per file about 25 B of path and times and 4 B per distinct caller (within
 * `MAX_CALLER_IDS`; past it, files are read again).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { readRecords, type ReadFile, type SourcedRecord } from './read-logs';

/** Kept records held for the look-back, at most (their JSON and `HELD_FILE_BYTES` a file; the oldest files' let go first). */
export const HELD_BYTES = 32 * 1024 * 1024;
/** What holding a file's kept records costs besides their JSON, near enough (the entry, the array). */
export const HELD_FILE_BYTES = 128;

/**
 * Distinct callers' ARNs numbered, at most: a trail's callers repeat from file to file. A file
 * with a caller past this many is one whose callers are not known (it is read again when a
 * window holds it). The ARNs themselves: about 10 MB of 100-character ARNs at most.
 */
export const MAX_CALLERS = 65_536;
/** Callers' numbers kept for all the files together, at most (4 B each); past it, a file's callers are not known. */
export const MAX_CALLER_IDS = 8 * 1024 * 1024;

/** A file read before, a candidate of the look-back. */
export interface EarlierFile {
  readonly path: string;
  /** Its newest record's time (epoch ms). */
  readonly newest: number;
  readonly modifiedMs: number;
  /** The records a pass for the principals of the window needs, where they are held (none, when the file kept none); else it is read again. */
  readonly records?: readonly SourcedRecord[];
}

/** The kept records of a file that keeps none. */
const NONE_KEPT: readonly SourcedRecord[] = Object.freeze([]);

/** Files a packed block holds (`EarlierFiles`). */
export const BLOCK_FILES = 512;

/** Files packed: their paths and times as JSON, deflated, and the newest time among them (a window passes over a block older than it). */
interface Block {
  readonly newest: number;
  readonly packed: Buffer;
}

type Entry = readonly [newest: number, modifiedMs: number, path: string];

/** Unsigned 32-bit numbers in one growing typed array. */
class Numbers {
  private data = new Uint32Array(1_024);
  length = 0;
  push(n: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = n;
  }
  at(i: number): number {
    return this.data[i];
  }
}

/** A file's callers not known: read it again. */
const UNKNOWN = 0xffffffff;

/**
 * The files read so far, in the order they were read. Every file with a record time is a
 * candidate of some later look-back (an organization trail's name order goes back in time at each
 * account and region), so none can be let go; instead their paths and times are packed
 * `BLOCK_FILES` at a time: an organization trail's paths, sorted, repeat most of the one before,
 * and a block deflates to about 25 B a file where the paths and their objects held about 260
 * (its 123-character paths; docs/performance.md). A window unpacks only the blocks that hold a
 * file within it. Each file's callers are numbers into one array, and its kept records are held
 * within `HELD_BYTES`.
 */
export class EarlierFiles {
  private readonly blocks: Block[] = [];
  private open: Entry[] = [];
  private count = 0;
  /** By a file's place in the reading order: where its callers' numbers start in `ids`, and how many (UNKNOWN: not known). */
  private readonly starts = new Numbers();
  private readonly counts = new Numbers();
  /** 1 where the file kept records (they are in `held`, or were let go). */
  private readonly keptSome = new Numbers();
  private readonly ids = new Numbers();
  private readonly callers = new Map<string, number>();
  /** The kept records held, by the file's place; the oldest first. */
  private readonly held = new Map<number, { readonly kept: readonly SourcedRecord[]; readonly bytes: number }>();
  private heldBytes = 0;

  constructor(
    private readonly maxHeldBytes = HELD_BYTES,
    private readonly maxCallers = MAX_CALLERS,
    private readonly maxCallerIds = MAX_CALLER_IDS,
  ) {}

  /** A file just worked on: its callers and kept records are known when a reading thread read it. */
  add(file: ReadFile): void {
    if (file.newest === undefined) return;
    const index = this.count++;
    const known = !file.records && file.keptBytes !== undefined && this.number(file.otherArns);
    this.starts.push(known ? known.start : 0);
    this.counts.push(known ? file.otherArns.length : UNKNOWN);
    this.keptSome.push(file.kept.length > 0 ? 1 : 0);
    if (known && file.kept.length > 0) {
      const bytes = file.keptBytes! + HELD_FILE_BYTES;
      if (bytes <= this.maxHeldBytes) {
        this.held.set(index, { kept: file.kept, bytes });
        this.heldBytes += bytes;
        // A Map iterates in insertion order: the oldest held first.
        for (const [i, oldest] of this.held) {
          if (this.heldBytes <= this.maxHeldBytes) break;
          this.heldBytes -= oldest.bytes;
          this.held.delete(i);
        }
      }
    }
    this.open.push([file.newest, file.modifiedMs, file.path]);
    if (this.open.length === BLOCK_FILES) {
      // A copy of its length: deflate's own buffer is a 16 KiB chunk.
      this.blocks.push({ newest: Math.max(...this.open.map((e) => e[0])), packed: Buffer.from(deflateRawSync(JSON.stringify(this.open))) });
      this.open = [];
    }
  }

  /** The callers' numbers appended, or false where one of them cannot be numbered or there is no room (nothing appended then). */
  private number(arns: readonly string[]): { start: number } | false {
    if (this.ids.length + arns.length > this.maxCallerIds) return false;
    const numbers: number[] = [];
    for (const arn of arns) {
      let n = this.callers.get(arn);
      if (n === undefined) {
        if (this.callers.size >= this.maxCallers) return false;
        n = this.callers.size;
        this.callers.set(arn, n);
      }
      numbers.push(n);
    }
    const start = this.ids.length;
    for (const n of numbers) this.ids.push(n);
    return { start };
  }

  /** What a pass for `arns` needs of the file at `index`, where it is held; undefined: read it again. */
  private recordsFor(index: number, wanted: ReadonlySet<number>): readonly SourcedRecord[] | undefined {
    const count = this.counts.at(index);
    if (count === UNKNOWN) return undefined;
    const start = this.starts.at(index);
    for (let i = start; i < start + count; i++) if (wanted.has(this.ids.at(i))) return undefined;
    if (this.keptSome.at(index) === 0) return NONE_KEPT;
    return this.held.get(index)?.kept;
  }

  /**
   * The files whose newest record is at most `lookBackMs` before `newest`, in the order they were
   * read, with what a pass for the calls of `arns` needs of each where it is held.
   */
  window(newest: number, lookBackMs: number, arns: ReadonlySet<string>): EarlierFile[] {
    const from = newest - lookBackMs;
    // An ARN never numbered is no known file's caller.
    const wanted = new Set<number>();
    for (const arn of arns) {
      const n = this.callers.get(arn);
      if (n !== undefined) wanted.add(n);
    }
    const out: EarlierFile[] = [];
    const take = (entries: readonly Entry[], first: number) =>
      entries.forEach(([time, modifiedMs, path], i) => {
        if (time < from) return;
        const records = this.recordsFor(first + i, wanted);
        out.push({ path, newest: time, modifiedMs, ...(records ? { records } : {}) });
      });
    this.blocks.forEach((block, b) => {
      if (block.newest >= from) take(JSON.parse(inflateRawSync(block.packed).toString('utf8')) as Entry[], b * BLOCK_FILES);
    });
    take(this.open, this.blocks.length * BLOCK_FILES);
    return out;
  }

  /** Bytes the packed paths and times take (the benchmark's figure). */
  packedBytes(): number {
    return this.blocks.reduce((sum, b) => sum + b.packed.length, 0);
  }
}

/**
 * The records of each file of `window` that its pass needs, in order: what is held of it
 * (`EarlierFile.records`), else the file read again (read ahead, as `readRecords` reads; a file
 * that cannot be read now is passed over: its problem was reported when it was first read).
 * A file that kept nothing and was not called in by the principals looked for gives nothing.
 */
export async function* lookBackRecords(window: readonly EarlierFile[], maxFileBytes?: number): AsyncGenerator<{ records: readonly SourcedRecord[]; modifiedMs: number }, void, void> {
  const again = window.filter((f) => !f.records).map((f) => f.path);
  const reading = again.length > 0 ? readRecords(again, [], { maxFileBytes }) : undefined;
  let next: { path: string; records: readonly SourcedRecord[]; modifiedMs: number } | undefined;
  let done = false;
  for (const file of window) {
    if (file.records) {
      if (file.records.length > 0) yield { records: file.records, modifiedMs: file.modifiedMs };
      continue;
    }
    if (!next && !done && reading) {
      const step = await reading.next();
      if (step.done) done = true;
      else next = step.value;
    }
    // Not the one read next: this file could not be read again.
    if (next?.path !== file.path) continue;
    yield { records: next.records, modifiedMs: next.modifiedMs };
    next = undefined;
  }
  await reading?.return();
}
