/**
 * Opt-in remediation of idle accelerators: what to do about a resource the sweep found idle.
 * Pure: the sweep's target function (lambdas/gpu-sweep) plans with it and acts, the local sweep
 * prints the plan.
 *
 * It acts only on resources tagged `ai-visibility:idle-action=stop` (or `notify`), when the
 * global switch (`remediation.mode`) is `dry-run` or `on`, after `idleSweeps` consecutive idle or
 * memory-held-idle verdicts (default 3), once per idle streak (a sweep that finds it busy again
 * starts over). What it does (docs/tagging.md):
 * - an EC2 instance is stopped (`StopInstances`), never terminated;
 * - a SageMaker notebook instance is stopped (`StopNotebookInstance`);
 * - a SageMaker endpoint is only notified: scaling one to zero needs inference components and a
 *   production variant whose `ManagedInstanceScaling.MinInstanceCount` is 0 (SageMaker Developer
 *   Guide, "Scale an endpoint to zero instances"), that is, a change to the owner's endpoint
 *   configuration and auto scaling, and deleting it would lose the owner's deployment;
 * - anything else is notified.
 */
import type { Verdict } from './utilization';

export const REMEDIATION_MODES = ['off', 'dry-run', 'on'] as const;
export type RemediationMode = (typeof REMEDIATION_MODES)[number];

export interface RemediationSettings {
  readonly mode: RemediationMode;
  /** Consecutive idle sweeps before it acts. */
  readonly idleSweeps: number;
}

export const REMEDIATION_DEFAULTS: RemediationSettings = { mode: 'off', idleSweeps: 3 };

export const IDLE_VERDICTS: ReadonlySet<Verdict> = new Set<Verdict>(['idle', 'memory-held-idle']);

/** What the sweep knows of a resource when it plans. */
export interface RemediationCandidate {
  readonly resource: string;
  readonly kind: string;
  readonly region: string;
  readonly verdict: Verdict;
  /** Consecutive idle sweeps, this one included (0 when this one is not idle). */
  readonly idleSweeps: number;
  /** When the streak began (the first idle window's start). */
  readonly idleSince: string | null;
  readonly idleAction: 'notify' | 'stop' | null;
  readonly expectedIdle: boolean;
  readonly gpuUtilization: number | null;
  readonly wastedPerHour: number | null;
}

export type RemediationAction = 'stop-instance' | 'stop-notebook' | 'notify';

export interface RemediationPlan {
  readonly resource: string;
  readonly kind: string;
  readonly region: string;
  readonly action: RemediationAction;
  /** Nothing is done: the plan is recorded and notified as what would be done. */
  readonly dryRun: boolean;
  /** Why: the sweeps and their figures. */
  readonly why: string;
  /** How to undo it (nothing to undo for a notification). */
  readonly undo: string | null;
  /** Why it only notifies, when it does. */
  readonly notifyOnly?: string;
}

const idOf = (arn: string) => arn.split('/').pop() ?? arn;

/** What to do about a resource this sweep judged, or undefined (nothing, yet). */
export function planRemediation(c: RemediationCandidate, settings: RemediationSettings): RemediationPlan | undefined {
  if (settings.mode === 'off' || !c.idleAction || c.expectedIdle || !IDLE_VERDICTS.has(c.verdict)) return undefined;
  // Once per streak: at the sweep that reaches the threshold.
  if (c.idleSweeps !== settings.idleSweeps) return undefined;
  const why = `${c.verdict} in ${c.idleSweeps} consecutive sweeps since ${c.idleSince ?? 'unknown'} (mean GPU utilization ${c.gpuUtilization ?? 'unknown'}% in the last window${c.wastedPerHour ? `, about $${c.wastedPerHour.toFixed(2)} an hour wasted` : ''})`;
  const base = { resource: c.resource, kind: c.kind, region: c.region, dryRun: settings.mode === 'dry-run', why };
  if (c.idleAction === 'stop' && c.kind === 'gpu-instance') return { ...base, action: 'stop-instance', undo: `aws ec2 start-instances --instance-ids ${idOf(c.resource)} --region ${c.region}` };
  if (c.idleAction === 'stop' && c.kind === 'notebook') return { ...base, action: 'stop-notebook', undo: `aws sagemaker start-notebook-instance --notebook-instance-name ${idOf(c.resource)} --region ${c.region}` };
  const notifyOnly =
    c.idleAction === 'notify'
      ? 'tagged idle-action=notify'
      : c.kind === 'inference-endpoint'
        ? 'an endpoint scales to zero only with inference components and MinInstanceCount 0 in its endpoint configuration (SageMaker Developer Guide, "Scale an endpoint to zero instances"); the owner must change it, so it is notified'
        : `a ${c.kind} has no stop action the remediation takes`;
  return { ...base, action: 'notify', undo: null, notifyOnly };
}

/** The idle streak after this sweep's verdict: one more if idle, none otherwise. */
export function nextIdleStreak(previous: { idleSweeps?: number; idleSince?: string | null } | undefined, verdict: Verdict, windowStart: string): { idleSweeps: number; idleSince: string | null } {
  if (!IDLE_VERDICTS.has(verdict)) return { idleSweeps: 0, idleSince: null };
  const n = (previous?.idleSweeps ?? 0) + 1;
  return { idleSweeps: n, idleSince: n === 1 ? windowStart : (previous?.idleSince ?? windowStart) };
}
