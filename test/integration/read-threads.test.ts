/**
 * Reading in worker threads (local/replay/read-pool.ts, read-worker.ts): the files come back in
 * name order, with the records the capture rules take, the callers of the rest and the problems
 * where they stood, exactly as read in the replay's own thread; the replay's report is the same
 * with and without threads, on every bundled fixture and on files where a watched principal's
 * uncaptured calls must be read again; a failing worker costs a warning, never a record.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';
import { BUNDLED_SAMPLES } from '../../bin/cli';
import { compileRules } from '../../local/replay/event-bus';
import { partitionRecords, readRecords, type ReadFile, type ReadProblem } from '../../local/replay/read-logs';
import { allRecords, readPartitioned, THREAD_AHEAD } from '../../local/replay/read-pool';
import { messageOf, replay, type ReplayOptions } from '../../local/replay/replay';
import { callerArns } from '../../lambdas/shared/agent-capture';
import { cliRunner, comparableReport as comparable, useTempDirs } from '../support';

const ROOT = join(__dirname, '..', '..');
const temp = useTempDirs();
const rules = compileRules();
let worker: string;

beforeAll(() => {
  // The worker as scripts/build-cli.mjs builds it next to the compiled CLI.
  const dir = temp.dir('ai-visibility-read-worker-');
  worker = join(dir, 'read-worker.js');
  buildSync({ entryPoints: [join(ROOT, 'local', 'replay', 'read-worker.ts')], outfile: worker, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', logLevel: 'error' });
});

const fixtureFiles = ['ai', 'documented', 'non-ai'].flatMap((dir) => readdirSync(join(BUNDLED_SAMPLES, dir)).filter((f) => /\.(json|ndjson|gz)$/.test(f)).map((f) => join(BUNDLED_SAMPLES, dir, f)));

/** What a file yields, whatever thread read it (a worker's files carry no `records`); a record too deep to compare, by its source. */
const deep = (file: ReadFile) => file.path.endsWith('-deep.json');
const shape = (file: ReadFile) => ({ path: file.path, modifiedMs: file.modifiedMs, count: file.count, kept: deep(file) ? file.kept.map((r) => r.source) : file.kept, otherArns: [...file.otherArns].sort(), newest: file.newest });

async function readAll(paths: readonly string[], threads: number, workerScript = worker, onWarning?: (m: string) => void) {
  const problems: ReadProblem[] = [];
  const files: ReadFile[] = [];
  const found: number[] = [];
  for await (const file of readPartitioned(paths, problems, { rules, threads, workerScript, onWarning, onFound: () => found.push(files.length) })) files.push(file);
  // Told once, before the first file came out.
  expect(found).toEqual(files.length > 0 ? [0] : []);
  return { files, problems };
}

describe('partitionRecords', () => {
  it('keeps exactly what the capture rules take and what is no record, and the callers of the rest', async () => {
    const problems: ReadProblem[] = [];
    let kept = 0;
    let setAside = 0;
    for await (const file of readRecords([BUNDLED_SAMPLES], problems)) {
      const split = partitionRecords(file.records, rules);
      kept += split.kept.length;
      setAside += split.count - split.kept.length;
      expect(split.count).toBe(file.records.length);
      expect(split.kept).toEqual(file.records.filter((r) => messageOf(r.value, rules, 0).kind !== 'not-matched'));
      const rest = file.records.filter((r) => !split.kept.includes(r));
      expect(new Set(split.otherArns)).toEqual(new Set(rest.flatMap((r) => callerArns(r.value))));
      // The calls of watched callers are kept too, and their ARNs are no longer among the others'.
      const watched = new Set(split.otherArns.slice(0, 1));
      const withWatched = partitionRecords(file.records, rules, watched);
      expect(withWatched.kept).toEqual(file.records.filter((r) => split.kept.includes(r) || callerArns(r.value).some((a) => watched.has(a))));
      expect(withWatched.otherArns.filter((a) => watched.has(a))).toEqual([]);
      // Without rules (the agent capture rules change as the replay goes) everything is kept.
      expect(partitionRecords(file.records, undefined).kept).toEqual(file.records);
    }
    // The fixtures hold both: records the rules take and records they do not.
    expect(kept).toBeGreaterThan(20);
    expect(setAside).toBeGreaterThan(20);
  });
});

describe('readPartitioned with threads', () => {
  it('yields what the main thread reads: the same files in order, the same kept records, callers and problems', async () => {
    const dir = temp.dir('ai-visibility-read-threads-');
    // Real records, a gzip file, a broken gzip, a file that is not JSON, one record nested too
    // deeply to serialize (the worker hands the file back), an envelope and a value that is no record.
    const real = fixtureFiles.filter((f) => f.endsWith('.json'));
    real.forEach((f, i) => copyFileSync(f, join(dir, `a${String(i).padStart(2, '0')}.json`)));
    writeFileSync(join(dir, 'b-gzip.json.gz'), gzipSync(readFileSync(fixtureFiles.find((f) => f.includes('agents-2-activity'))!)));
    writeFileSync(join(dir, 'c-broken.json.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]));
    writeFileSync(join(dir, 'd-not-json.json'), 'not json at all');
    writeFileSync(join(dir, 'e-deep.json'), `{"Records":[{"eventSource":"bedrock.amazonaws.com","eventName":"InvokeModel","requestParameters":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}]}`);
    writeFileSync(join(dir, 'f-mixed.jsonl'), [JSON.stringify({ version: '0', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.bedrock', detail: { eventSource: 'bedrock.amazonaws.com', eventName: 'InvokeModel', eventTime: '2026-01-01T00:00:00Z' } }), '42', '{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"arn":"arn:aws:iam::111122223333:user/x"}}', '{broken'].join('\n'));

    const here = await readAll([dir], 0);
    const threaded = await readAll([dir], 2);
    expect(threaded.files.map(shape)).toEqual(here.files.map(shape));
    expect(threaded.problems).toEqual(here.problems);
    expect([threaded.files.length, here.files.length]).toEqual([real.length + 4, real.length + 4]);
    expect(here.problems.map((p) => p.source.slice(dir.length + 1).replace(/[:#].*/, ''))).toEqual(['c-broken.json.gz', 'd-not-json.json', 'f-mixed.jsonl']);
    // The worker set records aside (it read these files: they carry no records of their own) ...
    const byWorker = threaded.files.filter((f) => f.records === undefined);
    expect(byWorker.length).toBe(threaded.files.length - 1);
    expect(byWorker.some((f) => f.kept.length < f.count && f.otherArns.length > 0)).toBe(true);
    // ... except the file it could not serialize, read here.
    expect(threaded.files.find((f) => f.path.endsWith('e-deep.json'))?.records).toHaveLength(1);
    // Read again, a worker's file gives every record.
    for (const [i, file] of threaded.files.entries()) if (!deep(file)) expect(await allRecords(file)).toEqual(here.files[i].records);
  });

  it('keeps the calls of the principals watched when each file is sent', async () => {
    const agent = 'arn:aws:iam::111122223333:role/service-role/support-tools-role';
    const watched = new Set([agent]);
    const problems: ReadProblem[] = [];
    const threaded: ReadFile[] = [];
    for await (const file of readPartitioned([BUNDLED_SAMPLES], problems, { rules, threads: 1, workerScript: worker, watched: () => watched })) threaded.push(file);
    const here = await readAll([BUNDLED_SAMPLES], 0);
    expect(threaded.map(shape)).toEqual(here.files.map((f) => shape({ ...f, ...partitionRecords(f.records!, rules, watched) })));
    // The agent's uncaptured calls came with the kept records: no file needs reading again for it.
    expect(threaded.some((f) => f.kept.some((r) => JSON.stringify(r.value).includes('GetSecretValue')))).toBe(true);
    expect(threaded.flatMap((f) => f.otherArns)).not.toContain(agent);
  });

  it('sends hundreds of small files ahead and still yields them in order, with the problems where they stand', async () => {
    // More files than THREAD_AHEAD sends at once, in directories, with a broken one every so often
    // and a directory that is a loop.
    const dir = temp.dir('ai-visibility-read-threads-many-');
    const body = readFileSync(fixtureFiles.find((f) => f.includes('agents-2-activity'))!);
    for (let d = 0; d < 4; d++) {
      mkdirSync(join(dir, `d${d}`));
      for (let f = 0; f < 150; f++) writeFileSync(join(dir, `d${d}`, `f${String(f).padStart(3, '0')}.json${f % 2 ? '.gz' : ''}`), f % 37 === 5 ? Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]) : f % 2 ? gzipSync(body) : body);
    }
    symlinkSync(dir, join(dir, 'd2', 'loop'));
    expect(THREAD_AHEAD.files).toBeLessThan(600);
    const here = await readAll([dir], 0);
    const threaded = await readAll([dir], 2);
    expect(threaded.files.map(shape)).toEqual(here.files.map(shape));
    expect(threaded.problems).toEqual(here.problems);
    expect(here.files).toHaveLength(4 * 150 - 4 * 4);
    const broken = (d: number) => ['f005.json.gz', 'f042.json', 'f079.json.gz', 'f116.json'].map((f) => `d${d}/${f}`);
    expect(here.problems.map((p) => p.source.slice(dir.length + 1))).toEqual([...broken(0), ...broken(1), ...broken(2), 'd2/loop', ...broken(3)]);
  });

  it('reads in this thread when a worker fails, and says so once', async () => {
    const broken = join(temp.dir('ai-visibility-broken-worker-'), 'read-worker.js');
    writeFileSync(broken, 'throw new Error("no worker today")');
    const warnings: string[] = [];
    const here = await readAll([BUNDLED_SAMPLES], 0);
    const threaded = await readAll([BUNDLED_SAMPLES], 2, broken, (m) => warnings.push(m));
    expect(threaded.files.map(shape)).toEqual(here.files.map(shape));
    expect(threaded.problems).toEqual(here.problems);
    expect(warnings).toEqual([expect.stringContaining('a reading thread failed (no worker today)')]);
  });
});

describe('the replay with reading threads', () => {
  const runs: Array<[string, readonly string[], ReplayOptions]> = [
    ['all the fixtures', [BUNDLED_SAMPLES], {}],
    ['all the fixtures, agent capture rules', [BUNDLED_SAMPLES], { agentCapture: 'rules' }],
    ...fixtureFiles.map((f): [string, readonly string[], ReplayOptions] => [f.slice(BUNDLED_SAMPLES.length + 1), [f], {}]),
  ];
  it.each(runs)('%s: the same report', async (_name, paths, options) => {
    const here = await replay(paths, { ...options, readThreads: 0 });
    const threaded = await replay(paths, { ...options, readThreads: 2, readWorker: worker });
    expect(comparable(threaded as never)).toEqual(comparable(here as never));
  }, 120_000);

  it('reads a file again for the uncaptured calls of a principal watched by then', async () => {
    // The agent is identified in the first file; its secretsmanager call in the second reaches no
    // capture rule: only the trail pass over the whole file (read again: the worker set it aside) keeps it.
    const dir = temp.dir('ai-visibility-read-again-');
    for (const name of ['agents-1-setup.json', 'agents-2-activity.json']) copyFileSync(join(BUNDLED_SAMPLES, 'documented', name), join(dir, name));
    const here = await replay([dir], { readThreads: 0 });
    const threaded = await replay([dir], { readThreads: 1, readWorker: worker });
    expect(comparable(threaded as never)).toEqual(comparable(here as never));
    expect(JSON.stringify(threaded)).toContain('GetSecretValue');
  }, 120_000);
});

describe('--read-threads', () => {
  it('takes 0 to 16; anything else is a usage error', async () => {
    const cli = cliRunner({ store: temp.dir('ai-visibility-read-threads-store-') });
    const sample = join(BUNDLED_SAMPLES, 'ai', 'sumologic-documentation__InvokeModel.json');
    const none = await cli('replay', '--json', '--read-threads', '0', sample);
    expect(none.code).toBe(0);
    for (const wrong of ['-1', '17', '1.5', 'two']) {
      const run = await cli('replay', `--read-threads=${wrong}`, sample);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('--read-threads must be a whole number from 0 to 16');
    }
  }, 60_000);
});
