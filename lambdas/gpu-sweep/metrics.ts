/**
 * Metrics for a sweep: which CloudWatch series measure each target, packed into as few
 * GetMetricData calls as the API allows, and read back into per-accelerator telemetry.
 *
 * GetMetricData takes at most 500 queries a call and returns at most 100,800 data points a call
 * (CloudWatch API reference, GetMetricData); a call whose points do not fit in one response pages
 * with NextToken. Queries are packed up to min(500, 100,800 / points per query): with the default
 * one-hour window at one-minute periods (60 points a query), 500 queries a call, so an
 * account-region costs ceil(queries / 500) calls.
 *
 * Series (docs/gpu-sweep.md):
 * - EC2 GPU instances: CWAgent `nvidia_smi_utilization_gpu`, `nvidia_smi_memory_used`,
 *   `nvidia_smi_memory_total`, `nvidia_smi_power_draw` by {InstanceId, index}, the dimension set
 *   the shipped CloudWatch agent configuration aggregates to (InstanceId appended through
 *   `append_dimensions`); AWS/EC2 `CPUUtilization` for context.
 * - SageMaker endpoints (per variant) and training jobs (per host): `GPUUtilization` and
 *   `GPUMemoryUtilization`, which are 0-100 times the instance's GPU count, divided by it here.
 * - Notebook instances publish no GPU metric: they are reported as no-telemetry.
 * - Bedrock provisioned throughput: AWS/Bedrock `Invocations` by ModelId (its ARN), summed.
 */
import type { GetMetricDataCommandInput, GetMetricDataCommandOutput, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { ACCELERATOR_KINDS, type AcceleratorKind } from '../core/kinds';
import { pool } from '../shared/pool';
import { acceleratorsOf } from '../core/accelerators';
import type { AcceleratorTelemetry, Point } from './verdict';

export const MAX_QUERIES_PER_CALL = 500;
export const MAX_POINTS_PER_CALL = 100_800;

/** The kinds the sweep measures (the domain core's accelerator kinds). */
export const SWEEP_KINDS = ACCELERATOR_KINDS;
export type SweepKind = AcceleratorKind;

/** A resource to sweep, as discovery or the inventory found it. */
export interface SweepTarget {
  readonly arn: string;
  readonly kind: SweepKind;
  readonly account: string;
  readonly region: string;
  /** EC2 instance id, endpoint name, training job name, notebook name, provisioned model ARN. */
  readonly name: string;
  readonly instanceType?: string;
  readonly instanceCount?: number;
  /** SageMaker endpoint variants. */
  readonly variants?: ReadonlyArray<{ readonly name: string; readonly instanceType: string; readonly instanceCount: number }>;
  /** Who found it: the sweep's own discovery, the inventory, or both. */
  readonly foundBy: ReadonlyArray<'discovery' | 'inventory'>;
}

type Role = 'utilization' | 'memoryUsed' | 'memoryTotal' | 'powerDraw' | 'cpu' | 'gpuUtilization' | 'gpuMemoryUtilization' | 'invocations';

export interface PlannedQuery {
  readonly id: string;
  readonly target: string;
  readonly role: Role;
  /** GPU index, variant name or host. */
  readonly group: string;
  /** Divide values by this (SageMaker's GPU metrics are 0-100 times the GPU count). */
  readonly divisor: number;
  readonly query: MetricDataQuery;
}

function stat(namespace: string, metricName: string, dimensions: Record<string, string>, statistic: string, period: number): MetricDataQuery['MetricStat'] {
  return { Metric: { Namespace: namespace, MetricName: metricName, Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) }, Period: period, Stat: statistic };
}

/** Every query the targets need, with ids unique across the sweep of one account-region. */
export function planQueries(targets: readonly SweepTarget[], period = 60): PlannedQuery[] {
  const out: PlannedQuery[] = [];
  const add = (target: SweepTarget, role: Role, group: string, divisor: number, metric: NonNullable<MetricDataQuery['MetricStat']>) => {
    const id = `q${out.length}`;
    out.push({ id, target: target.arn, role, group, divisor, query: { Id: id, MetricStat: metric, ReturnData: true } });
  };
  for (const t of targets) {
    switch (t.kind) {
      case 'gpu-instance': {
        const acc = t.instanceType ? acceleratorsOf(t.instanceType) : undefined;
        if (acc?.nvidia) {
          for (let i = 0; i < acc.count; i++) {
            const dims = { InstanceId: t.name, index: String(i) };
            add(t, 'utilization', String(i), 1, stat('CWAgent', 'nvidia_smi_utilization_gpu', dims, 'Average', period)!);
            add(t, 'memoryUsed', String(i), 1, stat('CWAgent', 'nvidia_smi_memory_used', dims, 'Average', period)!);
            add(t, 'memoryTotal', String(i), 1, stat('CWAgent', 'nvidia_smi_memory_total', dims, 'Average', period)!);
            add(t, 'powerDraw', String(i), 1, stat('CWAgent', 'nvidia_smi_power_draw', dims, 'Average', period)!);
          }
        }
        add(t, 'cpu', 'instance', 1, stat('AWS/EC2', 'CPUUtilization', { InstanceId: t.name }, 'Average', period)!);
        break;
      }
      case 'inference-endpoint':
        for (const v of t.variants ?? []) {
          const gpus = acceleratorsOf(v.instanceType)?.count ?? 1;
          const dims = { EndpointName: t.name, VariantName: v.name };
          add(t, 'gpuUtilization', v.name, gpus, stat('/aws/sagemaker/Endpoints', 'GPUUtilization', dims, 'Average', period)!);
          add(t, 'gpuMemoryUtilization', v.name, gpus, stat('/aws/sagemaker/Endpoints', 'GPUMemoryUtilization', dims, 'Average', period)!);
          add(t, 'cpu', v.name, 1, stat('/aws/sagemaker/Endpoints', 'CPUUtilization', dims, 'Average', period)!);
        }
        break;
      case 'training-job': {
        const gpus = (t.instanceType && acceleratorsOf(t.instanceType)?.count) || 1;
        for (let h = 1; h <= (t.instanceCount ?? 1); h++) {
          const dims = { Host: `${t.name}/algo-${h}` };
          add(t, 'gpuUtilization', `algo-${h}`, gpus, stat('/aws/sagemaker/TrainingJobs', 'GPUUtilization', dims, 'Average', period)!);
          add(t, 'gpuMemoryUtilization', `algo-${h}`, gpus, stat('/aws/sagemaker/TrainingJobs', 'GPUMemoryUtilization', dims, 'Average', period)!);
          add(t, 'cpu', `algo-${h}`, 1, stat('/aws/sagemaker/TrainingJobs', 'CPUUtilization', dims, 'Average', period)!);
        }
        break;
      }
      case 'provisioned-throughput':
        add(t, 'invocations', 'model', 1, stat('AWS/Bedrock', 'Invocations', { ModelId: t.arn }, 'Sum', period)!);
        break;
      case 'notebook':
        break;
    }
  }
  return out;
}

/** Queries per call: 500, or fewer when their points would not fit in 100,800. */
export function queriesPerCall(windowSeconds: number, period: number): number {
  const points = Math.ceil(windowSeconds / period);
  return Math.max(1, Math.min(MAX_QUERIES_PER_CALL, Math.floor(MAX_POINTS_PER_CALL / points)));
}

export function batch<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface MetricReader {
  getMetricData(input: GetMetricDataCommandInput): Promise<Pick<GetMetricDataCommandOutput, 'MetricDataResults' | 'NextToken' | 'Messages'>>;
}

export interface FetchedMetrics {
  /** Points per query id, oldest first. */
  readonly points: Map<string, Point[]>;
  /** GetMetricData requests made (pages included). */
  readonly requests: number;
  /** Batches (one GetMetricData call each, before pagination). */
  readonly calls: number;
}

/** Run the planned queries over the window, packed and paginated. */
export async function fetchMetrics(reader: MetricReader, queries: readonly PlannedQuery[], window: { start: string; end: string }, period = 60, concurrency = 4): Promise<FetchedMetrics> {
  const windowSeconds = (Date.parse(window.end) - Date.parse(window.start)) / 1000;
  const batches = batch(queries, queriesPerCall(windowSeconds, period));
  const points = new Map<string, Point[]>(queries.map((q) => [q.id, []]));
  let requests = 0;
  await pool(batches, concurrency, async (current) => {
    let token: string | undefined;
    do {
      requests++;
      const out = await reader.getMetricData({
        MetricDataQueries: current.map((q) => q.query),
        StartTime: new Date(window.start),
        EndTime: new Date(window.end),
        ScanBy: 'TimestampAscending',
        ...(token ? { NextToken: token } : {}),
      });
      for (const r of out.MetricDataResults ?? []) {
        const list = points.get(r.Id ?? '');
        if (!list) continue;
        (r.Timestamps ?? []).forEach((ts, i) => list.push({ t: new Date(ts).toISOString(), v: r.Values?.[i] ?? 0 }));
      }
      token = out.NextToken;
    } while (token);
  });
  for (const list of points.values()) list.sort((a, b) => a.t.localeCompare(b.t));
  return { points, requests, calls: batches.length };
}

/** Point-by-point a / b * 100 where both have a value. */
function percentOf(a: readonly Point[], b: readonly Point[]): Point[] {
  const total = new Map(b.map((p) => [p.t, p.v]));
  return a.flatMap((p) => {
    const d = total.get(p.t);
    return d ? [{ t: p.t, v: (p.v / d) * 100 }] : [];
  });
}

export interface TargetTelemetry {
  readonly accelerators: AcceleratorTelemetry[];
  readonly cpuUtilization: number | null;
  readonly invocations?: Point[];
}

/** A target's telemetry from the fetched points. */
export function telemetryOf(target: SweepTarget, queries: readonly PlannedQuery[], fetched: FetchedMetrics): TargetTelemetry {
  const mine = queries.filter((q) => q.target === target.arn);
  const series = (role: Role, group: string) => {
    const q = mine.find((x) => x.role === role && x.group === group);
    return q ? (fetched.points.get(q.id) ?? []).map((p) => ({ t: p.t, v: p.v / q.divisor })) : [];
  };
  const groups = [...new Set(mine.filter((q) => q.role !== 'cpu' && q.role !== 'invocations').map((q) => q.group))];
  const accelerators: AcceleratorTelemetry[] = groups.map((g) =>
    target.kind === 'gpu-instance'
      ? { index: g, utilization: series('utilization', g), memoryUsedPct: percentOf(series('memoryUsed', g), series('memoryTotal', g)), powerDraw: series('powerDraw', g) }
      : { index: g, utilization: series('gpuUtilization', g), memoryUsedPct: series('gpuMemoryUtilization', g) },
  );
  const cpu = mine.filter((q) => q.role === 'cpu').flatMap((q) => fetched.points.get(q.id) ?? []);
  return {
    accelerators,
    cpuUtilization: cpu.length ? Math.round((cpu.reduce((s, p) => s + p.v, 0) / cpu.length) * 10) / 10 : null,
    ...(target.kind === 'provisioned-throughput' ? { invocations: series('invocations', 'model') } : {}),
  };
}
