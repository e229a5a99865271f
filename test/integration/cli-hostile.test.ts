/**
 * Files and commands, as a careless user or an attacker would use them: byte order marks, links
 * and link loops, files that are not logs, paths that do not exist, unusable stores, over-long
 * ARNs, broken sweep files, a failing sweep, escape sequences in records, and a gzip bomb.
 * Each gets one clear line and the right exit code, never a stack trace.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as localSweep from '../../local/sweep/local-sweep';
import { startLocalDynamoDb } from '../../local/replay/local-dynamodb';
import type { ReplayReport } from '../../local/replay/report';
import { printable } from '../../local/text';
import { aiFixture, FIXTURES } from '../helpers';
import { cliRunner, useTempDirs } from '../support';

const temp = useTempDirs();
const cli = cliRunner();
const store = () => temp.dir('ai-visibility-cli-store-');
const noTrace = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

describe('replay input', () => {
  it('reads a file that starts with a UTF-8 byte order mark', async () => {
    const dir = temp.dir('ai-visibility-bom-');
    writeFileSync(join(dir, 'bom.json'), `\uFEFF${JSON.stringify({ Records: [aiFixture('InvokeModel')] })}`);
    const { code, stdout } = await cli('replay', '--json', '--store', store(), dir);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as ReplayReport).stats).toMatchObject({ records: 1, matched: 1, classified: 1 });
  });

  it('follows links once, reports a loop and a dangling link, and counts (and with --verbose lists) what it skips', async () => {
    const dir = temp.dir('ai-visibility-links-');
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'a.json'), JSON.stringify({ Records: [aiFixture('InvokeModel')] }));
    writeFileSync(join(logs, 'notes.txt'), 'not a log');
    symlinkSync(logs, join(dir, 'again')); // a second way to the same directory
    symlinkSync(dir, join(logs, 'loop')); // back up to where the reading started
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.json'));
    const { code, stdout, stderr } = await cli('replay', '--json', '--verbose', '--store', store(), dir);
    const report = JSON.parse(stdout) as ReplayReport;
    expect(code).toBe(3);
    expect(report.stats).toMatchObject({ records: 1, files: 1 });
    expect(report.quarantine.map((q) => q.reason)).toEqual(
      expect.arrayContaining([expect.stringContaining('a link that leads nowhere'), expect.stringContaining('already read: not followed again')]),
    );
    expect(stderr).toContain('skipped 1 file(s) that are not log files:');
    // In name order the directory is read by way of the link `again`, and once only.
    expect(stderr).toContain(`${join(dir, 'again', 'notes.txt')}: not a .json, .jsonl, .ndjson or .gz file`);
  });

  it('a path that does not exist is a usage error, in one line', async () => {
    const { code, stderr } = await cli('replay', '--store', store(), join(temp.dir(), 'missing.json'));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^no such file or directory: .*missing\.json$/)]);
  });

  it('a path with no log files says so', async () => {
    const dir = temp.dir('ai-visibility-empty-');
    writeFileSync(join(dir, 'readme.txt'), 'nothing here');
    const { code, stderr } = await cli('replay', '--store', store(), dir);
    expect(code).toBe(0);
    expect(stderr).toContain(`no log files under ${dir}`);
  });

  it('refuses a file that expands past the limit (a gzip bomb) with its reason, and goes on', async () => {
    const dir = temp.dir('ai-visibility-bomb-');
    writeFileSync(join(dir, 'bomb.json.gz'), gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20))); // 8 MiB of spaces, a few KB packed
    writeFileSync(join(dir, 'good.json'), JSON.stringify({ Records: [aiFixture('InvokeModel')] }));
    const { code, stdout } = await cli('replay', '--json', '--max-file-mb', '1', '--store', store(), dir);
    const report = JSON.parse(stdout) as ReplayReport;
    expect(code).toBe(3);
    expect(report.quarantine).toEqual([{ source: join(dir, 'bomb.json.gz'), reason: 'expands to more than the 1 MiB a file may hold (--max-file-mb)' }]);
    expect(report.stats).toMatchObject({ records: 1, classified: 1 });
    expect((await cli('replay', '--max-file-mb', 'lots', '--store', store(), dir)).code).toBe(2);
  });

  it('shows control characters and terminal escapes from a record escaped, never raw', async () => {
    const dir = temp.dir('ai-visibility-escapes-');
    const record = aiFixture('InvokeModel') as Record<string, unknown> & { userIdentity: Record<string, unknown> };
    writeFileSync(join(dir, 'evil.json'), JSON.stringify({ Records: [{ ...record, userIdentity: { ...record.userIdentity, arn: 'arn:aws:iam::956882123456:user/\u001b]0;owned\u0007\u001b[2J' } }] }));
    const { stdout } = await cli('replay', '--store', store(), dir);
    expect(stdout).not.toMatch(/[\u001b\u0007]/);
    expect(stdout).toContain(printable('\u001b[2J'));
  });
});

describe('stores that cannot be used', () => {
  it.each([
    ['a file', () => {
      const f = join(temp.dir(), 'store-file');
      writeFileSync(f, 'x');
      return f;
    }, /is not a directory/],
    ['under a file', () => {
      const f = join(temp.dir(), 'file');
      writeFileSync(f, 'x');
      return join(f, 'store');
    }, /cannot make the store .*ENOTDIR/],
    ['/dev/null', () => '/dev/null', /is not a directory/],
    ['a corrupt LevelDB', () => {
      const d = temp.dir('ai-visibility-corrupt-');
      writeFileSync(join(d, 'CURRENT'), 'MANIFEST-999999\n');
      return d;
    }, /cannot be opened .*corrupt or in use/],
    ['in use by another command', () => {
      const d = temp.dir('ai-visibility-locked-');
      writeFileSync(join(d, 'ai-visibility.lock'), String(process.pid));
      return d;
    }, /is in use by another ai-visibility command/],
  ])('a store that is %s: one line, exit 1', async (_what, make, message) => {
    const path = make();
    for (const args of [['replay', join(FIXTURES, 'ai')], ['agent', 'arn:aws:iam::111122223333:role/x'], ['lineage', 'arn:aws:s3:::bucket']]) {
      const { code, stderr } = await cli(...args, '--store', path);
      expect(code).toBe(1);
      if (args[0] === 'replay' || !/no local store/.test(stderr)) expect(stderr.trim()).toMatch(message);
      noTrace(stderr);
    }
  });

  it('a lock left by a command that is gone is taken over', async () => {
    const d = temp.dir('ai-visibility-stale-');
    writeFileSync(join(d, 'ai-visibility.lock'), '999999999');
    expect((await cli('replay', '--allow-quarantine', '--store', d, join(FIXTURES, 'ai'))).code).toBe(0);
  });
});

describe('arguments', () => {
  it('an over-long ARN for agent or lineage is a usage error', async () => {
    const long = `arn:aws:iam::111122223333:role/${'r'.repeat(3_000)}`;
    for (const command of ['agent', 'lineage']) {
      const { code, stderr } = await cli(command, long, '--store', store());
      expect(code).toBe(2);
      expect(stderr).toMatch(/the ARN is 3031 characters/);
    }
  });
});

describe('a deployed table that cannot be read', () => {
  const ARN = 'arn:aws:iam::111122223333:role/support-tools-role';
  const VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_ENDPOINT_URL_DYNAMODB'];
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const oneLine = (stderr: string) => {
    noTrace(stderr);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  };

  it('no credentials: one line that says how to give them, exit 1', async () => {
    const dir = temp.dir('ai-visibility-nocreds-');
    for (const v of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[v];
    Object.assign(process.env, { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' });
    const { code, stderr } = await cli('agent', ARN, '--table', 'inventory', '--region', 'eu-west-1');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^no AWS credentials: set AWS_PROFILE/);
    oneLine(stderr);
  });

  it('an endpoint that cannot be reached: one line naming the region, exit 1', async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:9';
    const { code, stderr } = await cli('lineage', 'arn:aws:s3:::training-data', '--table', 'inventory', '--region', 'eu-west-1');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^cannot reach DynamoDB in eu-west-1 \(ECONNREFUSED\)/);
    oneLine(stderr);
  });

  it('a table that does not exist: one line naming it, exit 1', async () => {
    const db = await startLocalDynamoDb({ path: store() });
    try {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
      const { code, stderr } = await cli('agent', ARN, '--table', 'no-such-table', '--region', 'eu-west-1');
      expect(code).toBe(1);
      expect(stderr).toMatch(/^no table no-such-table in eu-west-1/);
      oneLine(stderr);
    } finally {
      await db.close();
    }
  });
});

describe('sweep files', () => {
  const examples = join(__dirname, '..', 'fixtures', 'sweep');
  const inventory = join(examples, 'h200-inventory.json');
  const metrics = join(examples, 'h200-metrics.json');
  const write = (name: string, value: unknown) => {
    const path = join(temp.dir('ai-visibility-sweep-files-'), name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };
  const good = () => localSweep.readInventory(inventory).resources;

  it.each([
    ['a null resource', () => ['--inventory', write('i.json', { resources: [good()[0], null] }), '--metrics', metrics], 'resources[1] of'],
    ['an account given as a number', () => ['--inventory', write('i.json', { resources: [{ ...good()[0], account: 111122223333 }] }), '--metrics', metrics], 'a 12-digit "account" (a string'],
    ['a null series', () => ['--inventory', inventory, '--metrics', write('m.json', { ...localSweep.readMetrics(metrics), series: [null] })], 'series[0] of'],
    ['a negative metric value', () => ['--inventory', inventory, '--metrics', write('m.json', { ...localSweep.readMetrics(metrics), series: [{ ...localSweep.readMetrics(metrics).series[0], points: [{ t: '2025-01-01T00:00:00Z', v: -5 }] }] })], 'has value -5; metric values are non-negative numbers'],
    ['a metric value that is text', () => ['--inventory', inventory, '--metrics', write('m.json', { ...localSweep.readMetrics(metrics), series: [{ ...localSweep.readMetrics(metrics).series[0], points: [{ t: '2025-01-01T00:00:00Z', v: 'high' }] }] })], 'has value "high"'],
  ])('%s is a clear error', async (_what, args, message) => {
    const { code, stderr } = await cli('sweep', ...args());
    expect(code).toBe(1);
    expect(stderr).toContain(message);
    noTrace(stderr);
  });

  it('a sweep with a failed account-region exits 1, naming it', async () => {
    const real = await localSweep.runLocalSweep(inventory, metrics);
    const spy = jest.spyOn(localSweep, 'runLocalSweep').mockResolvedValue({ ...real, summary: { ...real.summary, failedTargets: [{ account: '111122223333', region: 'eu-west-1', error: 'AccessDenied' }] } });
    try {
      const { code, stderr } = await cli('sweep', '--inventory', inventory, '--metrics', metrics, '--json');
      expect(code).toBe(1);
      expect(stderr).toContain('1 account-region(s) failed: 111122223333/eu-west-1: AccessDenied');
    } finally {
      spy.mockRestore();
    }
  }, 60_000);
});
