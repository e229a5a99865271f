/**
 * Verdicts: what a window of 1-minute GPU statistics says about each accelerator and each
 * resource. Pure: figures in, verdict and the figures behind it out.
 *
 *   no-telemetry      a GPU resource with no GPU metric at all: a blind spot, reported as one
 *   idle              mean GPU utilization below `idleBelowPct`, little memory held
 *   memory-held-idle  the same, with at least `memoryHeldFromPct` of GPU memory allocated: a
 *                     process holds the GPU and computes nothing (the forgotten notebook, the
 *                     stuck job): idle, and it blocks anyone else from using it
 *   underutilized     mean utilization below `underutilizedBelowPct`
 *   busy              anything above
 *
 * The mean is over the window's 1-minute averages, as CloudWatch returns them: a brief burst
 * does not make an idle hour busy, and a brief pause does not make a busy one idle. A resource
 * with several accelerators is judged on their mean (one busy GPU of eight is an underused
 * instance); each accelerator's own verdict is kept in the evidence.
 */
import { SWEEP_DEFAULTS } from '../core/defaults';
import { VERDICTS, type AcceleratorVerdict, type Verdict } from '../core/utilization';

export { VERDICTS, type Verdict, type AcceleratorVerdict };

export interface Thresholds {
  /** Mean GPU utilization (%) below which a GPU is idle. */
  readonly idleBelowPct: number;
  /** Mean GPU utilization (%) below which a GPU is underutilized. */
  readonly underutilizedBelowPct: number;
  /** Share of GPU memory (%) allocated that makes an idle GPU memory-held-idle. */
  readonly memoryHeldFromPct: number;
}

/** Defaults and their reasons: docs/gpu-sweep.md. */
export const DEFAULT_THRESHOLDS: Thresholds = { idleBelowPct: SWEEP_DEFAULTS.idleBelowPct, underutilizedBelowPct: SWEEP_DEFAULTS.underutilizedBelowPct, memoryHeldFromPct: SWEEP_DEFAULTS.memoryHeldFromPct };

export interface Point {
  /** Start of the 1-minute period, ISO 8601. */
  readonly t: string;
  readonly v: number;
}

export interface AcceleratorTelemetry {
  /** GPU index (nvidia-smi `index`), or `all` for a metric that averages the instance's GPUs. */
  readonly index: string;
  /** Utilization per minute, 0-100 for this accelerator. */
  readonly utilization: readonly Point[];
  /** Memory allocated per minute, 0-100 % of the accelerator's memory. */
  readonly memoryUsedPct: readonly Point[];
  /** Power draw per minute (W), when reported: evidence only. */
  readonly powerDraw?: readonly Point[];
}


export interface ResourceVerdict {
  readonly verdict: Verdict;
  /** Mean GPU utilization over the window, 0-100, or null without telemetry. */
  readonly gpuUtilization: number | null;
  readonly gpuMemoryUsedPct: number | null;
  readonly accelerators: readonly AcceleratorVerdict[];
  /** Why, in words a reader can check against the metrics. */
  readonly evidence: readonly string[];
}

const mean = (points: readonly Point[]): number | null => (points.length ? points.reduce((s, p) => s + p.v, 0) / points.length : null);
const round = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);

export function judge(utilization: number | null, memoryUsedPct: number | null, t: Thresholds): Verdict {
  if (utilization === null) return 'no-telemetry';
  if (utilization < t.idleBelowPct) return (memoryUsedPct ?? 0) >= t.memoryHeldFromPct ? 'memory-held-idle' : 'idle';
  return utilization < t.underutilizedBelowPct ? 'underutilized' : 'busy';
}

export function acceleratorVerdict(a: AcceleratorTelemetry, t: Thresholds): AcceleratorVerdict {
  const u = mean(a.utilization);
  const m = mean(a.memoryUsedPct);
  return { index: a.index, verdict: judge(u, m, t), gpuUtilization: round(u), gpuMemoryUsedPct: round(m), ...(a.powerDraw ? { powerDrawW: round(mean(a.powerDraw)) } : {}) };
}

/** A GPU resource's verdict from its accelerators' telemetry (empty: no telemetry). */
export function resourceVerdict(accelerators: readonly AcceleratorTelemetry[], expected: number, t: Thresholds = DEFAULT_THRESHOLDS, unit = 'accelerator'): ResourceVerdict {
  const each = accelerators.map((a) => acceleratorVerdict(a, t));
  const reporting = each.filter((a) => a.gpuUtilization !== null);
  if (reporting.length === 0) {
    return {
      verdict: 'no-telemetry',
      gpuUtilization: null,
      gpuMemoryUsedPct: null,
      accelerators: each,
      evidence: [`no GPU utilization metric in the window for any of its ${expected} ${unit}(s)${unit === 'accelerator' ? ": install the CloudWatch agent's nvidia_gpu metrics (docs/gpu-sweep.md)" : ''}`],
    };
  }
  const u = reporting.reduce((s, a) => s + a.gpuUtilization!, 0) / reporting.length;
  const withMemory = reporting.filter((a) => a.gpuMemoryUsedPct !== null);
  const m = withMemory.length ? withMemory.reduce((s, a) => s + a.gpuMemoryUsedPct!, 0) / withMemory.length : null;
  const verdict = judge(u, m, t);
  const evidence = [
    `mean GPU utilization ${round(u)}% over ${reporting.length} ${unit}(s) (${verdict === 'busy' ? `at least ${t.underutilizedBelowPct}%` : verdict === 'underutilized' ? `below ${t.underutilizedBelowPct}%` : `below ${t.idleBelowPct}%`})`,
    m === null ? 'GPU memory not reported' : `GPU memory allocated ${round(m)}%${verdict === 'memory-held-idle' ? ` (at least ${t.memoryHeldFromPct}%: held while idle)` : ''}`,
  ];
  if (reporting.length < expected) evidence.push(`${expected - reporting.length} of ${expected} ${unit}(s) report no utilization`);
  return { verdict, gpuUtilization: round(u), gpuMemoryUsedPct: round(m), accelerators: each, evidence };
}

/** Bedrock provisioned throughput has no GPU metric: it is judged on its invocations. */
export function invocationVerdict(invocations: readonly Point[]): ResourceVerdict {
  const total = invocations.reduce((s, p) => s + p.v, 0);
  return {
    verdict: total === 0 ? 'idle' : 'busy',
    gpuUtilization: null,
    gpuMemoryUsedPct: null,
    accelerators: [],
    evidence: [`${total} invocation(s) in the window (Bedrock publishes no GPU metric for provisioned throughput; no datapoint means none)`],
  };
}

/** What a verdict wastes per hour: all of an idle resource, the unused share of an underused one. */
export function wastedPerHour(v: ResourceVerdict, pricePerHour: number | undefined): number | null {
  if (pricePerHour === undefined) return null;
  switch (v.verdict) {
    case 'idle':
    case 'memory-held-idle':
      return Math.round(pricePerHour * 100) / 100;
    case 'underutilized':
      return Math.round(pricePerHour * (1 - (v.gpuUtilization ?? 0) / 100) * 100) / 100;
    default:
      return v.verdict === 'no-telemetry' ? null : 0;
  }
}
