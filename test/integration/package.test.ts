/**
 * The construct library as a consumer gets it: `npm pack` (which compiles dist/), the tarball
 * unpacked into an empty project's node_modules as npm install would, its dependencies (and the
 * consumer's aws-cdk-lib, constructs, esbuild, typescript) linked from this repository's
 * node_modules so the test needs no network, and a TypeScript app that composes constructs into
 * its own stack, type-checked against the shipped declarations, then synthesized with real
 * esbuild bundling of the shipped handlers.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDirs } from '../support';

const ROOT = join(__dirname, '..', '..');
const temp = useTempDirs();
const run = (command: string, args: string[], options: ExecFileSyncOptions): string => String(execFileSync(command, args, { encoding: 'utf8', stdio: 'pipe', ...options }));

const CONSUMER_APP = `
import { App, Duration, Stack } from 'aws-cdk-lib';
import { AiActivityCapture, AiInventoryTable, GpuUtilizationSweep, type GpuUtilizationSweepProps } from 'ai-visibility';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Consumer', { env: { account: '111122223333', region: 'eu-west-1' } });
const inventory = new AiInventoryTable(stack, 'Inventory', { retain: false });
const capture = new AiActivityCapture(stack, 'Capture', { visibilityTimeout: Duration.minutes(6) });
const sweep: GpuUtilizationSweepProps = { inventory, encryptionKey: capture.key, logRetentionDays: 30, schedule: 'rate(6 hours)' };
new GpuUtilizationSweep(stack, 'Sweep', sweep);
app.synth();
`;

describe('the packed package', () => {
  let consumer: string;
  let tarball: string;

  beforeAll(() => {
    const packed = temp.dir('ai-visibility-pack-');
    // prepack compiles dist/ (tsc -p tsconfig.lib.json).
    const out = run('npm', ['pack', '--json', '--pack-destination', packed], { cwd: ROOT });
    tarball = join(packed, (JSON.parse(out) as Array<{ filename: string }>)[0].filename);
    consumer = temp.dir('ai-visibility-consumer-');
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // NodejsFunction takes the project root from the lock file.
    writeFileSync(join(consumer, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages: {} }));
    const modules = join(consumer, 'node_modules');
    mkdirSync(modules);
    run('tar', ['-xzf', tarball, '-C', consumer], {});
    renameSync(join(consumer, 'package'), join(modules, 'ai-visibility'));
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry.startsWith('.') || entry === 'ai-visibility') continue;
      symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
    }
  }, 300_000);

  it('ships compiled JavaScript with declarations, the handlers and the compiled CLI with its reading thread, not the tests', () => {
    const pkg = join(consumer, 'node_modules', 'ai-visibility');
    for (const f of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lambdas/gpu-sweep/handler.js', 'dist/lib/constructs/gpu-utilization-sweep.d.ts', 'dist/cli/cli.js', 'dist/cli/read-worker.js']) expect([f, existsSync(join(pkg, f))]).toEqual([f, true]);
    expect(existsSync(join(pkg, 'test'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { main: string; types: string; peerDependencies: Record<string, string> };
    expect(manifest).toMatchObject({ main: 'dist/lib/index.js', types: 'dist/lib/index.d.ts' });
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  });

  it("composes into someone else's stack: type-checked against the declarations, synthesized with the handlers bundled", () => {
    writeFileSync(join(consumer, 'app.ts'), CONSUMER_APP);
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', moduleResolution: 'node', strict: true, esModuleInterop: true, skipLibCheck: true, types: ['node'] }, files: ['app.ts'] }));
    run(process.execPath, [join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: consumer });
    run(process.execPath, ['app.js'], { cwd: consumer, env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } });

    const template = JSON.parse(readFileSync(join(consumer, 'cdk.out', 'Consumer.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types).toEqual(expect.arrayContaining(['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::StepFunctions::StateMachine', 'AWS::Scheduler::Schedule', 'AWS::Lambda::Function']));
    const schedule = Object.values(template.Resources).find((r) => r.Type === 'AWS::Scheduler::Schedule')!;
    expect(schedule.Properties.ScheduleExpression).toBe('rate(6 hours)');
    // The sweep's two handlers, bundled by esbuild from the shipped JavaScript into assets.
    const assets = readdirSync(join(consumer, 'cdk.out')).filter((d) => d.startsWith('asset.') && statSync(join(consumer, 'cdk.out', d)).isDirectory());
    const bundles = assets.map((d) => join(consumer, 'cdk.out', d, 'index.js')).filter(existsSync);
    expect(bundles).toHaveLength(2);
    expect(bundles.filter((b) => readFileSync(b, 'utf8').includes('GetMetricData'))).toHaveLength(1);
  }, 120_000);
});
