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
import { EarlierFiles, lookBackRecords, type EarlierFile } from '../../local/replay/look-back';
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

async function collect(window: readonly EarlierFile[], arns: ReadonlySet<string>) {
  const out: Array<{ records: readonly SourcedRecord[]; modifiedMs: number }> = [];
  for await (const x of lookBackRecords(window, arns)) out.push(x);
  return out;
}

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
    const window = earlier.window(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    expect(window.map((f) => Boolean(f.held))).toEqual([true, true, true]);

    // Held files are not read again: removed from disk, their records still come.
    rmSync(join(dir, names[0]));
    rmSync(join(dir, names[2]));
    const got = await collect(window, new Set([AGENT_ROLE]));
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
    const window = earlier.window(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    expect(window.some((f) => f.held)).toBe(false);
    const before = await Promise.all(names.map((n) => recordsOf(join(dir, n))));
    rmSync(join(dir, names[1]));
    const got = await collect(window, new Set(['arn:aws:iam::111122223333:user/nobody']));
    expect(got.map((g) => g.records)).toEqual([before[0], before[2]]);
  });

  it('holds at most its bound, letting the oldest go first, and gives the window by record time', async () => {
    const file = (name: string, newest: number, bytes: number): ReadFile => ({ path: name, modifiedMs: 0, count: 1, kept: [], otherArns: [], newest, keptBytes: bytes });
    const earlier = new EarlierFiles(100);
    earlier.add(file('a', 1_000, 60));
    earlier.add(file('b', 2_000, 30));
    earlier.add(file('c', 3_000, 30));
    earlier.add(file('d', 4_000, 101)); // larger than the bound: never held
    earlier.add({ path: 'e', modifiedMs: 0, count: 0, kept: [], otherArns: [] }); // no record time: no candidate
    const window = earlier.window(4_000, 3_000);
    expect(window.map((f) => [f.path, Boolean(f.held)])).toEqual([['a', false], ['b', true], ['c', true], ['d', false]]);
    expect(earlier.window(4_000, 1_500).map((f) => f.path)).toEqual(['c', 'd']);
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
