/**
 * The GPU sweep's vocabulary: the verdicts, and what one sweep records about one resource (the
 * utilization history item and the `lastSweep` summary on the inventory item). Pure types.
 */

/** From busy to blind: see lambdas/gpu-sweep/verdict.ts for how each is decided. */
export const VERDICTS = ['busy', 'underutilized', 'idle', 'memory-held-idle', 'no-telemetry'] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface SweepWindow {
  readonly start: string;
  readonly end: string;
}

export interface AcceleratorVerdict {
  readonly index: string;
  readonly verdict: Verdict;
  readonly gpuUtilization: number | null;
  readonly gpuMemoryUsedPct: number | null;
  readonly powerDrawW?: number | null;
}

/** What one sweep found for one resource. */
export interface RecordedVerdict {
  readonly resource: string;
  readonly kind: string;
  readonly instanceType: string | null;
  readonly instanceCount: number;
  readonly verdict: Verdict;
  readonly gpuUtilization: number | null;
  readonly gpuMemoryUsedPct: number | null;
  readonly cpuUtilization: number | null;
  readonly accelerators: readonly AcceleratorVerdict[];
  readonly wastedPerHour: number | null;
  readonly pricePerHour: number | null;
  readonly priceBasis: string;
  readonly foundBy: readonly string[];
  readonly evidence: readonly string[];
  /** Idle, and tagged `ai-visibility:expected-idle=true`: no finding, shown as expected. */
  readonly expectedIdle?: true;
}

/** The newest sweep's verdict, kept on the resource's inventory item. */
export interface LastSweep {
  readonly verdict: Verdict;
  readonly gpuUtilization: number | null;
  readonly gpuMemoryUsedPct: number | null;
  readonly wastedPerHour: number | null;
  readonly window: SweepWindow;
  readonly sweepId: string;
  /** Consecutive idle or memory-held-idle sweeps, this one included (the remediation's count). */
  readonly idleSweeps?: number;
  /** When that streak began (its first window's start). */
  readonly idleSince?: string | null;
}

export const isVerdict = (v: unknown): v is Verdict => typeof v === 'string' && (VERDICTS as readonly string[]).includes(v);
