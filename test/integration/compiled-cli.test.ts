/**
 * The compiled command line (scripts/build-cli.mjs: one JavaScript file, packages loaded from
 * node_modules) is the same program as the TypeScript: on the bundled samples its `--json` is the
 * in-process CLI's, apart from wall-clock times; through the package's launcher
 * (bin/ai-visibility.cjs) it runs in the launcher's process, finds the bundled samples, and its
 * `sweep` finds the handlers it synthesizes the state machine with; its reading threads give the
 * report of its main thread.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ReplayReport } from '../../local/replay/report';
import { cliRunner, useTempDirs } from '../support';

const ROOT = join(__dirname, '..', '..');
const temp = useTempDirs();

/** Wall-clock fields (the change feed's publish times) differ between any two runs. */
const withoutClock = (report: unknown) => JSON.stringify(report, (k, v) => ((k === 'time' || k === 'changedAt') && typeof v === 'string' && Date.parse(v) > Date.now() - 3_600_000 ? undefined : v));

describe('the compiled CLI', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--force'], { cwd: ROOT, stdio: 'pipe' });
  }, 120_000);

  it('is built into dist/cli/cli.js', () => {
    expect(existsSync(join(ROOT, 'dist', 'cli', 'cli.js'))).toBe(true);
  });

  it('gives the same --json as the TypeScript on the bundled samples (the default input)', async () => {
    const store = temp.dir('ai-visibility-store-');
    const compiled = spawnSync(process.execPath, [join(ROOT, 'bin', 'ai-visibility.cjs'), 'replay', '--json', '--store', store], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    expect(compiled.status).toBe(3); // a bundled record is quarantined on purpose
    const direct = await cliRunner({ store: temp.dir('ai-visibility-store-') })('replay', '--json');
    expect(direct.code).toBe(3);
    const a = JSON.parse(compiled.stdout) as ReplayReport;
    expect(a.inventory.length).toBeGreaterThan(0);
    expect(withoutClock(a)).toEqual(withoutClock(JSON.parse(direct.stdout)));
  }, 120_000);

  it('reads in its worker threads (dist/cli/read-worker.js) with the report of the main thread', () => {
    expect(existsSync(join(ROOT, 'dist', 'cli', 'read-worker.js'))).toBe(true);
    const run = (threads: string) => spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'cli.js'), 'replay', '--json', '--verbose', '--read-threads', threads, '--store', temp.dir('ai-visibility-store-')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    const here = run('0');
    const threaded = run('2');
    expect(here.stderr).toContain('reading in this thread');
    expect(threaded.status).toBe(3);
    expect(threaded.stderr).toContain('reading in 2 thread(s) besides this one');
    expect(threaded.stderr).not.toContain('reading thread failed');
    expect(withoutClock(JSON.parse(threaded.stdout))).toEqual(withoutClock(JSON.parse(here.stdout)));
  }, 120_000);

  it('runs the sweep, which synthesizes the sweep\'s state machine with its handlers bundled from the sources', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'ai-visibility.cjs'), 'sweep', '--inventory', 'test/fixtures/sweep/h200-inventory.json', '--metrics', 'test/fixtures/sweep/h200-metrics.json', '--json'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).not.toContain('CannotFindEntryFile');
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout) as { sweep: { targets: number } }).sweep.targets).toBe(9);
  }, 120_000);

  it('answers an empty replay without the store', () => {
    const empty = temp.dir('ai-visibility-empty-');
    const run = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'cli.js'), 'replay', '--json', '--store', join(empty, 'store'), empty], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout) as ReplayReport).stats).toMatchObject({ records: 0, files: 0 });
    expect(run.stderr).toContain('no log files under');
    expect(existsSync(join(empty, 'store'))).toBe(false);
  });
});
