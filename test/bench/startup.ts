/**
 * The replay as a user runs it, whole process (bench section 12): `node dist/cli/cli.js replay
 * --json` against `tsx bin/cli.ts replay --json`, and against `JSON.parse` of the same files.
 *
 *   - the fixed cost: an empty replay (a directory with no log files), best of 5 runs each;
 *   - a realistic corpus: the real mix of a trail, about 1 % AI events. Its non-AI records are the
 *     real ones of fixtures/cloudtrail/non-ai (the OTRF dataset's EC2, S3, IAM and STS calls and
 *     the cloud-custodian records), its AI records the real and documented AI records, copied with
 *     fresh eventIDs into gzipped log files of 1,000 records, BENCH_REALISTIC_RECORDS (100,000) in all.
 *
 * Each figure is a ratio within one run: machines differ, ratios less.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isEnvelope } from '../../local/replay/event-bus';
import { parseLogFile } from '../../local/replay/read-logs';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'cloudtrail');
const REALISTIC_RECORDS = Number(process.env.BENCH_REALISTIC_RECORDS ?? 100_000);
const AI_SHARE = 0.01;

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

/** The realistic corpus: `REALISTIC_RECORDS` records, one in a hundred an AI record. */
export function realisticCorpus(dir: string): { files: number; records: number; ai: number } {
  const nonAi = recordsOf(['non-ai']);
  const ai = recordsOf(['ai', 'documented']).filter((r) => typeof r.eventTime === 'string');
  let batch: Record<string, unknown>[] = [];
  let files = 0;
  let aiCount = 0;
  const flush = () => {
    writeFileSync(join(dir, `111122223333_CloudTrail_us-east-1_${String(files++).padStart(5, '0')}.json.gz`), gzipSync(JSON.stringify({ Records: batch })));
    batch = [];
  };
  for (let i = 0; i < REALISTIC_RECORDS; i++) {
    const isAi = Math.floor((i + 1) * AI_SHARE) > Math.floor(i * AI_SHARE);
    const seed = isAi ? ai[aiCount++ % ai.length] : nonAi[i % nonAi.length];
    batch.push({ ...seed, eventID: randomUUID() });
    if (batch.length === 1_000) flush();
  }
  if (batch.length) flush();
  return { files, records: REALISTIC_RECORDS, ai: aiCount };
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
  try {
    const empty = join(work, 'empty');
    mkdirSync(empty);
    const store = join(work, 'store');
    const compiled = [join(ROOT, 'dist', 'cli', 'cli.js'), 'replay', '--json', '--store', store];
    const tsx = [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'bin', 'cli.ts'), 'replay', '--json', '--store', store];
    const nodeAlone = wall(process.execPath, ['-e', ''], 5);
    const emptyCompiled = wall(process.execPath, [...compiled, empty], 5);
    const emptyTsx = wall(process.execPath, [...tsx, empty], 3);

    const corpusDir = join(work, 'realistic');
    mkdirSync(corpusDir);
    const corpus = realisticCorpus(corpusDir);
    const texts = readdirSync(corpusDir).map((f) => gunzipSync(readFileSync(join(corpusDir, f))).toString('utf8'));
    const parseStarted = process.hrtime.bigint();
    let parsed = 0;
    for (const t of texts) parsed += (JSON.parse(t) as { Records: unknown[] }).Records.length;
    const parseSeconds = Number(process.hrtime.bigint() - parseStarted) / 1e9;
    const replaySeconds = wall(process.execPath, [...compiled, corpusDir], 1);
    const mb = texts.reduce((n, t) => n + t.length, 0) / 1e6;
    return [
      `\n  The replay, whole process (best of 5; node alone ${nodeAlone.toFixed(2)} s):`,
      `    empty replay: compiled CLI ${emptyCompiled.toFixed(2)} s, TypeScript through tsx ${emptyTsx.toFixed(2)} s (${(emptyTsx / emptyCompiled).toFixed(1)}x)`,
      `    realistic corpus (${corpus.records.toLocaleString('en-US')} records, ${corpus.ai.toLocaleString('en-US')} AI, ${corpus.files} gzipped files, ${mb.toFixed(0)} MB of JSON): replay ${replaySeconds.toFixed(2)} s, JSON.parse of the decompressed files ${parseSeconds.toFixed(2)} s (${parsed.toLocaleString('en-US')} records): the replay at ${(parseSeconds / replaySeconds).toFixed(2)}x JSON.parse`,
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
