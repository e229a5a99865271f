/**
 * The sweep's three steps, as the state machine runs them (lib/constructs/gpu-utilization-sweep.ts):
 *
 *   plan        the window (the last `windowMinutes`, whole minutes) and the account-regions
 *   target      (one per account-region, in a Map) discover, measure, judge, record
 *   summarize   count what the targets found; the summary event and the metrics for alarms
 *
 * `target` writes its verdicts to the table and returns only counts, so the state machine's
 * payload stays small however many GPUs there are (Step Functions passes at most 256 KiB).
 */
import { findingItem } from '../classifier/plan';
import { finding } from '../core/findings';
import type { FindingObservation } from '../core/model';
import { keyString, orderKey, type InventoryStore } from '../shared/inventory-store';
import { ENTITY, INDEXES, keys } from '../shared/table-schema';
import { pool } from '../shared/pool';
import { SWEEP_DEFAULTS } from '../core/defaults';

/** Inventory updates of one account-region in flight at once (as the classifier bounds its writes). */
const WRITE_CONCURRENCY = 16;
import { acceleratorsOf } from './catalog';
import type { Discovery, InventorySource } from './discover';
import { mergeTargets } from './discover';
import { fetchMetrics, planQueries, telemetryOf, type MetricReader } from './metrics';
import { DEFAULT_THRESHOLDS, invocationVerdict, resourceVerdict, wastedPerHour, type ResourceVerdict, type Thresholds, type Verdict, VERDICTS } from './verdict';

export interface SweepWindow {
  readonly start: string;
  readonly end: string;
}

export interface AccountRegion {
  readonly account: string;
  readonly region: string;
}

export interface PlanInput {
  /** Set by the local run to the recorded metrics' window; deployed, the sweep takes the last hour. */
  readonly window?: SweepWindow;
}

export interface Plan {
  readonly sweepId: string;
  readonly window: SweepWindow;
  readonly period: number;
  readonly targets: ReadonlyArray<AccountRegion & { readonly sweepId: string; readonly window: SweepWindow; readonly period: number }>;
}

export function plan(input: PlanInput, settings: { windowMinutes: number; targets: readonly AccountRegion[] }, now: number): Plan {
  const end = input.window?.end ?? new Date(Math.floor(now / 60_000) * 60_000).toISOString();
  const start = input.window?.start ?? new Date(Date.parse(end) - settings.windowMinutes * 60_000).toISOString();
  const window = { start, end };
  const sweepId = `sweep-${end.replace(/[-:.]/g, '')}`;
  return { sweepId, window, period: 60, targets: settings.targets.map((t) => ({ ...t, sweepId, window, period: 60 })) };
}

/** What a sweep counts, per account-region and in all. */
export interface SweepCounts {
  readonly resources: number;
  readonly verdicts: Readonly<Record<Verdict, number>>;
  /** Accelerators of idle and memory-held-idle resources. */
  readonly idleAccelerators: number;
  readonly wastedPerHour: number;
  readonly metricQueries: number;
  readonly getMetricDataCalls: number;
  readonly getMetricDataRequests: number;
  readonly findings: number;
}

export interface TargetResult extends AccountRegion, SweepCounts {
  readonly sweepId: string;
  readonly accelerators: number;
  readonly failed?: false;
}

export interface TargetDependencies {
  readonly discovery: Discovery;
  readonly inventory: InventorySource;
  readonly metrics: MetricReader;
  readonly store: InventoryStore;
  readonly thresholds?: Thresholds;
  readonly prices?: Readonly<Record<string, number>>;
  /** Days a utilization record is kept. @default 90 */
  readonly historyDays?: number;
}

export const FINDING_OF: Partial<Record<Verdict, 'gpu-idle' | 'gpu-memory-held-idle' | 'gpu-underutilized' | 'gpu-no-telemetry'>> = {
  idle: 'gpu-idle',
  'memory-held-idle': 'gpu-memory-held-idle',
  underutilized: 'gpu-underutilized',
  'no-telemetry': 'gpu-no-telemetry',
};

export interface RecordedVerdict {
  readonly resource: string;
  readonly kind: string;
  readonly instanceType: string | null;
  readonly instanceCount: number;
  readonly verdict: Verdict;
  readonly gpuUtilization: number | null;
  readonly gpuMemoryUsedPct: number | null;
  readonly cpuUtilization: number | null;
  readonly accelerators: ResourceVerdict['accelerators'];
  readonly wastedPerHour: number | null;
  readonly pricePerHour: number | null;
  readonly priceBasis: string;
  readonly foundBy: readonly string[];
  readonly evidence: readonly string[];
}

const SUMMARY = (v: Verdict, r: RecordedVerdict, window: SweepWindow) => {
  const cost = r.wastedPerHour ? `, about $${r.wastedPerHour.toFixed(2)} an hour wasted (${r.priceBasis})` : '';
  switch (v) {
    case 'idle':
      return `${r.kind} ${r.resource} (${r.instanceType ?? 'unknown type'}) was idle from ${window.start} to ${window.end}: mean GPU utilization ${r.gpuUtilization ?? 0}%${cost}.`;
    case 'memory-held-idle':
      return `${r.kind} ${r.resource} (${r.instanceType ?? 'unknown type'}) holds ${r.gpuMemoryUsedPct}% of its GPU memory but computed nothing from ${window.start} to ${window.end} (mean GPU utilization ${r.gpuUtilization}%): a forgotten session or a stuck job${cost}.`;
    case 'underutilized':
      return `${r.kind} ${r.resource} (${r.instanceType ?? 'unknown type'}) used its GPUs ${r.gpuUtilization}% on average from ${window.start} to ${window.end}${cost}.`;
    default:
      return `${r.kind} ${r.resource} (${r.instanceType ?? 'unknown type'}) has accelerators but no GPU metrics: its use cannot be seen${r.pricePerHour ? ` ($${r.pricePerHour.toFixed(2)} an hour at stake)` : ''}.`;
  }
};

/** Discover, measure, judge and record one account and region. */
export async function sweepTarget(input: Plan['targets'][number], deps: TargetDependencies): Promise<TargetResult> {
  const { account, region, window, sweepId, period } = input;
  const thresholds = deps.thresholds ?? DEFAULT_THRESHOLDS;
  const [discovered, known] = await Promise.all([deps.discovery.discover(account, region), deps.inventory.gpuInstances(account, region)]);
  // What the inventory knows of every target: its instance type and state, and the last sweep's verdict.
  const stored = await deps.store.getItems([...new Set([...discovered, ...known].map((t) => t.arn))].map((arn) => keys.resource(arn)));
  const item = (arn: string) => stored.get(keyString(keys.resource(arn)));
  const types = new Map(known.flatMap((t) => (typeof item(t.arn)?.instanceType === 'string' ? [[t.arn, item(t.arn)!.instanceType as string] as const] : [])));
  // Every target is judged: one whose type the catalog does not know is reported, not dropped.
  const targets = mergeTargets(
    discovered,
    known.filter((t) => !['stopped', 'stopping', 'terminated', 'shutting-down'].includes(String(item(t.arn)?.instanceState ?? ''))),
    types,
  );

  const queries = planQueries(targets, period);
  const fetched = await fetchMetrics(deps.metrics, queries, window, period);
  const at = { time: window.end, eventId: sweepId };
  const verdicts: RecordedVerdict[] = targets.map((t) => {
    const telemetry = telemetryOf(t, queries, fetched);
    const acc = t.instanceType ? acceleratorsOf(t.instanceType, deps.prices) : undefined;
    const perInstance = acc?.count ?? 0;
    // EC2 reports each GPU; SageMaker one average per endpoint variant or training host; notebooks nothing.
    const v =
      t.kind === 'provisioned-throughput'
        ? invocationVerdict(telemetry.invocations ?? [])
        : t.kind === 'gpu-instance'
          ? resourceVerdict(telemetry.accelerators, perInstance || 1, thresholds)
          : t.kind === 'notebook'
            ? resourceVerdict([], perInstance || 1, thresholds, 'accelerator')
            : resourceVerdict(telemetry.accelerators, Math.max(1, telemetry.accelerators.length), thresholds, t.kind === 'training-job' ? 'host' : 'endpoint variant');
    const price = acc?.pricePerHour === undefined ? undefined : acc.pricePerHour * (t.kind === 'gpu-instance' ? 1 : (t.instanceCount ?? 1));
    return {
      resource: t.arn,
      kind: t.kind,
      instanceType: t.instanceType ?? null,
      instanceCount: t.kind === 'gpu-instance' ? 1 : (t.instanceCount ?? 1),
      verdict: v.verdict,
      gpuUtilization: v.gpuUtilization,
      gpuMemoryUsedPct: v.gpuMemoryUsedPct,
      cpuUtilization: telemetry.cpuUtilization,
      accelerators: v.accelerators,
      wastedPerHour: wastedPerHour(v, price),
      pricePerHour: price ?? null,
      priceBasis: acc?.priceBasis ?? 'unknown',
      foundBy: t.foundBy,
      evidence: [
        ...v.evidence,
        ...(t.instanceType === undefined && t.kind === 'gpu-instance' ? ['instance type unknown: the inventory has it, discovery did not see it running'] : []),
        ...(t.instanceType !== undefined && !acc ? [`instance type ${t.instanceType} is not in the accelerator catalog (lambdas/gpu-sweep/catalog.ts): GPU count and price unknown`] : []),
      ],
    };
  });

  // Findings when a resource enters a wasteful verdict (not again every hour it stays there).
  const findings: FindingObservation[] = [];
  for (const r of verdicts) {
    const rule = FINDING_OF[r.verdict];
    const before = (item(r.resource)?.lastSweep as { verdict?: string } | undefined)?.verdict;
    if (!rule || before === r.verdict) continue;
    findings.push(
      finding(rule, { eventId: sweepId, time: window.end, account, region }, {
        resource: r.resource,
        principal: null,
        summary: SUMMARY(r.verdict, r, window),
        signals: [
          { eventName: 'gpu-sweep', path: 'gpuUtilization', value: r.gpuUtilization },
          { eventName: 'gpu-sweep', path: 'gpuMemoryUsedPct', value: r.gpuMemoryUsedPct },
          { eventName: 'gpu-sweep', path: 'wastedPerHour', value: r.wastedPerHour },
          ...r.evidence.map((e) => ({ eventName: 'gpu-sweep', path: 'evidence', value: e })),
        ],
      }),
    );
  }

  const expiresAt = Math.floor(Date.parse(window.end) / 1000) + (deps.historyDays ?? SWEEP_DEFAULTS.historyDays) * 86_400;
  const history = verdicts.map((r) => ({ ...keys.utilization(r.resource, window.end, sweepId), entity: ENTITY.utilization, sweepId, window, account, region, ...r, expiresAt, [INDEXES.byKind.partitionKey]: `SWEEP#${sweepId}`, [INDEXES.byKind.sortKey]: r.resource }));
  const failed = await deps.store.putItems([...history, ...findings.map(findingItem)]);
  if (failed.length) throw new Error(`${failed.length} sweep record(s) not written`);
  await pool(verdicts, WRITE_CONCURRENCY, async (r) => {
    const lastSweep = { verdict: r.verdict, gpuUtilization: r.gpuUtilization, gpuMemoryUsedPct: r.gpuMemoryUsedPct, wastedPerHour: r.wastedPerHour, window, sweepId };
    await deps.store.writeEntity({
      key: keys.resource(r.resource),
      head: at,
      first: at,
      latest: {},
      attributes: { lastSweep: { value: lastSweep, at: orderKey(at) } },
      earliest: {},
      // A resource the events never showed enters the inventory through the sweep.
      fill: {
        entity: ENTITY.resource,
        arn: r.resource,
        kind: r.kind,
        service: r.resource.split(':')[2],
        account,
        region,
        status: 'active',
        signals: [{ eventName: 'gpu-sweep', path: 'foundBy', value: r.foundBy.join(',') }],
        discoveredBy: 'gpu-sweep',
        ...(r.instanceType ? { instanceType: r.instanceType } : {}),
        [INDEXES.byKind.partitionKey]: `KIND#${r.kind}`,
        [INDEXES.byKind.sortKey]: r.resource,
        [INDEXES.byAccount.partitionKey]: `ACCOUNT#${account}`,
        [INDEXES.byAccount.sortKey]: `RESOURCE#${r.kind}#${r.resource}`,
      },
      sticky: {},
      addToSet: {},
      onlyIfKnown: false,
    });
  });

  const count = Object.fromEntries(VERDICTS.map((v) => [v, verdicts.filter((r) => r.verdict === v).length])) as Record<Verdict, number>;
  const acceleratorsOfVerdict = (r: RecordedVerdict) => (r.instanceType ? (acceleratorsOf(r.instanceType)?.count ?? 0) : 0) * r.instanceCount;
  return {
    account,
    region,
    sweepId,
    resources: verdicts.length,
    accelerators: verdicts.reduce((n, r) => n + acceleratorsOfVerdict(r), 0),
    verdicts: count,
    idleAccelerators: verdicts.filter((r) => r.verdict === 'idle' || r.verdict === 'memory-held-idle').reduce((n, r) => n + acceleratorsOfVerdict(r), 0),
    wastedPerHour: Math.round(verdicts.reduce((s, r) => s + (r.wastedPerHour ?? 0), 0) * 100) / 100,
    metricQueries: queries.length,
    getMetricDataCalls: fetched.calls,
    getMetricDataRequests: fetched.requests,
    findings: findings.length,
  };
}

export interface FailedTarget extends AccountRegion {
  readonly sweepId: string;
  readonly failed: true;
  readonly error: string;
}

export interface SweepSummary extends SweepCounts {
  readonly sweepId: string;
  readonly window: SweepWindow;
  readonly targets: number;
  readonly failedTargets: ReadonlyArray<AccountRegion & { readonly error: string }>;
}

export function summarize(plan: Pick<Plan, 'sweepId' | 'window'>, results: ReadonlyArray<TargetResult | FailedTarget>): SweepSummary {
  const ok = results.filter((r): r is TargetResult => !r.failed);
  const sum = (f: (r: TargetResult) => number) => ok.reduce((s, r) => s + f(r), 0);
  return {
    sweepId: plan.sweepId,
    window: plan.window,
    targets: results.length,
    failedTargets: results.filter((r): r is FailedTarget => r.failed === true).map((r) => ({ account: r.account, region: r.region, error: r.error })),
    resources: sum((r) => r.resources),
    verdicts: Object.fromEntries(VERDICTS.map((v) => [v, sum((r) => r.verdicts[v])])) as Record<Verdict, number>,
    idleAccelerators: sum((r) => r.idleAccelerators),
    wastedPerHour: Math.round(sum((r) => r.wastedPerHour) * 100) / 100,
    metricQueries: sum((r) => r.metricQueries),
    getMetricDataCalls: sum((r) => r.getMetricDataCalls),
    getMetricDataRequests: sum((r) => r.getMetricDataRequests),
    findings: sum((r) => r.findings),
  };
}
