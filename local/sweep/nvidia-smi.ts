/**
 * nvidia-smi CSV (`nvidia-smi --query-gpu=... --format=csv,nounits`) read into readings, and
 * readings aggregated the way CloudWatch aggregates what the CloudWatch agent sends: the average
 * of the samples in each 1-minute period. Used to turn recorded GPU telemetry into the metric
 * data a sweep reads (the H200 example, and the verdict tests).
 *
 * Quirks of the format: a header with units (`utilization.gpu [%]`), a space after every comma,
 * times as `YYYY/MM/DD HH:MM:SS.mmm` (local to the machine; the recordings here are UTC).
 */

export interface GpuReading {
  readonly t: string;
  readonly index: string;
  readonly utilizationGpu: number;
  readonly memoryUsedMiB: number;
  readonly memoryTotalMiB: number;
  readonly powerDrawW: number;
}

export function parseNvidiaSmiCsv(text: string): GpuReading[] {
  const [header, ...lines] = text.split(/\r?\n/).filter((l) => l.trim());
  const columns = header.split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, ''));
  const col = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`nvidia-smi CSV has no ${name} column (columns: ${columns.join(', ')})`);
    return i;
  };
  const [t, index, util, used, total, power] = ['timestamp', 'index', 'utilization.gpu', 'memory.used', 'memory.total', 'power.draw'].map(col);
  return lines.map((line, n) => {
    const cells = line.split(',').map((c) => c.trim());
    const time = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(cells[t]);
    if (!time) throw new Error(`line ${n + 2}: unreadable timestamp ${JSON.stringify(cells[t])}`);
    const number = (i: number) => {
      const v = Number(cells[i]);
      if (!Number.isFinite(v)) throw new Error(`line ${n + 2}: ${columns[i]} is ${JSON.stringify(cells[i])}`);
      return v;
    };
    return { t: new Date(`${time[1]}-${time[2]}-${time[3]}T${time[4]}Z`).toISOString(), index: cells[index], utilizationGpu: number(util), memoryUsedMiB: number(used), memoryTotalMiB: number(total), powerDrawW: number(power) };
  });
}

/** Average per 60-second period, periods counted from `origin` (CloudWatch aligns to the minute). */
export function minuteAverages(readings: readonly GpuReading[], value: (r: GpuReading) => number, origin: string): Array<{ t: string; v: number }> {
  const start = Date.parse(origin);
  const buckets = new Map<number, number[]>();
  for (const r of readings) {
    const b = Math.floor((Date.parse(r.t) - start) / 60_000);
    buckets.set(b, [...(buckets.get(b) ?? []), value(r)]);
  }
  return [...buckets.entries()].sort(([a], [b]) => a - b).map(([b, vs]) => ({ t: new Date(start + b * 60_000).toISOString(), v: vs.reduce((s, x) => s + x, 0) / vs.length }));
}
