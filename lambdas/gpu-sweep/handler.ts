/**
 * GPU sweep Lambda: the three Task states of the sweep state machine call this one function with
 * `step` set to `plan`, `target` or `summarize` (sweep.ts does the work). Thin: clients for the
 * target's region, the summary event and the metrics for alarms.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { BedrockClient } from '@aws-sdk/client-bedrock';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler, type HouseTools } from '../shared/house-handler';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';
import { awsDiscovery, inventorySource, type Discovery, type InventorySource } from './discover';
import { GPU_SWEEP_ENVIRONMENT, sweepSettings, type GpuSweepEnvironment } from './environment';
import type { MetricReader } from './metrics';
import { plan, summarize, sweepTarget, type FailedTarget, type Plan, type PlanInput, type SweepSummary, type TargetResult } from './sweep';

export type SweepEvent =
  | ({ readonly step: 'plan' } & { readonly input?: PlanInput })
  | ({ readonly step: 'target' } & { readonly target: Plan['targets'][number] })
  | { readonly step: 'summarize'; readonly plan: Pick<Plan, 'sweepId' | 'window'>; readonly results: ReadonlyArray<TargetResult | FailedTarget> };

export type SweepHandler = Handler<SweepEvent, Plan | TargetResult | SweepSummary>;

/** Thrown when AWS throttles the sweep: the state machine retries the target with backoff. */
export class SweepThrottledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepThrottledError';
  }
}

const THROTTLING = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown|LimitExceeded/;

export interface SweepClients {
  readonly store: InventoryStore;
  readonly dynamodb: DynamoDBClient;
  /** Per account-region discovery and metrics. @default the AWS APIs of the target's region (own account only) */
  readonly forTarget: (account: string, region: string) => { discovery: Discovery; metrics: MetricReader };
  readonly inventory: InventorySource;
  /** Where the summary goes. @default EventBridge PutEvents on SUMMARY_EVENT_BUS */
  readonly publish: (summary: SweepSummary) => Promise<void>;
  readonly now: () => number;
}

export const SUMMARY_SOURCE = 'ai-visibility';
export const SUMMARY_DETAIL_TYPE = 'GPU Utilization Sweep Summary';

const sweep = defineHandler({
  environment: GPU_SWEEP_ENVIRONMENT,
  build: (tools, clients: Partial<SweepClients>): SweepHandler => sweepSteps(tools.env, tools, clients),
});

/** The sweep function with its environment and clients given (tests, the local run). */
export const createSweepHandler = sweep.create;

/** The deployed entry point. */
export const handler = sweep.handler;

function sweepSteps(env: GpuSweepEnvironment, { logger, metrics }: Pick<HouseTools<unknown>, 'logger' | 'metrics'>, clients: Partial<SweepClients>): SweepHandler {
  const documents = documentClient(clients.dynamodb);
  const store = clients.store ?? createInventoryStore(documents, env.TABLE_NAME);
  const inventory = clients.inventory ?? inventorySource(documents, env.TABLE_NAME);
  const settings = sweepSettings(env);
  const now = clients.now ?? Date.now;
  let ownAccount: string | undefined;
  // SDK clients once per region for the container's life, not per invocation.
  const regional = new Map<string, { discovery: Discovery; metrics: MetricReader }>();
  const forTarget =
    clients.forTarget ??
    ((account: string, region: string) => {
      if (ownAccount && account !== ownAccount) throw new Error(`sweeping account ${account} from ${ownAccount} needs the organization deployment (not built yet)`);
      let apis = regional.get(region);
      if (!apis) {
        const cloudwatch = new CloudWatchClient({ region });
        apis = {
          discovery: awsDiscovery({ ec2: new EC2Client({ region }), sagemaker: new SageMakerClient({ region }), bedrock: new BedrockClient({ region }) }),
          metrics: { getMetricData: (input) => cloudwatch.send(new GetMetricDataCommand(input)) },
        };
        regional.set(region, apis);
      }
      return apis;
    });
  const events = new EventBridgeClient({});
  const publish =
    clients.publish ??
    (async (summary: SweepSummary) => {
      const out = await events.send(new PutEventsCommand({ Entries: [{ Source: SUMMARY_SOURCE, DetailType: SUMMARY_DETAIL_TYPE, Detail: JSON.stringify(summary), EventBusName: env.SUMMARY_EVENT_BUS }] }));
      if (out.FailedEntryCount) throw new Error(`sweep summary not published: ${out.Entries?.[0]?.ErrorCode} ${out.Entries?.[0]?.ErrorMessage ?? ''}`);
    });

  return async (event, context) => {
    ownAccount ??= context.invokedFunctionArn?.split(':')[4];
    switch (event.step) {
      case 'plan': {
        const planned = plan(event.input ?? {}, settings, now());
        metrics.addMetric('SweepTargetsPlanned', MetricUnit.Count, planned.targets.length);
        return planned;
      }
      case 'target': {
        const { account, region } = event.target;
        try {
          const result = await sweepTarget(event.target, { ...forTarget(account, region), inventory, store, thresholds: settings.thresholds, prices: settings.prices });
          logger.info('account-region swept', { ...result });
          metrics.addMetric('SweepResourcesJudged', MetricUnit.Count, result.resources);
          metrics.addMetric('GetMetricDataRequests', MetricUnit.Count, result.getMetricDataRequests);
          return result;
        } catch (error) {
          const name = (error as { name?: string }).name ?? '';
          if (THROTTLING.test(name) || (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling) throw new SweepThrottledError(`${account}/${region}: ${name}: ${(error as Error).message}`);
          throw error;
        }
      }
      case 'summarize': {
        const summary = summarize(event.plan, event.results);
        metrics.addMetric('IdleGpuCount', MetricUnit.Count, summary.idleAccelerators);
        metrics.addMetric('IdleGpuCostPerHour', MetricUnit.NoUnit, summary.wastedPerHour);
        metrics.addMetric('MemoryHeldIdleResources', MetricUnit.Count, summary.verdicts['memory-held-idle']);
        metrics.addMetric('UnderutilizedResources', MetricUnit.Count, summary.verdicts.underutilized);
        metrics.addMetric('NoTelemetryResources', MetricUnit.Count, summary.verdicts['no-telemetry']);
        metrics.addMetric('SweepFailedTargets', MetricUnit.Count, summary.failedTargets.length);
        await publish(summary);
        logger.info('sweep summary', { ...summary });
        return summary;
      }
    }
  };
}
