/**
 * The GPU sweep on a laptop: the synthesized state-machine definition run by
 * aws-local-stepfunctions, its Task states bound to the sweep Lambda's own handler, over a
 * recorded inventory (what discovery would list) and recorded metric data (what GetMetricData
 * would return), against an embedded DynamoDB. docs/gpu-sweep.md describes both file formats.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Context } from 'aws-lambda';
import type { GetMetricDataCommandInput, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { GpuUtilizationSweep } from '../../lib/constructs/gpu-utilization-sweep';
import { AiInventoryTable } from '../../lib/constructs/inventory-table';
import { SWEEP_KINDS, type MetricReader, type SweepTarget } from '../../lambdas/gpu-sweep/metrics';
import type { Discovery } from '../../lambdas/gpu-sweep/discover';
import type { RecordedVerdict, SweepSummary } from '../../lambdas/gpu-sweep/sweep';
import { controlsOf, keys, keyString, readRemediation, readResource, readUtilization, sweptResourceFill, type RemediationItem } from '../../lambdas/shared/items';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { CONTROL_TAGS } from '../../lambdas/core/constants';
import { REMEDIATION_DEFAULTS, type RemediationSettings } from '../../lambdas/core/remediation';
import { lambdaContext } from '../replay/lambda-shapes';
import { startLocalDynamoDb, type LocalDynamoDb } from '../replay/local-dynamodb';
import { LOCAL_TABLE_NAME, localChangeFeed, type PublishedEvent } from '../handlers';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { DEFAULT_SWEEP_ENVIRONMENT, GPU_SWEEP_SERVICE } from '../../lambdas/gpu-sweep/environment';
import { createSweepControlHandler, type SweepClients, type SweepEvent, type SweepHandler } from '../../lambdas/gpu-sweep/handler';
import { createSweepTargetHandler } from '../../lambdas/gpu-sweep/target-handler';
import { scanTable } from '../replay/report';

export class SweepInputError extends Error {}

export interface RecordedInventory {
  /** Each may carry `tags` (its control tags: ai-visibility:idle-action, expected-idle, ignore, owner), for a store that has not learned them from events. */
  readonly resources: ReadonlyArray<Omit<SweepTarget, 'foundBy'> & { readonly tags?: Readonly<Record<string, string>> }>;
}

export interface RecordedSeries {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** The statistic the points are (Average, Sum, Maximum...). */
  readonly stat: string;
  readonly points: ReadonlyArray<{ readonly t: string; readonly v: number }>;
}

export interface RecordedMetrics {
  readonly window: { readonly start: string; readonly end: string };
  readonly period?: number;
  readonly series: readonly RecordedSeries[];
}

function readJsonFile<T>(path: string, what: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SweepInputError(`cannot read the ${what} file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new SweepInputError(`the ${what} file ${path} is not JSON: ${(error as Error).message}`);
  }
}

export function readInventory(path: string): RecordedInventory {
  const inv = readJsonFile<RecordedInventory>(path, 'inventory');
  if (!Array.isArray(inv?.resources)) throw new SweepInputError(`the inventory file ${path} has no "resources" list`);
  inv.resources.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new SweepInputError(`resources[${i}] of ${path} is ${r === null ? 'null' : `a ${Array.isArray(r) ? 'list' : typeof r}`}, not a resource object`);
    const problems = [
      typeof r.arn === 'string' && r.arn.startsWith('arn:') ? '' : 'an "arn"',
      (SWEEP_KINDS as readonly string[]).includes(r.kind) ? '' : `a "kind" (one of ${SWEEP_KINDS.join(', ')})`,
      typeof r.account === 'string' && /^\d{12}$/.test(r.account) ? '' : 'a 12-digit "account" (a string: account ids keep their leading zeros)',
      typeof r.region === 'string' && r.region ? '' : 'a "region"',
      typeof r.name === 'string' && r.name ? '' : 'a "name"',
      r.tags === undefined || (typeof r.tags === 'object' && r.tags !== null && !Array.isArray(r.tags) && Object.values(r.tags).every((v) => typeof v === 'string')) ? '' : '"tags" that map keys to string values (when given)',
    ].filter(Boolean);
    if (problems.length) throw new SweepInputError(`resources[${i}] of ${path} needs ${problems.join(', ')}`);
  });
  return inv;
}

export function readMetrics(path: string): RecordedMetrics {
  const m = readJsonFile<RecordedMetrics>(path, 'metrics');
  if (!m?.window || Number.isNaN(Date.parse(m.window.start)) || Number.isNaN(Date.parse(m.window.end)) || Date.parse(m.window.start) >= Date.parse(m.window.end)) {
    throw new SweepInputError(`the metrics file ${path} needs a "window" with ISO "start" before "end"`);
  }
  if (!Array.isArray(m.series)) throw new SweepInputError(`the metrics file ${path} has no "series" list`);
  m.series.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new SweepInputError(`series[${i}] of ${path} is ${s === null ? 'null' : `a ${Array.isArray(s) ? 'list' : typeof s}`}, not a series object`);
    const name = `series[${i}] (${String(s.namespace)} ${String(s.metricName)})`;
    if (typeof s.namespace !== 'string' || typeof s.metricName !== 'string' || typeof s.stat !== 'string' || typeof s.dimensions !== 'object' || s.dimensions === null) {
      throw new SweepInputError(`${name} of ${path} needs a "namespace", a "metricName", a "stat" and "dimensions"`);
    }
    if (!Array.isArray(s.points)) throw new SweepInputError(`${name} of ${path} has no "points" list`);
    (s.points as readonly unknown[]).forEach((p: unknown, j: number) => {
      const point = typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
      if (Number.isNaN(Date.parse(String(point.t)))) throw new SweepInputError(`${name} of ${path}: points[${j}] needs an ISO "t"`);
      if (typeof point.v !== 'number' || !Number.isFinite(point.v) || point.v < 0) throw new SweepInputError(`${name} of ${path}: points[${j}] has value ${JSON.stringify(point.v) ?? 'none'}; metric values are non-negative numbers`);
    });
  });
  return m;
}

const sameDimensions = (a: Readonly<Record<string, string>>, b: ReadonlyArray<{ Name?: string; Value?: string }>) =>
  Object.keys(a).length === b.length && b.every((d) => d.Name !== undefined && a[d.Name] === d.Value);

/** GetMetricData answered from recorded series: each query gets the series with its namespace, name, dimensions and statistic. */
export function recordedMetricReader(metrics: RecordedMetrics): MetricReader & { requests: GetMetricDataCommandInput[] } {
  const requests: GetMetricDataCommandInput[] = [];
  return {
    requests,
    async getMetricData(input) {
      requests.push(input);
      const from = input.StartTime!.getTime();
      const to = input.EndTime!.getTime();
      const results: MetricDataResult[] = (input.MetricDataQueries ?? []).map((q) => {
        const m = q.MetricStat;
        const series = metrics.series.find((s) => s.namespace === m?.Metric?.Namespace && s.metricName === m?.Metric?.MetricName && s.stat === m?.Stat && sameDimensions(s.dimensions, m?.Metric?.Dimensions ?? []));
        const points = (series?.points ?? []).filter((p) => Date.parse(p.t) >= from && Date.parse(p.t) < to).sort((a, b) => a.t.localeCompare(b.t));
        return { Id: q.Id, Label: m?.Metric?.MetricName, StatusCode: 'Complete', Timestamps: points.map((p) => new Date(p.t)), Values: points.map((p) => p.v) };
      });
      return { MetricDataResults: results };
    },
  };
}

/** The function ARN written into the local definition (its Task states run the local handler instead). */
const LOCAL_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:ai-visibility-gpu-sweep-local';

/**
 * The sweep state machine's definition as the GpuUtilizationSweep construct synthesizes it (in a
 * stack of its own, with the table it reads), the function ARN filled in.
 */
export function synthesizedSweepDefinition(): Record<string, unknown> {
  // Synthesized into a directory of its own, removed right after (an App without outdir leaves one in the temp dir).
  const outdir = mkdtempSync(join(tmpdir(), 'ai-visibility-sweep-synth-'));
  let template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'AiVisibilitySweep', { env: { account: '000000000000', region: 'us-east-1' } });
    new GpuUtilizationSweep(stack, 'GpuSweep', { inventory: new AiInventoryTable(stack, 'Inventory'), encryptionKey: new kms.Key(stack, 'Key'), logRetentionDays: 1 });
    template = app.synth().getStackByName(stack.stackName).template as typeof template;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  const machine = Object.values(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (!machine) throw new Error('the stack has no state machine');
  const definition = machine.Properties.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof definition === 'string' ? definition : definition['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : LOCAL_FUNCTION_ARN)).join(definition['Fn::Join'][0]);
  return JSON.parse(text) as Record<string, unknown>;
}

/** The remediation in dry run: what this sweep would do, and what is tagged and idle but not yet due. */
export interface LocalRemediation {
  readonly idleSweeps: number;
  readonly planned: RemediationItem[];
  readonly pending: ReadonlyArray<{ readonly resource: string; readonly idleAction: string; readonly idleSweeps: number }>;
}

export interface LocalSweepResult {
  readonly summary: SweepSummary;
  readonly verdicts: RecordedVerdict[];
  readonly remediation: LocalRemediation;
  readonly getMetricDataRequests: number;
  readonly stateTransitions: number;
  readonly retries: number;
  /** The domain events the sweep's writes produced (the change feed, run locally). */
  readonly events: PublishedEvent[];
}

export function polyfillWithResolvers(): void {
  // aws-local-stepfunctions uses Promise.withResolvers (Node.js 22); polyfill it on Node.js 20.
  const P = Promise as unknown as { withResolvers?: () => unknown };
  P.withResolvers ??= () => {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
}

export interface SweepRun {
  readonly summary: SweepSummary;
  /** States entered: what a Standard workflow bills. */
  readonly stateTransitions: number;
  readonly retries: number;
}

/**
 * Run the synthesized sweep state machine, its Task states bound to the sweep Lambda's own
 * handler built with `clients`, over the account-regions of `pairs`.
 */
export async function runSweepStateMachine(options: {
  readonly pairs: readonly string[];
  readonly window: { readonly start: string; readonly end: string };
  readonly clients: Partial<SweepClients>;
  readonly tableName?: string;
  readonly retryIntervalMs?: number;
  readonly logLevel?: string;
  readonly remediation?: RemediationSettings;
}): Promise<SweepRun> {
  polyfillWithResolvers();
  const { StateMachine } = await import('aws-local-stepfunctions');
  let published: SweepSummary | undefined;
  const publish = async (summary: SweepSummary) => {
    published = summary;
  };
  const handler = localSweepHandler({ pairs: options.pairs, tableName: options.tableName, logLevel: options.logLevel, clients: { publish, ...options.clients }, remediation: options.remediation });
  const context: Context = lambdaContext('ai-visibility-gpu-sweep-local');
  const local = async (input: unknown) => (await handler(input as SweepEvent, context)) as unknown as Record<string, unknown>;
  const machine = new StateMachine(synthesizedSweepDefinition() as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run({ window: options.window } as never, {
    overrides: {
      // Task states by name, bound to the Lambda's own handler.
      taskResourceLocalHandlers: { Plan: local, SweepTarget: local, Summarize: local } as never,
      ...(options.retryIntervalMs !== undefined ? { retryIntervalOverrides: { SweepTarget: options.retryIntervalMs } } : {}),
    },
  });
  let transitions = 0;
  let retries = 0;
  const counting = (async () => {
    for await (const e of execution.eventLogs) {
      if (e.type === 'StateEntered') transitions++;
      if (e.type === 'StateRetried') retries++;
    }
  })();
  // The state machine's output is Summarize's result: the summary.
  const output = (await execution.result) as unknown as SweepSummary;
  await counting;
  const summary = published ?? output;
  return { summary, stateTransitions: transitions, retries };
}

/** The inventory file's control tags, as resource items the sweep reads (where the store has none yet). */
async function seedControlTags(db: LocalDynamoDb, inventory: RecordedInventory): Promise<void> {
  const tagged = inventory.resources.filter((r) => r.tags && Object.keys(r.tags).length > 0);
  if (tagged.length === 0) return;
  const store = createInventoryStore(db.documents, LOCAL_TABLE_NAME);
  const existing = await store.getItems(tagged.map((r) => keys.resource(r.arn)));
  const items = tagged
    .filter((r) => !existing.has(keyString(keys.resource(r.arn))))
    .map((r) => ({
      ...keys.resource(r.arn),
      ...sweptResourceFill({ arn: r.arn, kind: r.kind, account: r.account, region: r.region, instanceType: r.instanceType ?? null, foundBy: ['inventory'] }),
      ...Object.fromEntries(CONTROL_TAGS.flatMap((c) => (r.tags && Object.hasOwn(r.tags, c.key) ? [[c.attribute, r.tags[c.key]]] : []))),
    }));
  const failed = await store.putItems(items);
  if (failed.length) throw new Error(`${failed.length} tagged resource(s) of the inventory not written`);
}

/** Run the synthesized sweep over recorded files. */
export async function runLocalSweep(
  inventoryPath: string,
  metricsPath: string,
  options: {
    storePath?: string;
    logLevel?: string;
    /** Discovery per account-region. @default the inventory file's resources of that account-region */
    discovery?: (account: string, region: string, recorded: readonly SweepTarget[]) => Discovery;
    /** Milliseconds between retries of a throttled target (tests). @default the definition's backoff */
    retryIntervalMs?: number;
    /** Consecutive idle sweeps before the (dry-run) remediation plans an action. @default 3, as deployed */
    idleSweeps?: number;
  } = {},
): Promise<LocalSweepResult> {
  const inventory = readInventory(inventoryPath);
  const metrics = readMetrics(metricsPath);
  const reader = recordedMetricReader(metrics);
  const db = await startLocalDynamoDb({ path: options.storePath });
  try {
    if (!(await db.hasTable(LOCAL_TABLE_NAME))) await db.createInventoryTable(LOCAL_TABLE_NAME);
    await seedControlTags(db, inventory);
    const changeFeed = localChangeFeed(db, LOCAL_TABLE_NAME, options.logLevel);
    const remediation: RemediationSettings = { mode: 'dry-run', idleSweeps: options.idleSweeps ?? REMEDIATION_DEFAULTS.idleSweeps };
    const run = await runSweepStateMachine({
      remediation,
      pairs: [...new Set(inventory.resources.map((r) => `${r.account}:${r.region}`))],
      window: metrics.window,
      retryIntervalMs: options.retryIntervalMs,
      logLevel: options.logLevel,
      clients: {
        dynamodb: db.client,
        forTarget: (account, region) => {
          const recorded = inventory.resources.filter((r) => r.account === account && r.region === region).map((r) => ({ ...r, foundBy: ['discovery' as const] }));
          return { discovery: options.discovery?.(account, region, recorded) ?? { discover: async () => recorded }, metrics: reader };
        },
      },
    });
    const { summary } = run;
    const problems = await changeFeed.drain();
    changeFeed.close();
    if (problems.length) throw new Error(`change feed: ${problems.map((p) => p.reason).join('; ')}`);
    const verdicts: RecordedVerdict[] = (await scanTable(db.documents, LOCAL_TABLE_NAME))
      .flatMap((i) => {
        const u = readUtilization(i);
        if (!u || u.sweepId !== summary.sweepId) return [];
        const { resource, kind, instanceType, verdict, gpuUtilization, gpuMemoryUsedPct, cpuUtilization, accelerators, wastedPerHour, pricePerHour, priceBasis, foundBy, evidence, instanceCount, expectedIdle } = u;
        return [{ resource, kind, instanceType, instanceCount, verdict, gpuUtilization, gpuMemoryUsedPct, cpuUtilization, accelerators, wastedPerHour, pricePerHour, priceBasis, foundBy, evidence, ...(expectedIdle ? { expectedIdle } : {}) }];
      })
      .sort((a, b) => a.resource.localeCompare(b.resource));
    const items = await scanTable(db.documents, LOCAL_TABLE_NAME);
    const planned = items.flatMap((i) => readRemediation(i) ?? []).filter((r) => r.sweepId === summary.sweepId);
    const pending = items.flatMap((i) => {
      const r = readResource(i);
      const action = r ? controlsOf(r.configuration).idleAction : null;
      const streak = r?.lastSweep?.idleSweeps ?? 0;
      return r && action && streak > 0 && !planned.some((p) => p.resource === r.arn) ? [{ resource: r.arn, idleAction: action, idleSweeps: streak }] : [];
    });
    return { summary, verdicts, remediation: { idleSweeps: remediation.idleSweeps, planned, pending }, getMetricDataRequests: reader.requests.length, stateTransitions: run.stateTransitions, retries: run.retries, events: changeFeed.bus.events };
  } finally {
    await db.close();
  }
}

/** The deployed sweep functions over `pairs` (account:region), with the clients given: SweepTarget to the target function, Plan and Summarize to the other. */
/* Here rather than in ../handlers.ts: the replay loads that module, and the sweep's SDK clients (EC2, SageMaker) are a quarter second it does not need. */
export function localSweepHandler(options: { pairs: readonly string[]; tableName?: string; logLevel?: string; clients: Partial<SweepClients>; remediation?: RemediationSettings }): SweepHandler {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const env = {
    ...houseEnvironment(GPU_SWEEP_SERVICE),
    TABLE_NAME: options.tableName ?? LOCAL_TABLE_NAME,
    SWEEP_TARGETS: options.pairs.join(',') || '000000000000:us-east-1',
    SUMMARY_EVENT_BUS: 'default',
    ...DEFAULT_SWEEP_ENVIRONMENT,
    ...(options.remediation ? { REMEDIATION_MODE: options.remediation.mode, REMEDIATION_IDLE_SWEEPS: String(options.remediation.idleSweeps) } : {}),
  };
  // No tag lookups locally (no AWS): the events and the inventory file's tags decide.
  const clients = { logLevel: options.logLevel ?? 'ERROR', tagLookup: null, ...options.clients };
  const control = createSweepControlHandler(env, clients);
  const target = createSweepTargetHandler(env, clients);
  return (event, context) => (event.step === 'target' ? target(event, context) : control(event, context));
}
