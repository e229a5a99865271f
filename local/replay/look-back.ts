/**
 * The trail reader's look-back over the files read before (replay.ts): when a principal is
 * watched for the first time, every call it made in the files of the last `lookBackMinutes` is
 * kept, captured or not. Those files were read once already. A file a reading thread read comes
 * back with its kept records and the distinct callers of the rest (`ReadFile`); while they are
 * held, a look-back for principals none of whose ARNs is among those callers needs only the kept
 * records: every other record of the file is a call by someone else, which the pass skips (its
 * matcher requires a caller ARN of the principals it looks for: `watchedMatcher`). Only the
 * other files are read again. What is held is bounded (`HELD_BYTES` of kept records' JSON, the
 * oldest let go first), so memory stays bounded whatever the input's size.
 */
import { readRecords, type ReadFile, type SourcedRecord } from './read-logs';

/** Kept records' JSON text held for the look-back, at most (the oldest files' let go first). */
export const HELD_BYTES = 32 * 1024 * 1024;

/** A file read before, a candidate of the look-back. */
export interface EarlierFile {
  readonly path: string;
  /** Its newest record's time (epoch ms). */
  readonly newest: number;
  readonly modifiedMs: number;
  /** Its kept records and the callers of the rest, while held. */
  held?: { readonly kept: readonly SourcedRecord[]; readonly otherArns: readonly string[]; readonly bytes: number };
}

/** The files read so far, in the order they were read, with what is held of them. */
export class EarlierFiles {
  private readonly files: EarlierFile[] = [];
  /** Indexes of the files held, oldest first. */
  private readonly heldOrder: number[] = [];
  private heldBytes = 0;

  constructor(private readonly maxHeldBytes = HELD_BYTES) {}

  /** A file just worked on; held when a reading thread read it (its kept records' size is known) and it fits. */
  add(file: ReadFile): void {
    if (file.newest === undefined) return;
    const entry: EarlierFile = { path: file.path, newest: file.newest, modifiedMs: file.modifiedMs };
    const bytes = file.keptBytes;
    if (!file.records && bytes !== undefined && bytes <= this.maxHeldBytes) {
      entry.held = { kept: file.kept, otherArns: file.otherArns, bytes };
      this.heldOrder.push(this.files.length);
      this.heldBytes += bytes;
      while (this.heldBytes > this.maxHeldBytes) {
        const oldest = this.files[this.heldOrder.shift()!];
        this.heldBytes -= oldest.held!.bytes;
        delete oldest.held;
      }
    }
    this.files.push(entry);
  }

  /** The files whose newest record is at most `lookBackMs` before `newest`, in the order they were read. */
  window(newest: number, lookBackMs: number): EarlierFile[] {
    return this.files.filter((f) => f.newest >= newest - lookBackMs);
  }
}

/**
 * The records of each file of `window` that a pass looking for the calls of `arns` can need, in
 * order: the held kept records where no record set aside is by one of `arns`, else the file read
 * again (read ahead, as `readRecords` reads; a file that cannot be read now is passed over: its
 * problem was reported when it was first read).
 */
export async function* lookBackRecords(window: readonly EarlierFile[], arns: ReadonlySet<string>, maxFileBytes?: number): AsyncGenerator<{ records: readonly SourcedRecord[]; modifiedMs: number }, void, void> {
  const heldFor = (f: EarlierFile) => (f.held && !f.held.otherArns.some((arn) => arns.has(arn)) ? f.held.kept : undefined);
  const again = window.filter((f) => !heldFor(f)).map((f) => f.path);
  const reading = again.length > 0 ? readRecords(again, [], { maxFileBytes }) : undefined;
  let next: { path: string; records: readonly SourcedRecord[]; modifiedMs: number } | undefined;
  let done = false;
  for (const file of window) {
    const held = heldFor(file);
    if (held) {
      yield { records: held, modifiedMs: file.modifiedMs };
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
