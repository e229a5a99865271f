/**
 * Verdicts on real telemetry: test/fixtures/gpu/h200-phases is a real nvidia-smi trace of one
 * NVIDIA H200 driven through known phases (README.md there). Each phase's readings are
 * aggregated the way CloudWatch aggregates what the CloudWatch agent sends (the average of the
 * samples in each 1-minute period) and judged as the sweep judges a window.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acceleratorsOf } from '../../lambdas/core/accelerators';
import { DEFAULT_THRESHOLDS, invocationVerdict, judge, resourceVerdict, wastedPerHour, type AcceleratorTelemetry } from '../../lambdas/gpu-sweep/verdict';
import { minuteAverages, parseNvidiaSmiCsv, type GpuReading } from '../../local/sweep/nvidia-smi';

const DIR = join(__dirname, '..', 'fixtures', 'gpu', 'h200-phases');
const readings = parseNvidiaSmiCsv(readFileSync(join(DIR, 'trace.csv'), 'utf8'));
const phases = readFileSync(join(DIR, 'phases.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => {
    const [at, name] = l.split(',');
    return { at: new Date(at).toISOString(), name: name.trim() };
  });

/** A phase's readings as the CloudWatch agent's metrics would show them: 1-minute averages from the phase's start. */
export function phaseTelemetry(name: string): AcceleratorTelemetry {
  const i = phases.findIndex((p) => p.name === name);
  const end = phases[i + 1]?.at ?? '9999';
  const mine: GpuReading[] = readings.filter((r) => r.t >= phases[i].at && r.t < end);
  const used = minuteAverages(mine, (r) => r.memoryUsedMiB, phases[i].at);
  const total = minuteAverages(mine, (r) => r.memoryTotalMiB, phases[i].at);
  return {
    index: '0',
    utilization: minuteAverages(mine, (r) => r.utilizationGpu, phases[i].at),
    memoryUsedPct: used.map((p, n) => ({ t: p.t, v: (p.v / total[n].v) * 100 })),
    powerDraw: minuteAverages(mine, (r) => r.powerDrawW, phases[i].at),
  };
}

describe('verdicts on a real H200 trace', () => {
  it('reads the nvidia-smi CSV with its units, spaces and time format', () => {
    expect(readings).toHaveLength(198);
    expect(readings[0]).toEqual({ t: '2026-11-25T23:26:30.141Z', index: '0', utilizationGpu: 0, memoryUsedMiB: 0, memoryTotalMiB: 143771, powerDrawW: 124.07 });
  });

  it('calls the phases idle, busy, memory-held-idle, underutilized, idle', () => {
    expect(phases.map((p) => p.name)).toEqual(['idle', 'saturated', 'memory-held-idle', 'bursty', 'released']);
    expect(phases.map((p) => resourceVerdict([phaseTelemetry(p.name)], 1).verdict)).toEqual(['idle', 'busy', 'memory-held-idle', 'underutilized', 'idle']);
  });

  it('keeps the figures behind each verdict', () => {
    const held = resourceVerdict([phaseTelemetry('memory-held-idle')], 1);
    expect(held).toMatchObject({ verdict: 'memory-held-idle', gpuUtilization: 2.8, gpuMemoryUsedPct: 40.5 });
    expect(held.accelerators[0].powerDrawW).toBeGreaterThan(100); // clocks held up: more than the 80 W of true idle
    expect(held.evidence.join(' ')).toContain('GPU memory allocated 40.5% (at least 10%: held while idle)');
    expect(resourceVerdict([phaseTelemetry('bursty')], 1)).toMatchObject({ verdict: 'underutilized', gpuUtilization: 33.4 });
    expect(resourceVerdict([phaseTelemetry('saturated')], 1)).toMatchObject({ verdict: 'busy', gpuUtilization: 100, gpuMemoryUsedPct: 0.7 });
  });
});

describe('verdict rules', () => {
  const t = DEFAULT_THRESHOLDS;
  const acc = (index: string, u: number[], m: number[] = u.map(() => 0)): AcceleratorTelemetry => ({
    index,
    utilization: u.map((v, i) => ({ t: `2026-01-01T00:0${i}:00.000Z`, v })),
    memoryUsedPct: m.map((v, i) => ({ t: `2026-01-01T00:0${i}:00.000Z`, v })),
  });

  it('draws the lines at the thresholds', () => {
    expect(judge(4.99, 9.99, t)).toBe('idle');
    expect(judge(4.99, 10, t)).toBe('memory-held-idle');
    expect(judge(5, 90, t)).toBe('underutilized');
    expect(judge(39.99, 0, t)).toBe('underutilized');
    expect(judge(40, 0, t)).toBe('busy');
    expect(judge(null, 50, t)).toBe('no-telemetry');
  });

  it('judges the mean of the minutes: a burst does not make an idle hour busy', () => {
    expect(resourceVerdict([acc('0', [0, 0, 0, 0, 0, 0, 0, 0, 0, 30])], 1).verdict).toBe('idle');
  });

  it('one busy GPU of eight is an underused instance; the silent GPUs are named', () => {
    const v = resourceVerdict([acc('0', [100, 100]), ...Array.from({ length: 6 }, (_, i) => acc(String(i + 1), [0, 0]))], 8);
    expect(v).toMatchObject({ verdict: 'underutilized', gpuUtilization: 14.3 });
    expect(v.accelerators.map((a) => a.verdict)).toEqual(['busy', 'idle', 'idle', 'idle', 'idle', 'idle', 'idle']);
    expect(v.evidence).toContain('1 of 8 accelerator(s) report no utilization');
  });

  it('a GPU resource with no GPU metric is a blind spot, said as such', () => {
    expect(resourceVerdict([], 4)).toMatchObject({ verdict: 'no-telemetry', gpuUtilization: null, evidence: [expect.stringContaining('no GPU utilization metric in the window for any of its 4 accelerator(s)')] });
    expect(resourceVerdict([acc('0', [])], 1).verdict).toBe('no-telemetry');
  });

  it('provisioned throughput is judged by its invocations', () => {
    expect(invocationVerdict([]).verdict).toBe('idle');
    expect(invocationVerdict([{ t: 'x', v: 3 }]).verdict).toBe('busy');
  });

  it('prices the waste: all of an idle resource, the unused share of an underused one, nothing known without telemetry', () => {
    const price = acceleratorsOf('p5.48xlarge')!.pricePerHour!;
    expect(wastedPerHour(resourceVerdict([acc('0', [0])], 1), price)).toBe(price);
    expect(wastedPerHour(resourceVerdict([acc('0', [25])], 1), 10)).toBe(7.5);
    expect(wastedPerHour(resourceVerdict([acc('0', [90])], 1), 10)).toBe(0);
    expect(wastedPerHour(resourceVerdict([], 1), 10)).toBeNull();
    expect(wastedPerHour(resourceVerdict([acc('0', [0])], 1), undefined)).toBeNull();
  });
});

describe('the accelerator catalog', () => {
  it('knows GPU counts, SageMaker ML types, price bases and overrides', () => {
    expect(acceleratorsOf('p4d.24xlarge')).toMatchObject({ count: 8, name: 'NVIDIA A100', nvidia: true, priceBasis: 'ec2-on-demand' });
    expect(acceleratorsOf('ml.g5.12xlarge')).toMatchObject({ count: 4, priceBasis: 'ec2-on-demand (SageMaker ML instances cost more)' });
    expect(acceleratorsOf('inf2.xlarge')).toMatchObject({ nvidia: false });
    expect(acceleratorsOf('g5.xlarge', { 'g5.xlarge': 0.5 })).toMatchObject({ pricePerHour: 0.5, priceBasis: 'configured' });
    expect(acceleratorsOf('trn2.48xlarge')).toMatchObject({ priceBasis: 'unknown' });
    expect(acceleratorsOf('m5.large')).toBeUndefined();
  });
});
