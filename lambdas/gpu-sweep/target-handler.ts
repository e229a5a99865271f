/**
 * GPU sweep target Lambda: the SweepTarget state calls it once per account-region. It sweeps with
 * the EC2, SageMaker, Bedrock and CloudWatch clients of the target's region (aws-apis.ts), made
 * once per region for the container's life, and writes to the inventory table. Only the stack's
 * own account is swept until the organization deployment lands.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { createInventoryStore } from '../shared/inventory-store';
import { regionalApis } from './aws-apis';
import { cachedTagLookup } from '../shared/tag-lookup';
import { inventorySource } from './discover';
import { GPU_SWEEP_ENVIRONMENT, sweepSettings } from './environment';
import type { SweepClients, SweepEvent, TargetApis } from './handler';
import { sweepTarget, type TargetResult } from './sweep';

/** Thrown when AWS throttles the sweep: the state machine retries the target with backoff. */
export class SweepThrottledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepThrottledError';
  }
}

const THROTTLING = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown|LimitExceeded/;

export type SweepTargetHandler = Handler<SweepEvent, TargetResult>;

const target = defineHandler({
  environment: GPU_SWEEP_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<SweepClients>): SweepTargetHandler {
    const settings = sweepSettings(env);
    const documents = documentClient(clients.dynamodb);
    const store = clients.store ?? createInventoryStore(documents, env.TABLE_NAME);
    const inventory = clients.inventory ?? inventorySource(documents, env.TABLE_NAME);
    // Control tags set before the deploy (expected-idle, idle-action): looked up, cached in the table.
    const tagLookup = cachedTagLookup(clients.tagLookup, { store, now: Date.now, logger });
    let ownAccount: string | undefined;
    const regional = new Map<string, TargetApis>();
    const forTarget =
      clients.forTarget ??
      ((account: string, region: string): TargetApis => {
        if (ownAccount && account !== ownAccount) throw new Error(`sweeping account ${account} from ${ownAccount} needs the organization deployment (not built yet)`);
        let apis = regional.get(region);
        if (!apis) {
          apis = regionalApis(region);
          regional.set(region, apis);
        }
        return apis;
      });

    return async (event, context) => {
      ownAccount ??= context.invokedFunctionArn?.split(':')[4];
      if (event.step !== 'target') throw new Error(`this function sweeps account-regions; step ${JSON.stringify(event.step)} belongs to the plan-and-summarize function`);
      const { account, region } = event.target;
      try {
        const apis = forTarget(account, region);
        const result = await sweepTarget(event.target, { ...apis, inventory, store, thresholds: settings.thresholds, prices: settings.prices, tagLookup, remediation: { settings: settings.remediation, actions: apis.remediation } });
        logger.info('account-region swept', { ...result });
        metrics.addMetric('SweepResourcesJudged', MetricUnit.Count, result.resources);
        metrics.addMetric('GetMetricDataRequests', MetricUnit.Count, result.getMetricDataRequests);
        return result;
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (THROTTLING.test(name) || (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling) throw new SweepThrottledError(`${account}/${region}: ${name}: ${(error as Error).message}`);
        throw error;
      }
    };
  },
});

/** The SweepTarget step with its environment and clients given (tests, the local run). */
export const createSweepTargetHandler = target.create;

/** The deployed entry point of the SweepTarget state. */
export const handler = target.handler;
