/**
 * The trail reader's look-back over files read before (local/replay/look-back.ts): a file a
 * reading thread read is held as its kept records and the callers of the rest; a look-back for
 * principals that called in none of the records set aside takes the held records without reading
 * the file again, any other file is read again, in order, and what is held stays within its bound.
 * Then the replay itself: an agent's uncaptured call in an earlier file is found by the look-back
 * with and without reading threads.
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { BUNDLED_SAMPLES } from '../../bin/cli';
import { compileRules } from '../../local/replay/event-bus';
import { BLOCK_FILES, EarlierFiles, HELD_BYTES, HELD_FILE_BYTES, lookBackRecords, MAX_CALLERS, type EarlierFile } from '../../local/replay/look-back';
import { partitionRecords, readRecords, type ReadFile, type SourcedRecord } from '../../local/replay/read-logs';
import { replay } from '../../local/replay/replay';
import { callerArns } from '../../lambdas/shared/agent-capture';
import { comparableReport as comparable, useTempDirs } from '../support';

const ROOT = join(__dirname, '..', '..');
const DOCUMENTED = join(BUNDLED_SAMPLES, 'documented');
const AGENT_ROLE = 'arn:aws:iam::111122223333:role/service-role/support-tools-role';
const temp = useTempDirs();
const rules = compileRules();

/** Every record of a file, as the main thread reads it. */
async function recordsOf(path: string): Promise<SourcedRecord[]> {
  const out: SourcedRecord[] = [];
  for await (const file of readRecords([path], [])) out.push(...file.records);
  return out;
}

/** A file as a reading thread hands it back: kept records and the callers of the rest, no records of its own. */
async function asReadByWorker(path: string): Promise<ReadFile> {
  const records = await recordsOf(path);
  const { kept, ...rest } = partitionRecords(records, rules);
  return { path, modifiedMs: 1, kept, ...rest, keptBytes: JSON.stringify(kept).length };
}

async function collect(window: readonly EarlierFile[]) {
  const out: Array<{ records: readonly SourcedRecord[]; modifiedMs: number }> = [];
  for await (const x of lookBackRecords(window)) out.push(x);
  return out;
}

const ALL = [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] as const;
const timed = (path: string, newest: number, extra: Partial<ReadFile> = {}): ReadFile => ({ path, modifiedMs: 0, count: 1, kept: [], otherArns: [], newest, keptBytes: 2, ...extra });

describe('lookBackRecords', () => {
  it('takes the held records where no record set aside is by the principals looked for, and reads the others again, in order', async () => {
    const dir = temp.dir('ai-visibility-look-back-');
    const names = ['lineage-bedrock.json', 'agents-1-setup.json', 'records-built-from-api-docs.json'];
    for (const n of names) copyFileSync(join(DOCUMENTED, n), join(dir, n));
    const files = await Promise.all(names.map((n) => asReadByWorker(join(dir, n))));
    // The agent's role called in the second file, in records the capture rules set aside; not in the others.
    expect(files.map((f) => f.otherArns.includes(AGENT_ROLE))).toEqual([false, true, false]);
    expect(files.every((f) => f.kept.length > 0)).toBe(true);
    const earlier = new EarlierFiles();
    for (const f of files) earlier.add(f);
    const window = earlier.window(...ALL, new Set([AGENT_ROLE]));
    expect(window.map((f) => Boolean(f.records))).toEqual([true, false, true]);
    // For someone who called in none of them, all three are held.
    expect(earlier.window(...ALL, new Set(['arn:aws:iam::111122223333:user/nobody'])).map((f) => f.records)).toEqual(files.map((f) => f.kept));

    // Held files are not read again: removed from disk, their records still come.
    rmSync(join(dir, names[0]));
    rmSync(join(dir, names[2]));
    const got = await collect(window);
    expect(got).toHaveLength(3);
    expect(got[0].records).toBe(files[0].kept);
    expect(got[2].records).toBe(files[2].kept);
    // The second is read again whole: its set-aside records include the agent's calls.
    expect(got[1].records).toEqual(await recordsOf(join(dir, names[1])));
    expect(got[1].records.some((r) => callerArns(r.value).includes(AGENT_ROLE) && !files[1].kept.includes(r))).toBe(true);
  });

  it('reads again what is not held, passes over what cannot be read now, and keeps the order', async () => {
    const dir = temp.dir('ai-visibility-look-back-');
    const names = ['agents-1-setup.json', 'agents-2-activity.json', 'records-built-from-api-docs.json'];
    for (const n of names) copyFileSync(join(DOCUMENTED, n), join(dir, n));
    const earlier = new EarlierFiles();
    // Read in the main thread: records of its own, nothing held.
    for (const n of names) {
      const path = join(dir, n);
      const records = await recordsOf(path);
      earlier.add({ path, modifiedMs: 1, records, ...partitionRecords(records, rules) });
    }
    const window = earlier.window(...ALL, new Set(['arn:aws:iam::111122223333:user/nobody']));
    expect(window.some((f) => f.records)).toBe(false);
    const before = await Promise.all(names.map((n) => recordsOf(join(dir, n))));
    rmSync(join(dir, names[1]));
    const got = await collect(window);
    expect(got.map((g) => g.records)).toEqual([before[0], before[2]]);
  });

  it('holds kept records within its bound, letting the oldest go first, and gives the window by record time', async () => {
    const record = (source: string): SourcedRecord => ({ source, value: {} });
    // Room for b and c, not for a and b.
    const earlier = new EarlierFiles(2 * (30 + HELD_FILE_BYTES) + 10);
    earlier.add(timed('a', 1_000, { kept: [record('a')], keptBytes: 60 }));
    earlier.add(timed('b', 2_000, { kept: [record('b')], keptBytes: 30 }));
    earlier.add(timed('c', 3_000, { kept: [record('c')], keptBytes: 30 }));
    earlier.add(timed('d', 4_000, { kept: [record('d')], keptBytes: 400 })); // larger than the bound: never held
    earlier.add(timed('e', 4_500)); // kept nothing: nothing to hold, nothing to read again
    earlier.add({ path: 'f', modifiedMs: 0, count: 0, kept: [], otherArns: [] }); // no record time: no candidate
    const window = earlier.window(4_000, 3_000, new Set());
    expect(window.map((f) => [f.path, f.records?.map((r) => r.source) ?? 'read again'])).toEqual([['a', 'read again'], ['b', ['b']], ['c', ['c']], ['d', 'read again'], ['e', []]]);
    expect(earlier.window(4_000, 1_500, new Set()).map((f) => f.path)).toEqual(['c', 'd', 'e']);
    // A file that kept nothing gives nothing to the pass, and is not read.
    expect(await collect(earlier.window(4_500, 0, new Set()))).toEqual([]);
  });

  it("knows every file's callers, not only the held ones': a file that kept nothing is read again only when the principal called in it", () => {
    const arns = Array.from({ length: 5 }, (_, i) => `arn:aws:iam::111122223333:role/caller-${i}`);
    const earlier = new EarlierFiles(0); // nothing held
    for (let i = 0; i < 1_000; i++) earlier.add(timed(`f${i}`, i, { otherArns: i % 100 === 7 ? [...arns, 'arn:aws:iam::111122223333:role/agent'] : arns }));
    const forAgent = earlier.window(...ALL, new Set(['arn:aws:iam::111122223333:role/agent']));
    expect(forAgent).toHaveLength(1_000);
    expect(forAgent.filter((f) => !f.records).map((f) => f.path)).toEqual(Array.from({ length: 10 }, (_, i) => `f${i * 100 + 7}`));
    expect(earlier.window(...ALL, new Set([arns[3]])).filter((f) => !f.records)).toHaveLength(1_000);
    expect(earlier.window(...ALL, new Set(['arn:aws:iam::111122223333:role/never-seen'])).filter((f) => !f.records)).toHaveLength(0);
  });

  it('reads a file again when its callers could not be numbered: past the callers or the numbers it keeps', () => {
    const fewCallers = new EarlierFiles(HELD_BYTES, 3);
    fewCallers.add(timed('a', 1, { otherArns: ['x', 'y'] }));
    fewCallers.add(timed('b', 2, { otherArns: ['y', 'z', 'w'] })); // w is a fourth caller
    fewCallers.add(timed('c', 3, { otherArns: ['x'] }));
    expect(fewCallers.window(...ALL, new Set(['q'])).map((f) => Boolean(f.records))).toEqual([true, false, true]);
    const fewNumbers = new EarlierFiles(HELD_BYTES, MAX_CALLERS, 4);
    fewNumbers.add(timed('a', 1, { otherArns: ['x', 'y', 'z'] }));
    fewNumbers.add(timed('b', 2, { otherArns: ['x', 'y'] })); // 5 numbers in all: not kept
    fewNumbers.add(timed('c', 3, { otherArns: ['z'] }));
    expect(fewNumbers.window(...ALL, new Set(['q'])).map((f) => Boolean(f.records))).toEqual([true, false, true]);
  });
});

describe('EarlierFiles', () => {
  it('packs files a block at a time and gives every window as the files it was given, held ones marked, odd paths and fractional times intact', () => {
    // Times that go back and forth, as an organization trail's name order does at each account
    // and region; odd paths; modification times with fractions; callers that differ.
    const files: ReadFile[] = [];
    for (let i = 0; i < BLOCK_FILES * 2 + 300; i++) {
      const newest = 1_764_000_000_000 + ((i * 7_919) % 1_000) * 60_000;
      files.push({
        path: `dir/${i % 3 === 0 ? 'line\nbreak "quoted" \u00e9 \ud83d\ude00 ' : ''}${i}.json`,
        modifiedMs: 1_764_000_000_000.123 + i / 7,
        count: 2,
        kept: [{ source: `s${i}`, value: i }],
        otherArns: [`arn:aws:iam::111122223333:role/r${i % 11}`],
        newest,
        keptBytes: 10,
      });
    }
    files.splice(5, 0, { path: 'no-time.json', modifiedMs: 0, count: 0, kept: [], otherArns: [] });
    const earlier = new EarlierFiles(100 * (10 + HELD_FILE_BYTES)); // the last 100 held
    for (const f of files) earlier.add(f);
    const withTimes = files.filter((f) => f.newest !== undefined);
    const wanted = 'arn:aws:iam::111122223333:role/r4';
    for (const [newest, lookBack] of [[1_764_000_000_000 + 500 * 60_000, 100 * 60_000], [1_764_000_000_000, 0], ALL, [1_764_000_000_000 + 999 * 60_000, 0]]) {
      const window = earlier.window(newest, lookBack, new Set([wanted]));
      const expected = withTimes.filter((f) => f.newest! >= newest - lookBack);
      expect(window.map((f) => [f.path, f.newest, f.modifiedMs])).toEqual(expected.map((f) => [f.path, f.newest, f.modifiedMs]));
      const held = (f: ReadFile) => withTimes.indexOf(f) >= withTimes.length - 100 && !f.otherArns.includes(wanted);
      expect(window.map((f) => f.records ?? null)).toEqual(expected.map((f) => (held(f) ? f.kept : null)));
    }
    expect(earlier.packedBytes()).toBeGreaterThan(0);
  });
});

describe('the look-back in the replay', () => {
  let worker: string;
  beforeAll(() => {
    worker = join(temp.dir('ai-visibility-read-worker-'), 'read-worker.js');
    buildSync({ entryPoints: [join(ROOT, 'local', 'replay', 'read-worker.ts')], outfile: worker, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', logLevel: 'error' });
  });

  it("finds an agent's uncaptured call in a file read before it was known, with and without a reading thread", async () => {
    // A first file, before the agent is identified: one call of its role that no capture rule
    // takes (set aside by the worker), then the fixture that identifies it, 25 minutes later.
    const dir = temp.dir('ai-visibility-look-back-replay-');
    const activity = JSON.parse(readFileSync(join(DOCUMENTED, 'agents-2-activity.json'), 'utf8')) as { Records: Array<Record<string, unknown>> };
    const secret = activity.Records.find((r) => r.eventName === 'GetSecretValue')!;
    writeFileSync(join(dir, 'a0.json'), JSON.stringify({ Records: [{ ...secret, eventTime: '2025-06-06T08:45:00Z', eventID: 'look-back-before-known' }] }));
    copyFileSync(join(DOCUMENTED, 'agents-1-setup.json'), join(dir, 'b1.json'));
    const here = await replay([dir], { readThreads: 0 });
    const threaded = await replay([dir], { readThreads: 1, readWorker: worker });
    expect(comparable(threaded as never)).toEqual(comparable(here as never));
    expect(JSON.stringify(threaded)).toContain('look-back-before-known');
    // Outside the look-back (an hour before), it is not found.
    writeFileSync(join(dir, 'a0.json'), JSON.stringify({ Records: [{ ...secret, eventTime: '2025-06-06T08:00:00Z', eventID: 'look-back-before-known' }] }));
    expect(JSON.stringify(await replay([dir], { readThreads: 1, readWorker: worker }))).not.toContain('look-back-before-known');
  }, 120_000);
});
