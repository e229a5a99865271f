/**
 * GPU sweep target Lambda: the SweepTarget state calls it once per account-region. It sweeps with
 * the EC2, SageMaker, Bedrock and CloudWatch clients of the target's region (aws-apis.ts), made
 * once per account and region for the container's life, and writes to the inventory table. In
 * organization mode a member account is swept with its member role's credentials
 * (lambdas/shared/member-credentials.ts); a member whose role cannot be assumed fails alone, is
 * logged, counted (`MemberRoleUnavailable`) and raises `member-role-unavailable` once a day.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { createInventoryStore } from '../shared/inventory-store';
import { regionalApis } from './aws-apis';
import { cachedTagLookup } from '../shared/tag-lookup';
import { accountItem, findingItem } from '../shared/items';
import { memberCredentials, MemberRoleUnavailableError, memberRoleFinding, stsAssumeRole, type MemberCredentials } from '../shared/member-credentials';
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
    let ownAccount: string | undefined;
    let credentials: MemberCredentials | undefined;
    const tagLookup = cachedTagLookup(clients.tagLookup, { store, now: Date.now, logger, credentials: (account, region) => credentials?.(account, region) });
    const organization = Boolean(env.ORGANIZATION_REGIONS);
    const regional = new Map<string, TargetApis>();
    const forTarget =
      clients.forTarget ??
      ((account: string, region: string): TargetApis => {
        const member = ownAccount && account !== ownAccount;
        if (member && !organization) throw new Error(`sweeping account ${account} from ${ownAccount} needs organization mode (docs/organization.md)`);
        let apis = regional.get(`${account}:${region}`);
        if (!apis) {
          apis = regionalApis(region, member ? credentials?.(account, region) : undefined);
          regional.set(`${account}:${region}`, apis);
        }
        return apis;
      });

    return async (event, context) => {
      ownAccount ??= context.invokedFunctionArn?.split(':')[4];
      if (ownAccount && !credentials) credentials = clients.memberCredentials ?? memberCredentials({ assumeRole: stsAssumeRole(), hubAccount: ownAccount, sessionName: 'ai-visibility-gpu-sweep' });
      if (event.step !== 'target') throw new Error(`this function sweeps account-regions; step ${JSON.stringify(event.step)} belongs to the plan-and-summarize function`);
      const { account, region } = event.target;
      try {
        // Organization mode: the account's name and OU path, for reports and routing (one put per account-region and sweep).
        if (event.target.directory) {
          await store
            .putItems([accountItem({ id: account, name: event.target.directory.name, ouPath: event.target.directory.ouPath, seenAt: event.target.window.end })])
            .catch((error: unknown) => logger.warn('account directory not recorded; the sweep goes on', { account, error: String(error) }));
        }
        const apis = forTarget(account, region);
        const result = await sweepTarget(event.target, { ...apis, inventory, store, thresholds: settings.thresholds, prices: settings.prices, tagLookup, remediation: { settings: settings.remediation, actions: apis.remediation } });
        logger.info('account-region swept', { ...result });
        metrics.addMetric('SweepResourcesJudged', MetricUnit.Count, result.resources);
        metrics.addMetric('GetMetricDataRequests', MetricUnit.Count, result.getMetricDataRequests);
        return result;
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (error instanceof MemberRoleUnavailableError || name === 'MemberRoleUnavailableError') {
          // That account fails alone (the state machine records it and sweeps the others), once a day as a finding.
          const refused = error as MemberRoleUnavailableError;
          logger.error('member role unavailable: account-region not swept', { account, region, roleArn: refused.roleArn, reason: refused.reason });
          metrics.addMetric('MemberRoleUnavailable', MetricUnit.Count, 1);
          await store.putItems([findingItem(memberRoleFinding(refused, region, Date.now(), 'the GPU sweep'), 'gpu-sweep')]).catch((e: unknown) => logger.warn('member-role-unavailable finding not written', { error: String(e) }));
          throw error;
        }
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
