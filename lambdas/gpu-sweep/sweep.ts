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
import { finding } from '../core/findings';
import type { FindingObservation } from '../core/model';
import { SWEEP_DEFAULTS } from '../core/defaults';
import type { RecordedVerdict, SweepWindow } from '../core/utilization';
import { orderKey, type InventoryStore } from '../shared/inventory-store';
import { controlsOf, findingItem, keys, keyString, lastSweepOf, readResource, remediationItem, sweptResourceFill, utilizationItem, type LookedUpTags, type RemediationItem, type ResourceItem } from '../shared/items';
import type { LookupRequest } from '../shared/tag-lookup';
import { nextIdleStreak, planRemediation, REMEDIATION_DEFAULTS, type RemediationSettings } from '../core/remediation';
import { pool } from '../shared/pool';
import { acceleratorsOf } from '../core/accelerators';
import type { Discovery, InventorySource } from './discover';
import { mergeTargets } from './discover';
import { fetchMetrics, planQueries, telemetryOf, type FetchedMetrics, type MetricReader, type PlannedQuery, type SweepTarget } from './metrics';
import { DEFAULT_THRESHOLDS, invocationVerdict, resourceVerdict, wastedPerHour, type Thresholds, type Verdict, VERDICTS } from './verdict';

/** Inventory updates of one account-region in flight at once (as the classifier bounds its writes). */
const WRITE_CONCURRENCY = 16;

export type { SweepWindow };

export interface AccountRegion {
  readonly account: string;
  readonly region: string;
  /** Organization mode: the account's name and OU path, as Organizations listed them (recorded by the target step). */
  readonly directory?: { readonly name: string; readonly ouPath: readonly string[] };
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
  /** Tags looked up for what the events never tagged (expected-idle, idle-action set before the deploy). @default none */
  readonly tagLookup?: (request: LookupRequest) => Promise<Map<string, LookedUpTags>>;
  /** The opt-in remediation of idle accelerators (core/remediation.ts). @default off */
  readonly remediation?: { readonly settings: RemediationSettings; readonly actions?: RemediationActions };
}

/** What the remediation may do (the target function's role may do it only to resources tagged idle-action=stop). */
export interface RemediationActions {
  stopInstance(region: string, instanceId: string): Promise<void>;
  stopNotebook(region: string, name: string): Promise<void>;
}

type Streak = { idleSweeps: number; idleSince: string | null };

/**
 * The remediation of this sweep's idle resources: each plan acted on (mode `on`) or not (dry
 * run, notify), recorded with who, what, why, when and how to undo it, and a finding so it is
 * notified like any other.
 */
async function remediate(verdicts: readonly RecordedVerdict[], stored: Stored, looked: ReadonlyMap<string, LookedUpTags>, streaks: ReadonlyMap<string, Streak>, sweep: { sweepId: string; window: SweepWindow; account: string; region: string }, deps: TargetDependencies): Promise<{ items: RemediationItem[]; findings: FindingObservation[] }> {
  const settings = deps.remediation?.settings ?? REMEDIATION_DEFAULTS;
  const items: RemediationItem[] = [];
  const findings: FindingObservation[] = [];
  if (settings.mode === 'off') return { items, findings };
  for (const r of verdicts) {
    const streak = streaks.get(r.resource) ?? { idleSweeps: 0, idleSince: null };
    const controls = controlsOf(stored.get(r.resource)?.configuration, looked.get(r.resource));
    const plan = planRemediation({ resource: r.resource, kind: r.kind, region: sweep.region, verdict: r.verdict, ...streak, idleAction: controls.idleAction, expectedIdle: Boolean(r.expectedIdle), gpuUtilization: r.gpuUtilization, wastedPerHour: r.wastedPerHour }, settings);
    if (!plan || controls.excluded) continue;
    let outcome = plan.dryRun ? 'dry-run' : plan.action === 'notify' ? 'notified' : 'done';
    if (!plan.dryRun && plan.action !== 'notify') {
      const id = r.resource.split('/').pop() ?? r.resource;
      try {
        if (!deps.remediation?.actions) throw new Error('remediation is on but the function has no actions');
        if (plan.action === 'stop-instance') await deps.remediation.actions.stopInstance(sweep.region, id);
        else await deps.remediation.actions.stopNotebook(sweep.region, id);
      } catch (error) {
        outcome = `failed: ${String((error as Error)?.message ?? error).slice(0, 300)}`;
      }
    }
    items.push({ ...plan, at: sweep.window.end, by: `ai-visibility GPU sweep ${sweep.sweepId}`, sweepId: sweep.sweepId, outcome });
    const verb = plan.dryRun ? `Would ${plan.action === 'notify' ? 'notify about' : 'stop'}` : plan.action === 'notify' ? 'Notifying about' : outcome === 'done' ? 'Stopped' : 'Could not stop';
    findings.push(
      finding('gpu-idle-remediation', { eventId: sweep.sweepId, time: sweep.window.end, account: sweep.account, region: sweep.region }, {
        resource: r.resource,
        principal: null,
        summary: `${verb} ${r.kind} ${r.resource}: ${plan.why}.${plan.undo ? ` Undo: ${plan.undo}` : ''}${plan.notifyOnly ? ` Notified only: ${plan.notifyOnly}.` : ''}`,
        signals: [
          { eventName: 'gpu-sweep', path: 'remediation.action', value: plan.action },
          { eventName: 'gpu-sweep', path: 'remediation.dryRun', value: plan.dryRun },
          { eventName: 'gpu-sweep', path: 'remediation.outcome', value: outcome },
          { eventName: 'gpu-sweep', path: 'remediation.why', value: plan.why },
          ...(plan.undo ? [{ eventName: 'gpu-sweep', path: 'remediation.undo', value: plan.undo }] : []),
        ],
      }),
    );
  }
  return { items, findings };
}

export const FINDING_OF: Partial<Record<Verdict, 'gpu-idle' | 'gpu-memory-held-idle' | 'gpu-underutilized' | 'gpu-no-telemetry'>> = {
  idle: 'gpu-idle',
  'memory-held-idle': 'gpu-memory-held-idle',
  underutilized: 'gpu-underutilized',
  'no-telemetry': 'gpu-no-telemetry',
};

export type { RecordedVerdict };

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

type Stored = ReadonlyMap<string, ResourceItem>;

/** What to sweep: discovery joined with the inventory's GPU instances, with what the inventory knows of each. */
async function targetsOf(account: string, region: string, deps: TargetDependencies): Promise<{ targets: SweepTarget[]; stored: Stored }> {
  const [discovered, known] = await Promise.all([deps.discovery.discover(account, region), deps.inventory.gpuInstances(account, region)]);
  // What the inventory knows of every target: its instance type and state, and the last sweep's verdict.
  const arns = [...new Set([...discovered, ...known].map((t) => t.arn))];
  const items = await deps.store.getItems(arns.map((arn) => keys.resource(arn)));
  const stored = new Map(arns.flatMap((arn) => {
    const r = readResource(items.get(keyString(keys.resource(arn))));
    return r ? [[arn, r] as const] : [];
  }));
  const types = new Map(known.flatMap((t) => {
    const type = stored.get(t.arn)?.instanceType;
    return type ? [[t.arn, type] as const] : [];
  }));
  // Every target is judged: one whose type the catalog does not know is reported, not dropped.
  const stopped = ['stopped', 'stopping', 'terminated', 'shutting-down'];
  const targets = mergeTargets(discovered, known.filter((t) => !stopped.includes(stored.get(t.arn)?.instanceState ?? '')), types);
  return { targets, stored };
}

/** One target's verdict from its telemetry, with the figures and the evidence behind it. */
function judgeTarget(t: SweepTarget, queries: readonly PlannedQuery[], fetched: FetchedMetrics, thresholds: Thresholds, prices: TargetDependencies['prices']): RecordedVerdict {
  const telemetry = telemetryOf(t, queries, fetched);
  const acc = t.instanceType ? acceleratorsOf(t.instanceType, prices) : undefined;
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
      ...(t.instanceType !== undefined && !acc ? [`instance type ${t.instanceType} is not in the accelerator catalog (lambdas/core/accelerators.ts): GPU count and price unknown`] : []),
    ],
  };
}

const IDLE: ReadonlySet<Verdict> = new Set<Verdict>(['idle', 'memory-held-idle']);

/** An idle verdict on a resource tagged `ai-visibility:expected-idle=true` is expected: it raises no finding. */
function expectedIdleOf(r: RecordedVerdict, stored: Stored, looked: ReadonlyMap<string, LookedUpTags>): RecordedVerdict {
  const item = stored.get(r.resource);
  if (!IDLE.has(r.verdict) || !controlsOf(item?.configuration, looked.get(r.resource)).expectedIdle) return r;
  return { ...r, expectedIdle: true, evidence: [...r.evidence, 'expected idle: tagged ai-visibility:expected-idle=true'] };
}

/** Findings when a resource enters a wasteful verdict (not again every hour it stays there). */
function verdictFindings(verdicts: readonly RecordedVerdict[], stored: Stored, sweep: { sweepId: string; window: SweepWindow; account: string; region: string }): FindingObservation[] {
  const findings: FindingObservation[] = [];
  for (const r of verdicts) {
    const rule = FINDING_OF[r.verdict];
    if (!rule || r.expectedIdle || stored.get(r.resource)?.lastSweep?.verdict === r.verdict) continue;
    findings.push(
      finding(rule, { eventId: sweep.sweepId, time: sweep.window.end, account: sweep.account, region: sweep.region }, {
        resource: r.resource,
        principal: null,
        summary: SUMMARY(r.verdict, r, sweep.window),
        signals: [
          { eventName: 'gpu-sweep', path: 'gpuUtilization', value: r.gpuUtilization },
          { eventName: 'gpu-sweep', path: 'gpuMemoryUsedPct', value: r.gpuMemoryUsedPct },
          { eventName: 'gpu-sweep', path: 'wastedPerHour', value: r.wastedPerHour },
          ...r.evidence.map((e) => ({ eventName: 'gpu-sweep', path: 'evidence', value: e })),
        ],
      }),
    );
  }
  return findings;
}

/** The history, the findings, and each resource's `lastSweep` (a resource no event showed enters the inventory). */
async function record(verdicts: readonly RecordedVerdict[], findings: readonly FindingObservation[], sweep: { sweepId: string; window: SweepWindow; account: string; region: string }, deps: TargetDependencies, streaks: ReadonlyMap<string, Streak>, remediations: readonly RemediationItem[]): Promise<void> {
  const expiresAt = Math.floor(Date.parse(sweep.window.end) / 1000) + (deps.historyDays ?? SWEEP_DEFAULTS.historyDays) * 86_400;
  const failed = await deps.store.putItems([...verdicts.map((r) => utilizationItem(r, sweep, expiresAt)), ...findings.map((f) => findingItem(f, 'gpu-sweep')), ...remediations.map(remediationItem)]);
  if (failed.length) throw new Error(`${failed.length} sweep record(s) not written`);
  const at = { time: sweep.window.end, eventId: sweep.sweepId, contentHash: undefined };
  await pool(verdicts, WRITE_CONCURRENCY, async (r) => {
    await deps.store.writeEntity({
      key: keys.resource(r.resource),
      head: at,
      first: at,
      latest: {},
      attributes: { lastSweep: { value: lastSweepOf(r, sweep, streaks.get(r.resource)), at: orderKey(at) } },
      earliest: {},
      fill: sweptResourceFill({ arn: r.resource, kind: r.kind, account: sweep.account, region: sweep.region, instanceType: r.instanceType, foundBy: r.foundBy }),
      sticky: {},
      addToSet: {},
      onlyIfKnown: false,
    });
  });
}

/** Discover, measure, judge and record one account and region. */
export async function sweepTarget(input: Plan['targets'][number], deps: TargetDependencies): Promise<TargetResult> {
  const { account, region, window, sweepId, period } = input;
  const sweep = { sweepId, window, account, region };
  const { targets, stored } = await targetsOf(account, region, deps);
  const queries = planQueries(targets, period);
  const fetched = await fetchMetrics(deps.metrics, queries, window, period);
  const looked = deps.tagLookup ? await deps.tagLookup({ resources: targets.map((t) => ({ arn: t.arn, region, account })) }) : new Map<string, LookedUpTags>();
  const verdicts = targets.map((t) => expectedIdleOf(judgeTarget(t, queries, fetched, deps.thresholds ?? DEFAULT_THRESHOLDS, deps.prices), stored, looked));
  const streaks = new Map(verdicts.map((r) => [r.resource, nextIdleStreak(stored.get(r.resource)?.lastSweep, r.verdict, window.start)] as const));
  const remediation = await remediate(verdicts, stored, looked, streaks, sweep, deps);
  const findings = [...verdictFindings(verdicts, stored, sweep), ...remediation.findings];
  await record(verdicts, findings, sweep, deps, streaks, remediation.items);

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
