/**
 * Discovery Lambda: the listing state machine's three steps. `plan` names the account-regions
 * (the configured ones, and in organization mode every active account of the organization in
 * its regions); `target` lists one of them and records what it found (discover.ts), in a member
 * account with its member role; `summarize` totals the run and publishes the metrics the
 * dashboard shows (found by listing per account, gone, failed APIs).
 *
 * A target whose member role cannot be assumed fails alone (the state machine records it and
 * goes on) and raises `member-role-unavailable` once a day; an API the role may not call is
 * reported in the target's result, and judges nothing gone.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { documentClient } from '../shared/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';
import { findingItem } from '../shared/items';
import { sqsLineageQueue } from '../shared/lineage-queue';
import { memberCredentials, MemberRoleUnavailableError, memberRoleFinding, stsAssumeRole, type MemberCredentials } from '../shared/member-credentials';
import type { LineageQueue } from '../core/lineage';
import { discoverTarget } from './discover';
import { DISCOVERY_ENVIRONMENT } from './environment';
import { planTargets } from './plan';
import type { ListingClients } from './listers';
import { storedResourcesOf, type ListingReport } from './record';

export interface DiscoveryTarget {
  readonly account: string;
  readonly region: string;
  readonly runId: string;
}

export type DiscoveryEvent =
  | { readonly step: 'plan'; readonly input?: { readonly targets?: ReadonlyArray<{ account: string; region: string }> } }
  | { readonly step: 'target'; readonly target: DiscoveryTarget }
  | { readonly step: 'summarize'; readonly runId: string; readonly results: ReadonlyArray<TargetOutcome | FailedTarget> };

/** What the state machine keeps of a target: the report's counts, not every ARN (the state payload is limited to 256 KB). */
export interface TargetOutcome {
  readonly account: string;
  readonly region: string;
  readonly listed: number;
  readonly foundByListing: number;
  readonly gone: number;
  readonly findings: number;
  readonly lineageEdges: number;
  readonly failedApis: ReadonlyArray<{ api: string; code: string; message: string }>;
}

export interface FailedTarget {
  readonly failed: true;
  readonly account: string;
  readonly region: string;
  readonly error: string;
}

export interface DiscoverySummary {
  readonly runId: string;
  readonly targets: number;
  readonly failedTargets: ReadonlyArray<{ account: string; region: string; error: string }>;
  readonly listed: number;
  readonly foundByListing: number;
  readonly gone: number;
  readonly findings: number;
  readonly failedApis: number;
  readonly byAccount: Readonly<Record<string, { listed: number; foundByListing: number; gone: number }>>;
}

export type DiscoveryHandler = Handler<DiscoveryEvent, { runId: string; targets: DiscoveryTarget[] } | TargetOutcome | DiscoverySummary>;

export interface DiscoveryClients {
  readonly dynamodb: DynamoDBClient;
  readonly store: InventoryStore;
  readonly lineage: LineageQueue;
  /** The listing clients of a region, with a member's credentials where given. @default the SDK clients (aws-clients.ts) */
  readonly forTarget: (account: string, region: string, member: boolean) => Promise<ListingClients>;
  readonly listAccounts: () => Promise<ReadonlyArray<{ readonly id: string }>>;
  readonly memberCredentials: MemberCredentials;
  readonly now: () => Date;
}

export function outcomeOf(report: ListingReport): TargetOutcome {
  return {
    account: report.account,
    region: report.region,
    listed: report.listed,
    foundByListing: report.foundByListing.length,
    gone: report.gone.length,
    findings: report.findings,
    lineageEdges: report.lineageEdges,
    failedApis: report.apis.filter((a) => !a.complete).map((a) => ({ api: a.api, code: a.error?.code ?? 'Error', message: a.error?.message ?? '' })),
  };
}

export function summarizeDiscovery(runId: string, results: ReadonlyArray<TargetOutcome | FailedTarget>): DiscoverySummary {
  const done = results.filter((r): r is TargetOutcome => !('failed' in r));
  const byAccount: Record<string, { listed: number; foundByListing: number; gone: number }> = {};
  for (const r of done) {
    const a = (byAccount[r.account] ??= { listed: 0, foundByListing: 0, gone: 0 });
    a.listed += r.listed;
    a.foundByListing += r.foundByListing;
    a.gone += r.gone;
  }
  const sum = (f: (r: TargetOutcome) => number) => done.reduce((n, r) => n + f(r), 0);
  return {
    runId,
    targets: results.length,
    failedTargets: results.filter((r): r is FailedTarget => 'failed' in r).map(({ account, region, error }) => ({ account, region, error })),
    listed: sum((r) => r.listed),
    foundByListing: sum((r) => r.foundByListing),
    gone: sum((r) => r.gone),
    findings: sum((r) => r.findings),
    failedApis: sum((r) => r.failedApis.length),
    byAccount,
  };
}

const discovery = defineHandler({
  environment: DISCOVERY_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<DiscoveryClients>): DiscoveryHandler {
    const documents = documentClient(clients.dynamodb);
    const store = clients.store ?? createInventoryStore(documents, env.TABLE_NAME);
    const lineage = clients.lineage ?? sqsLineageQueue(new SQSClient({}), env.LINEAGE_QUEUE_URL);
    const now = clients.now ?? (() => new Date());
    const organization = Boolean(env.ORGANIZATION_REGIONS);
    let ownAccount: string | undefined;
    let credentials: MemberCredentials | undefined;
    const forTarget =
      clients.forTarget ??
      (async (account: string, region: string, member: boolean) => {
        const { listingClients } = await import('./aws-clients');
        return listingClients(region, member ? { credentials: credentials!(account, region) } : {});
      });

    return async (event, context) => {
      ownAccount ??= context.invokedFunctionArn?.split(':')[4];
      if (ownAccount && !credentials) credentials = clients.memberCredentials ?? memberCredentials({ assumeRole: stsAssumeRole(), hubAccount: ownAccount, sessionName: 'ai-visibility-discovery' });
      switch (event.step) {
        case 'plan': {
          const runId = now().toISOString();
          const pairs = await planTargets({
            configured: env.DISCOVERY_TARGETS,
            organizationRegions: organization ? env.ORGANIZATION_REGIONS : '',
            given: event.input?.targets,
            listAccounts: async () => (clients.listAccounts ?? (await import('../shared/organization-accounts')).organizationAccounts())(),
          });
          const targets = pairs.map((t) => ({ ...t, runId }));
          metrics.addMetric('DiscoveryTargetsPlanned', MetricUnit.Count, targets.length);
          return { runId, targets };
        }
        case 'target': {
          const { account, region, runId } = event.target;
          const member = Boolean(ownAccount && account !== ownAccount);
          if (member && !organization) throw new Error(`listing account ${account} from ${ownAccount} needs organization mode (docs/organization.md)`);
          try {
            const listing = await forTarget(account, region, member);
            const report = await discoverTarget({ account, region }, listing, { store, storedResources: storedResourcesOf(documents, env.TABLE_NAME), lineage }, { runId, now });
            const outcome = outcomeOf(report);
            logger.info('account-region listed', { ...outcome });
            for (const a of outcome.failedApis) logger.warn('API not listed: its kinds are not judged gone', { account, region, ...a });
            metrics.addMetric('ResourcesListed', MetricUnit.Count, outcome.listed);
            metrics.addMetric('ListingApiFailures', MetricUnit.Count, outcome.failedApis.length);
            return outcome;
          } catch (error) {
            if (error instanceof MemberRoleUnavailableError || (error as { name?: string }).name === 'MemberRoleUnavailableError') {
              const refused = error as MemberRoleUnavailableError;
              logger.error('member role unavailable: account-region not listed', { account, region, roleArn: refused.roleArn, reason: refused.reason });
              metrics.addMetric('MemberRoleUnavailable', MetricUnit.Count, 1);
              await store.putItems([findingItem(memberRoleFinding(refused, region, now().getTime(), 'discovery'), 'discovery')]).catch((e: unknown) => logger.warn('member-role-unavailable finding not written', { error: String(e) }));
            }
            throw error;
          }
        }
        case 'summarize': {
          const summary = summarizeDiscovery(event.runId, event.results);
          metrics.addMetric('DiscoveryFailedTargets', MetricUnit.Count, summary.failedTargets.length);
          metrics.addMetric('ResourcesGone', MetricUnit.Count, summary.gone);
          // What capture missed, in all; per account, the dashboard counts the targets' log lines
          // (a custom metric per account would cost $0.30 a month each).
          metrics.addMetric('FoundByListing', MetricUnit.Count, summary.foundByListing);
          logger.info('discovery summary', { ...summary });
          return summary;
        }
        default:
          throw new Error(`unknown step ${JSON.stringify((event as { step?: unknown }).step)}`);
      }
    };
  },
});

/** The discovery steps with their environment and clients given (tests, the local run). */
export const createDiscoveryHandler = discovery.create;

/** The deployed entry point of the discovery state machine's Task states. */
export const handler = discovery.handler;
