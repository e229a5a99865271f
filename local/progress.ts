/**
 * The replay's progress on stderr: files, records, matched and the rate, once the run has taken
 * `afterMs` (short runs print nothing). Redrawn in place on a terminal, at most every `everyMs`;
 * elsewhere (a log file) a plain line every `lineEveryMs`. Silent in CI and when asked (`--json`
 * with stdout piped: a machine reads it). Pure but for the writer and the clock it is given.
 */
export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly now: () => number;
  /** stderr is a terminal: redraw one line in place. */
  readonly tty: boolean;
  readonly silent: boolean;
  readonly afterMs?: number;
  readonly everyMs?: number;
  readonly lineEveryMs?: number;
}

export interface Progress {
  update(p: { readonly files: number; readonly records: number; readonly matched: number }): void;
  /** End the bar's line (if one was drawn). */
  finish(): void;
}

const n = (x: number) => x.toLocaleString('en-US');

export function progressReporter(o: ProgressOptions): Progress {
  const started = o.now();
  const afterMs = o.afterMs ?? 2_000;
  const every = o.tty ? (o.everyMs ?? 250) : (o.lineEveryMs ?? 2_000);
  let last = -Infinity;
  let drawn = false;
  return {
    update({ files, records, matched }) {
      if (o.silent) return;
      const t = o.now();
      if (t - started < afterMs || t - last < every) return;
      last = t;
      const rate = Math.round(records / Math.max((t - started) / 1000, 0.001));
      const line = `  replaying: ${n(files)} file(s), ${n(records)} records, ${n(matched)} matched, ${n(rate)} records/s`;
      if (o.tty) {
        o.write(`\r${line}\u001b[K`);
        drawn = true;
      } else {
        o.write(`${line}\n`);
      }
    },
    finish() {
      if (drawn) o.write('\n');
      drawn = false;
    },
  };
}
