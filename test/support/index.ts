/**
 * What tests need around them, in one place, each cleaned up after the test file:
 * - `useTempDirs()`: temporary directories, removed in `afterAll`;
 * - `useSynth()`: CDK apps that synthesize into one of those directories (an `App` without
 *   `outdir` writes a `cdk.out*` directory into the system temp dir and leaves it there),
 *   with asset bundling skipped (CI runs one real `cdk synth` that bundles);
 * - `cliRunner()`: the `ai-visibility` CLI in-process, its output captured.
 *
 * After `npm test` the system temp directory holds nothing new (test/unit/boundaries checks the
 * rule for the code; this module is how tests keep it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { main } from '../../bin/cli';

/** Synthesis without asset bundling (`aws:cdk:bundling-stacks` empty). */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

export interface TempDirs {
  /** A new empty directory, removed with the others after the test file. */
  dir(prefix?: string): string;
  /** Remove every directory made so far (afterAll does it too). */
  cleanup(): void;
}

/** Temporary directories for one test file; call at the top level (it registers `afterAll`). */
export function useTempDirs(): TempDirs {
  const made: string[] = [];
  const temp: TempDirs = {
    dir(prefix = 'ai-visibility-test-') {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
  afterAll(() => temp.cleanup());
  return temp;
}

/** CDK apps whose synthesized output lands in a temporary directory removed after the test file. */
export function useSynth(temp: TempDirs = useTempDirs()): { app(props?: AppProps): App; nag(build: (app: App) => void): void; temp: TempDirs } {
  const app = (props: AppProps = {}) => new App({ ...props, outdir: temp.dir('ai-visibility-cdk-out-'), context: { ...NO_BUNDLING, ...props.context } });
  return {
    temp,
    app,
    /** Build into a fresh app and synthesize it with cdk-nag's AwsSolutions checks: throws on any unacknowledged finding. */
    nag(build) {
      const a = app();
      build(a);
      Validations.of(a).addPlugins(new AwsSolutionsChecks(a));
      a.synth();
    },
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The CLI in-process. With `store`, every call gets `--store <store>` appended (unless it names
 * one itself), so nothing lands in the working tree's default store.
 */
export function cliRunner(options: { store?: string } = {}): (...args: string[]) => Promise<CliResult> {
  return async (...args) => {
    let stdout = '';
    let stderr = '';
    const withStore = options.store && !args.some((a) => a === '--store' || a.startsWith('--store=')) ? [...args, '--store', options.store] : args;
    const code = await main(withStore, (t) => (stdout += t), (t) => (stderr += t));
    return { code, stdout, stderr };
  };
}

/**
 * A replay report without the wall-clock fields that differ between runs (the change feed's
 * publish time of each domain event, and its `changedAt`): equal for equal reports.
 */
export function comparableReport(report: { events?: Array<Record<string, unknown>> } & Record<string, unknown>): unknown {
  return {
    ...report,
    events: (report.events ?? []).map(({ time: _time, detail, ...rest }) => {
      const { changedAt: _changedAt, ...kept } = (detail ?? {}) as Record<string, unknown>;
      return { ...rest, detail: kept };
    }),
  };
}
