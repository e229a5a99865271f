/**
 * The GPU sweep at scale: 10,000 GPU instances across 100 account-regions, through the
 * synthesized state machine (aws-local-stepfunctions, the Map's own MaxConcurrency) and the
 * sweep Lambda's own handler, with simulated API latency. Reports the GetMetricData calls per
 * account-region against ceil(queries / 500), the state transitions a Standard workflow bills,
 * and the duration. The table is a store that writes nothing (its cost is computed).
 */
import type { GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { MAX_QUERIES_PER_CALL, type MetricReader, type SweepTarget } from '../../lambdas/gpu-sweep/metrics';
import { nullStore } from './null-store';
import { runSweepStateMachine } from '../../local/sweep/local-sweep';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 40 % g5.xlarge (1 GPU), 30 % g6.12xlarge (4), 20 % p4d.24xlarge (8), 10 % p5.48xlarge (8). */
const MIX = ['g5.xlarge', 'g5.xlarge', 'g5.xlarge', 'g5.xlarge', 'g6.12xlarge', 'g6.12xlarge', 'g6.12xlarge', 'p4d.24xlarge', 'p4d.24xlarge', 'p5.48xlarge'];

export async function sweepScale(options: { accountRegions: number; instancesEach: number; discoveryLatencyMs: number; metricLatencyMs: number }) {
  const window = { start: '2026-11-25T00:00:00.000Z', end: '2026-11-25T01:00:00.000Z' };
  const pairs = Array.from({ length: options.accountRegions }, (_, i) => `${100000000000 + i}:us-east-1`);
  const perAccountRegion = new Map<string, { queries: number; requests: number }>();
  const targetsOf = (account: string, region: string): SweepTarget[] =>
    Array.from({ length: options.instancesEach }, (_, i) => {
      const id = `i-${account.slice(-6)}${String(i).padStart(11, '0')}`;
      return { arn: `arn:aws:ec2:${region}:${account}:instance/${id}`, kind: 'gpu-instance', account, region, name: id, instanceType: MIX[i % MIX.length], instanceCount: 1, foundBy: ['discovery'] };
    });
  const reader = (key: string): MetricReader => ({
    async getMetricData(input: GetMetricDataCommandInput) {
      await sleep(options.metricLatencyMs);
      const counts = perAccountRegion.get(key) ?? { queries: 0, requests: 0 };
      counts.queries += input.MetricDataQueries!.length;
      counts.requests++;
      perAccountRegion.set(key, counts);
      const start = Date.parse(window.start);
      // Sixty 1-minute points a query; values vary by query so every verdict occurs.
      return {
        MetricDataResults: input.MetricDataQueries!.map((q, n) => ({
          Id: q.Id,
          StatusCode: 'Complete',
          Timestamps: Array.from({ length: 60 }, (_, m) => new Date(start + m * 60_000)),
          Values: Array.from({ length: 60 }, () => [0, 2, 25, 80, 60][n % 5]),
        })),
      };
    },
  });
  const started = process.hrtime.bigint();
  const run = await runSweepStateMachine({
    pairs,
    window,
    clients: {
      store: nullStore(),
      inventory: { gpuInstances: async () => [] },
      forTarget: (account, region) => ({
        discovery: {
          discover: async () => {
            await sleep(options.discoveryLatencyMs);
            return targetsOf(account, region);
          },
        },
        metrics: reader(`${account}:${region}`),
      }),
    },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const each = [...perAccountRegion.values()];
  return {
    ...run,
    seconds,
    accountRegions: pairs.length,
    callsMatchCeil: each.every((c) => c.requests === Math.ceil(c.queries / MAX_QUERIES_PER_CALL)),
    queriesPerAccountRegion: each[0]?.queries ?? 0,
    callsPerAccountRegion: each[0]?.requests ?? 0,
  };
}
