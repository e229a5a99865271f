/**
 * The replay as a user runs it, whole process (bench section 12): `node dist/cli/cli.js replay
 * --json` against `tsx bin/cli.ts replay --json`, and against `JSON.parse` of the same files.
 *
 *   - the fixed cost: an empty replay (a directory with no log files), best of 5 runs each;
 *   - a realistic corpus: the real mix of a trail, about 1 % AI events. Its non-AI records are the
 *     real ones of fixtures/cloudtrail/non-ai (the OTRF dataset's EC2, S3, IAM and STS calls and
 *     the cloud-custodian records), its AI records the real and documented AI records, copied with
 *     fresh eventIDs into gzipped log files of BENCH_FILE_RECORDS records (1,000; an organization
 *     trail's files are often far smaller), BENCH_REALISTIC_RECORDS (100,000) in all;
 *   - an AI-dense corpus: every fixture in turn (a third of the records reach the capture rules),
 *     BENCH_DENSE_RECORDS (20,000);
 *   - an organization corpus: the realistic records laid out as a copy of an organization trail
 *     (`corpusFile`), BENCH_ORGANIZATION_FILE_RECORDS (5) to a file, each with a time;
 *   each replayed with the embedded DynamoDB in process (the default) and over HTTP through the
 *   SDK (--store-transport http), and with the files read in the main thread alone
 *   (--read-threads 0), whose --json must be identical apart from wall-clock times;
 *   - with BENCH_SCALE=1, the realistic corpus at ten times the size against the first, and the
 *     peak memory of each run (GNU time's maximum resident set size, where /usr/bin/time exists);
 *   - with BENCH_BASELINE=<commit> (5c0eeeb: the code the replay-speed issue was filed against),
 *     both corpora replayed by that commit's code too, in the same run: its tree checked out with
 *     `git worktree`, this checkout's node_modules, run through tsx as the code of that time ran
 *     (its compile cache warmed by one empty replay first); its --json compared with today's.
 *
 * Each figure is a ratio within one run: machines differ, ratios less.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isEnvelope } from '../../local/replay/event-bus';
import { parseLogFile } from '../../local/replay/read-logs';
import { defaultReadThreads } from '../../local/replay/read-pool';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'cloudtrail');
const REALISTIC_RECORDS = Number(process.env.BENCH_REALISTIC_RECORDS ?? 100_000);
const DENSE_RECORDS = Number(process.env.BENCH_DENSE_RECORDS ?? 20_000);
/** Records per log file in both corpora: an organization trail writes many small files (one per account and region every five minutes). */
const FILE_RECORDS = Number(process.env.BENCH_FILE_RECORDS ?? 1_000);
const AI_SHARE = 0.01;
/** Records per file of the organization corpus: most of an organization trail's files hold a few. */
const ORGANIZATION_FILE_RECORDS = Number(process.env.BENCH_ORGANIZATION_FILE_RECORDS ?? 5);

function recordsOf(dirs: readonly string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const dir of dirs) {
    for (const file of readdirSync(join(FIXTURES, dir))) {
      if (!/\.(json|ndjson)$/.test(file)) continue;
      for (const { value } of parseLogFile(readFileSync(join(FIXTURES, dir, file)), file, [])) out.push((isEnvelope(value) ? value.detail : value) as Record<string, unknown>);
    }
  }
  return out;
}

/**
 * Where the `index`th file of a corpus goes: flat (one directory), or as an organization trail's
 * copy lays files out (`AWSLogs/<org>/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/`, ten
 * accounts, four regions, thirty days, each file dealt to one of them by a hash of its index, so
 * that the AI records spread over every account, each named as CloudTrail names them; `slots`
 * counts the files of each directory, for their five-minute times). With the organization
 * layout comes the file's time: its records are given times within its five minutes, as a
 * trail's are (the OTRF records carry `@timestamp`, not `eventTime`, so most records of the flat
 * corpus have no time, and its files no place in a look-back's window).
 */
function corpusFile(dir: string, index: number, layout: 'flat' | 'organization', slots: Map<number, number>): { path: string; time?: number } {
  if (layout === 'flat') return { path: join(dir, `111122223333_CloudTrail_us-east-1_${String(index).padStart(5, '0')}.json.gz`) };
  const [accounts, regions, days] = [10, ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'], 30];
  const hash = createHash('sha256').update(String(index)).digest('hex');
  const d = Number.parseInt(hash.slice(0, 8), 16) % (accounts * regions.length * days);
  const account = String(111122223300 + (d % accounts));
  const region = regions[Math.floor(d / accounts) % regions.length];
  const day = String(Math.floor(d / (accounts * regions.length)) + 1).padStart(2, '0');
  const slot = slots.get(d) ?? 0;
  slots.set(d, slot + 1);
  const [hh, mm] = [String(Math.floor(slot / 12) % 24).padStart(2, '0'), String((slot % 12) * 5).padStart(2, '0')];
  const folder = join(dir, 'AWSLogs', 'o-abc123def4', account, 'CloudTrail', region, '2026', '11', day);
  mkdirSync(folder, { recursive: true });
  return { path: join(folder, `${account}_CloudTrail_${region}_202611${day}T${hh}${mm}Z_${hash.slice(8, 24).toUpperCase()}.json.gz`), time: Date.parse(`2026-11-${day}T${hh}:${mm}:00Z`) };
}

/** The realistic corpus: `records` records, one in a hundred an AI record, `fileRecords` to a file. */
export function realisticCorpus(dir: string, records = REALISTIC_RECORDS, layout: 'flat' | 'organization' = 'flat', fileRecords = FILE_RECORDS): { files: number; records: number; ai: number } {
  const nonAi = recordsOf(['non-ai']);
  const ai = recordsOf(['ai', 'documented']).filter((r) => typeof r.eventTime === 'string');
  let batch: Record<string, unknown>[] = [];
  let files = 0;
  let aiCount = 0;
  const slots = new Map<number, number>();
  const flush = () => {
    const { path, time } = corpusFile(dir, files++, layout, slots);
    if (time !== undefined) batch = batch.map((r, i) => ({ ...r, eventTime: new Date(time + i * 1_000).toISOString().replace(/\.\d{3}Z$/, 'Z') }));
    writeFileSync(path, gzipSync(JSON.stringify({ Records: batch })));
    batch = [];
  };
  for (let i = 0; i < records; i++) {
    const isAi = Math.floor((i + 1) * AI_SHARE) > Math.floor(i * AI_SHARE);
    const seed = isAi ? ai[aiCount++ % ai.length] : nonAi[i % nonAi.length];
    batch.push({ ...seed, eventID: randomUUID() });
    if (batch.length === fileRecords) flush();
  }
  if (batch.length) flush();
  return { files, records, ai: aiCount };
}

/** The AI-dense corpus: every fixture record in turn, fresh eventIDs, `records` in all. */
function denseCorpus(dir: string, records = DENSE_RECORDS): { files: number; records: number } {
  const seed = recordsOf(['ai', 'non-ai', 'documented']);
  let batch: Record<string, unknown>[] = [];
  let files = 0;
  const flush = () => {
    writeFileSync(join(dir, `111122223333_CloudTrail_us-east-1_${String(files++).padStart(5, '0')}.json.gz`), gzipSync(JSON.stringify({ Records: batch })));
    batch = [];
  };
  for (let i = 0; i < records; i++) {
    batch.push({ ...seed[i % seed.length], eventID: randomUUID() });
    if (batch.length === FILE_RECORDS) flush();
  }
  if (batch.length) flush();
  return { files, records };
}

/** The --json without the domain events' wall-clock times: equal for equal reports. */
function comparable(stdout: string): string {
  const report = JSON.parse(stdout) as { events: Array<Record<string, unknown>> };
  return JSON.stringify({ ...report, events: report.events.map(({ time: _t, detail, ...rest }) => ({ ...rest, detail: { ...(detail as object), changedAt: undefined } })) });
}

/** One whole-process run: seconds, stdout, and the peak resident set (MB) where GNU time is there to say. */
function measured(args: readonly string[]): { seconds: number; stdout: string; peakMb?: number } {
  const gnuTime = existsSync('/usr/bin/time');
  const started = process.hrtime.bigint();
  const run = gnuTime
    ? spawnSync('/usr/bin/time', ['-f', 'peak-rss-kb %M', process.execPath, ...args], { cwd: ROOT, maxBuffer: 1 << 30, env: { ...process.env, CI: 'true' } })
    : spawnSync(process.execPath, args, { cwd: ROOT, maxBuffer: 1 << 30, env: { ...process.env, CI: 'true' } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0 && run.status !== 3) throw new Error(`${args.join(' ')} failed: ${run.stderr}`);
  const rss = /peak-rss-kb (\d+)/.exec(run.stderr.toString());
  return { seconds, stdout: run.stdout.toString(), ...(rss ? { peakMb: Number(rss[1]) / 1024 } : {}) };
}

/**
 * DuckDB selecting the AI event sources of a corpus with one SQL query, whole process: what a
 * responder would reach for instead (it filters; it classifies nothing). An optional peer: the
 * bench uses @duckdb/node-api when it is installed (`npm install --no-save @duckdb/node-api`),
 * and says so when it is not; the project does not depend on it.
 */
function duckDbSeconds(dir: string): { seconds: number; matched: number } | undefined {
  let entry: string;
  try {
    entry = createRequire(join(ROOT, 'package.json')).resolve('@duckdb/node-api');
  } catch {
    return undefined;
  }
  const sources = ['bedrock.amazonaws.com', 'bedrock-agentcore.amazonaws.com', 'sagemaker.amazonaws.com'].map((s) => `'${s}'`).join(', ');
  const script = join(dir, '..', 'duckdb-filter.mjs');
  writeFileSync(
    script,
    `import { DuckDBInstance } from ${JSON.stringify(pathToFileURL(entry).href)};
const connection = await (await DuckDBInstance.create(':memory:')).connect();
const result = await connection.runAndReadAll(\`SELECT count(*) FROM (SELECT unnest(Records) AS r FROM read_json('${dir}/**/*.json.gz', columns={Records: 'JSON[]'}, format='unstructured', maximum_object_size=268435456)) WHERE json_extract_string(r, '$.eventSource') IN (${sources})\`);
console.log(String(result.getRows()[0][0]));
`,
  );
  const run = measured([script]);
  return { seconds: run.seconds, matched: Number(run.stdout.trim()) };
}

/** A corpus's log files, under any depth of directories. */
function logFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json.gz')).map((f) => join(dir, f));
}

/** JSON.parse of a corpus's decompressed files, in seconds (the files read and decompressed first). */
function parseSeconds(dir: string): { seconds: number; records: number; mb: number } {
  const texts = logFiles(dir).map((f) => gunzipSync(readFileSync(f)).toString('utf8'));
  const started = process.hrtime.bigint();
  let records = 0;
  for (const t of texts) records += (JSON.parse(t) as { Records: unknown[] }).Records.length;
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, records, mb: texts.reduce((n, t) => n + t.length, 0) / 1e6 };
}

/**
 * The command line of a baseline commit's replay (BENCH_BASELINE), in a git worktree under `work`
 * that shares this checkout's node_modules, warmed by one empty replay; undefined without one.
 */
function baselineReplay(commit: string | undefined, work: string, empty: string, store: string): { args: string[]; commit: string; remove(): void } | undefined {
  if (!commit) return undefined;
  const tree = join(work, 'baseline');
  execFileSync('git', ['worktree', 'add', '--detach', tree, commit], { cwd: ROOT, stdio: 'pipe' });
  const remove = () => execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: ROOT, stdio: 'pipe' });
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
    const resolved = execFileSync('git', ['rev-parse', '--short', commit], { cwd: ROOT, encoding: 'utf8' }).trim();
    const args = [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(tree, 'bin', 'cli.ts'), 'replay', '--json', '--store', store];
    wall(process.execPath, [...args, empty], 1);
    return { args, commit: resolved, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** Seconds of a whole process, best of `runs`. */
function wall(command: string, args: readonly string[], runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const run = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (run.status !== 0 && run.status !== 3) throw new Error(`${command} ${args.join(' ')} failed: ${run.stderr}`);
    best = Math.min(best, seconds);
  }
  return best;
}

export function startupSection(): string[] {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { cwd: ROOT, stdio: 'pipe' });
  const work = mkdtempSync(join(tmpdir(), 'ai-visibility-startup-'));
  let baseline: ReturnType<typeof baselineReplay>;
  try {
    const empty = join(work, 'empty');
    mkdirSync(empty);
    const store = join(work, 'store');
    const compiled = [join(ROOT, 'dist', 'cli', 'cli.js'), 'replay', '--json', '--store', store];
    const tsx = [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'bin', 'cli.ts'), 'replay', '--json', '--store', store];
    const nodeAlone = wall(process.execPath, ['-e', ''], 5);
    const emptyCompiled = wall(process.execPath, [...compiled, empty], 5);
    const emptyTsx = wall(process.execPath, [...tsx, empty], 3);

    const lines = [
      `\n  The replay, whole process (best of 5; node alone ${nodeAlone.toFixed(2)} s):`,
      `    empty replay: compiled CLI ${emptyCompiled.toFixed(2)} s, TypeScript through tsx ${emptyTsx.toFixed(2)} s (${(emptyTsx / emptyCompiled).toFixed(1)}x)`,
    ];
    baseline = baselineReplay(process.env.BENCH_BASELINE, work, empty, join(work, 'baseline-store'));
    const corpora: Array<[string, (dir: string) => { files: number; records: number; ai?: number }]> = [
      ['realistic corpus', (d) => realisticCorpus(d)],
      ['AI-dense corpus', (d) => denseCorpus(d)],
      // An organization trail's copy: the realistic records, with times, five to a file in a directory per account, region and day.
      ['organization corpus', (d) => realisticCorpus(d, REALISTIC_RECORDS, 'organization', ORGANIZATION_FILE_RECORDS)],
    ];
    for (const [name, build] of corpora) {
      const dir = join(work, name.replace(/\W+/g, '-'));
      mkdirSync(dir);
      const corpus = build(dir);
      const parse = parseSeconds(dir);
      const inProcess = measured([...compiled, dir]);
      const http = measured([...compiled, '--store-transport', 'http', dir]);
      const oneThread = measured([...compiled, '--read-threads', '0', dir]);
      const same = comparable(inProcess.stdout) === comparable(http.stdout);
      const sameThreads = comparable(inProcess.stdout) === comparable(oneThread.stdout);
      const duck = duckDbSeconds(dir);
      const matched = (JSON.parse(inProcess.stdout) as { stats: { matched: number } }).stats.matched;
      lines.push(
        `    ${name} (${corpus.records.toLocaleString('en-US')} records, ${matched.toLocaleString('en-US')} matched, ${corpus.files} gzipped files, ${parse.mb.toFixed(0)} MB of JSON): JSON.parse ${parse.seconds.toFixed(2)} s; ` +
          `replay in process ${inProcess.seconds.toFixed(2)} s (${(parse.seconds / inProcess.seconds).toFixed(3)}x JSON.parse, ${Math.round(corpus.records / inProcess.seconds).toLocaleString('en-US')} records/s${inProcess.peakMb ? `, peak ${inProcess.peakMb.toFixed(0)} MB` : ''}), ` +
          `over HTTP ${http.seconds.toFixed(2)} s (${(parse.seconds / http.seconds).toFixed(3)}x, ${Math.round(corpus.records / http.seconds).toLocaleString('en-US')} records/s): in process ${(http.seconds / inProcess.seconds).toFixed(1)}x faster; --json ${same ? 'identical' : 'DIFFERENT'}; ` +
          `read in the main thread alone (--read-threads 0) ${oneThread.seconds.toFixed(2)} s: the reading threads (${defaultReadThreads()} on ${availableParallelism()} cores) ${(oneThread.seconds / inProcess.seconds).toFixed(2)}x faster${oneThread.peakMb ? `, peak ${oneThread.peakMb.toFixed(0)} MB` : ''}, --json ${sameThreads ? 'identical' : 'DIFFERENT'}; ` +
          (duck ? `DuckDB's filter of the AI event sources ${duck.seconds.toFixed(2)} s (${duck.matched.toLocaleString('en-US')} records)` : 'DuckDB not installed (npm install --no-save @duckdb/node-api to compare)'),
      );
      if (baseline) {
        const then = measured([...baseline.args, dir]);
        const sameThen = comparable(inProcess.stdout) === comparable(then.stdout);
        lines.push(
          `      the same corpus replayed by ${baseline.commit} (BENCH_BASELINE, through tsx): ${then.seconds.toFixed(2)} s (${Math.round(corpus.records / then.seconds).toLocaleString('en-US')} records/s${then.peakMb ? `, peak ${then.peakMb.toFixed(0)} MB` : ''}): today ${(then.seconds / inProcess.seconds).toFixed(1)}x faster; --json ${sameThen ? 'identical' : 'DIFFERENT'}`,
        );
      }
      rmSync(dir, { recursive: true, force: true });
    }
    if (process.env.BENCH_SCALE === '1') {
      const sizes = [REALISTIC_RECORDS, REALISTIC_RECORDS * 10];
      const runs = sizes.map((records) => {
        const dir = join(work, `scale-${records}`);
        mkdirSync(dir);
        realisticCorpus(dir, records);
        const bytes = logFiles(dir).reduce((n, f) => n + gunzipSync(readFileSync(f)).length, 0);
        const run = measured([...compiled, dir]);
        rmSync(dir, { recursive: true, force: true });
        return { records, bytes, ...run };
      });
      lines.push(
        `    scale: ${runs.map((r) => `${r.records.toLocaleString('en-US')} realistic records (${(r.bytes / 1e9).toFixed(2)} GB of JSON) ${r.seconds.toFixed(1)} s${r.peakMb ? `, peak ${r.peakMb.toFixed(0)} MB` : ''}`).join('; ')}: ten times the records took ${(runs[1].seconds / runs[0].seconds).toFixed(1)}x the time`,
      );
    }
    return lines;
  } finally {
    baseline?.remove();
    rmSync(work, { recursive: true, force: true });
  }
}
