/** The GPU sweep function's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';
import type { AccountRegion } from './sweep';
import { SWEEP_DEFAULTS } from '../core/defaults';
import { REMEDIATION_DEFAULTS, type RemediationSettings } from '../core/remediation';
import type { Thresholds } from './verdict';

const PERCENT = /^(100|[1-9]?\d)(\.\d+)?$/;

export const GPU_SWEEP_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  SWEEP_TARGETS: { description: 'comma-separated account:region pairs to sweep', pattern: /^(\d{12}:[a-z0-9-]+)(,\d{12}:[a-z0-9-]+)*$/ },
  SWEEP_WINDOW_MINUTES: { description: 'minutes of metrics each sweep judges', pattern: /^\d{1,4}$/ },
  IDLE_BELOW_PCT: { description: 'mean GPU utilization (%) below which a GPU is idle', pattern: PERCENT },
  UNDERUTILIZED_BELOW_PCT: { description: 'mean GPU utilization (%) below which a GPU is underutilized', pattern: PERCENT },
  MEMORY_HELD_FROM_PCT: { description: 'GPU memory allocated (%) that makes an idle GPU memory-held-idle', pattern: PERCENT },
  GPU_PRICES: { description: 'JSON object of USD per hour by instance type, overriding the built-in table', optional: true },
  SUMMARY_EVENT_BUS: { description: 'event bus that receives the sweep summary', pattern: /^[A-Za-z0-9/_.:-]{1,1600}$/ },
  REMEDIATION_MODE: { description: 'the remediation of idle accelerators tagged ai-visibility:idle-action: off, dry-run or on', pattern: /^(off|dry-run|on)$/ },
  REMEDIATION_IDLE_SWEEPS: { description: 'consecutive idle sweeps before the remediation acts', pattern: /^[1-9]\d{0,2}$/ },
  ORGANIZATION_REGIONS: { description: "organization mode: comma-separated regions swept in every active account of the organization (Organizations ListAccounts), besides SWEEP_TARGETS; the target function assumes each member's role", pattern: /^[a-z0-9-]+(,[a-z0-9-]+)*$/, optional: true },
} as const satisfies EnvironmentSpec;

export type GpuSweepEnvironment = EnvironmentOf<typeof GPU_SWEEP_ENVIRONMENT>;

/** The sweep's Powertools service name. */
export const GPU_SWEEP_SERVICE = 'ai-visibility-gpu-sweep';

export const DEFAULT_SWEEP_ENVIRONMENT = {
  SWEEP_WINDOW_MINUTES: String(SWEEP_DEFAULTS.windowMinutes),
  IDLE_BELOW_PCT: String(SWEEP_DEFAULTS.idleBelowPct),
  UNDERUTILIZED_BELOW_PCT: String(SWEEP_DEFAULTS.underutilizedBelowPct),
  MEMORY_HELD_FROM_PCT: String(SWEEP_DEFAULTS.memoryHeldFromPct),
  GPU_PRICES: '',
  REMEDIATION_MODE: REMEDIATION_DEFAULTS.mode,
  REMEDIATION_IDLE_SWEEPS: String(REMEDIATION_DEFAULTS.idleSweeps),
  ORGANIZATION_REGIONS: '',
} as const;

export function sweepSettings(env: GpuSweepEnvironment): { targets: AccountRegion[]; windowMinutes: number; thresholds: Thresholds; prices: Record<string, number>; remediation: RemediationSettings } {
  const thresholds = { idleBelowPct: Number(env.IDLE_BELOW_PCT), underutilizedBelowPct: Number(env.UNDERUTILIZED_BELOW_PCT), memoryHeldFromPct: Number(env.MEMORY_HELD_FROM_PCT) };
  if (thresholds.idleBelowPct > thresholds.underutilizedBelowPct) throw new Error(`IDLE_BELOW_PCT (${thresholds.idleBelowPct}) is above UNDERUTILIZED_BELOW_PCT (${thresholds.underutilizedBelowPct})`);
  let prices: Record<string, number> = {};
  if (env.GPU_PRICES) {
    const parsed = JSON.parse(env.GPU_PRICES) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'number' && v >= 0)) {
      throw new Error('GPU_PRICES must be a JSON object of non-negative numbers (USD per hour by instance type)');
    }
    prices = parsed as Record<string, number>;
  }
  return {
    targets: env.SWEEP_TARGETS.split(',').map((pair) => {
      const [account, region] = pair.split(':');
      return { account, region };
    }),
    windowMinutes: Number(env.SWEEP_WINDOW_MINUTES),
    thresholds,
    prices,
    remediation: { mode: env.REMEDIATION_MODE as RemediationSettings['mode'], idleSweeps: Number(env.REMEDIATION_IDLE_SWEEPS) },
  };
}
