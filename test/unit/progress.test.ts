/**
 * The replay's progress line (local/progress.ts) on a virtual clock: nothing for a short run,
 * a bar redrawn in place on a terminal, plain lines in a log, nothing in CI or for piped --json.
 */
import { progressReporter } from '../../local/progress';

function run(options: { tty: boolean; silent?: boolean }, ticks: number[]) {
  let t = 0;
  const out: string[] = [];
  const p = progressReporter({ write: (s) => void out.push(s), now: () => t, tty: options.tty, silent: options.silent ?? false });
  for (const at of ticks) {
    t = at;
    p.update({ files: Math.floor(at / 1000), records: at * 10, matched: at / 100 });
  }
  p.finish();
  return out;
}

describe('replay progress', () => {
  it('says nothing for a run shorter than two seconds', () => {
    expect(run({ tty: true }, [100, 500, 1_900])).toEqual([]);
  });

  it('redraws one line in place on a terminal, at most every 250 ms, and ends it', () => {
    const out = run({ tty: true }, [2_000, 2_100, 2_300, 4_000]);
    expect(out).toEqual([
      '\r  replaying: 2 file(s), 20,000 records, 20 matched, 10,000 records/s\u001b[K',
      '\r  replaying: 2 file(s), 23,000 records, 23 matched, 10,000 records/s\u001b[K',
      '\r  replaying: 4 file(s), 40,000 records, 40 matched, 10,000 records/s\u001b[K',
      '\n',
    ]);
  });

  it('writes a plain line every two seconds elsewhere (a log file)', () => {
    expect(run({ tty: false }, [2_000, 3_000, 4_000, 5_000])).toEqual([
      '  replaying: 2 file(s), 20,000 records, 20 matched, 10,000 records/s\n',
      '  replaying: 4 file(s), 40,000 records, 40 matched, 10,000 records/s\n',
    ]);
  });

  it('is silent in CI and for --json piped', () => {
    expect(run({ tty: true, silent: true }, [2_000, 5_000, 9_000])).toEqual([]);
  });
});
