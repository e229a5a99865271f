/**
 * GPU sweep Lambdas. The sweep state machine's Task states call two functions with `step` set:
 * this one for `plan` and `summarize`, which bundles no DynamoDB, discovery or metrics client and
 * so starts fast, and target-handler.ts for `target`, which sweeps one account-region with the
 * EC2, SageMaker, Bedrock and CloudWatch clients of its region (sweep.ts does the work of all
 * three). The local runtime serves every step with both (local/handlers.ts).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { defineHandler, type Handler } from '../shared/house-handler';
import type { InventoryStore } from '../shared/inventory-store';
import type { Discovery, InventorySource } from './discover';
import { GPU_SWEEP_ENVIRONMENT, sweepSettings } from './environment';
import type { MetricReader } from './metrics';
import type { TagLookupApis } from '../shared/tag-lookup';
import type { MemberCredentials } from '../shared/member-credentials';
import { plan, summarize, type FailedTarget, type Plan, type PlanInput, type RemediationActions, type SweepSummary, type TargetResult } from './sweep';

export type SweepEvent =
  | ({ readonly step: 'plan' } & { readonly input?: PlanInput })
  | ({ readonly step: 'target' } & { readonly target: Plan['targets'][number] })
  | { readonly step: 'summarize'; readonly plan: Pick<Plan, 'sweepId' | 'window'>; readonly results: ReadonlyArray<TargetResult | FailedTarget> };

export type SweepHandler = Handler<SweepEvent, Plan | TargetResult | SweepSummary>;

export interface SweepClients {
  /** Where the target step writes (the target function: the inventory table). */
  readonly store: InventoryStore;
  /** The target function's DynamoDB client (for the store and the inventory). */
  readonly dynamodb: DynamoDBClient;
  /** Per account-region discovery and metrics (the target function: the AWS APIs of the target's region, own account only). */
  readonly forTarget: (account: string, region: string) => TargetApis;
  /** Where control tags are looked up; null: no lookups (the local run). @default the Tagging API */
  readonly tagLookup: TagLookupApis | null;
  /** The inventory's GPU instances (the target function: the table's byAccount index). */
  readonly inventory: InventorySource;
  /** Where the summary goes. @default EventBridge PutEvents on SUMMARY_EVENT_BUS */
  readonly publish: (summary: SweepSummary) => Promise<void>;
  readonly now: () => number;
  /** Organization mode: the active accounts of the organization, with their names and OU paths. @default Organizations ListAccounts and ListParents */
  readonly listAccounts: () => Promise<ReadonlyArray<{ readonly id: string; readonly name: string; readonly ouPath: readonly string[] }>>;
  /** Organization mode: credentials of a member account (the target function). @default AssumeRole of its member role */
  readonly memberCredentials: MemberCredentials;
}

export interface TargetApis {
  readonly discovery: Discovery;
  readonly metrics: MetricReader;
  /** What the remediation may do there (mode on). @default none: a plan to stop fails, recorded */
  readonly remediation?: RemediationActions;
}

export const SUMMARY_SOURCE = 'ai-visibility';
export const SUMMARY_DETAIL_TYPE = 'GPU Utilization Sweep Summary';

const control = defineHandler({
  environment: GPU_SWEEP_ENVIRONMENT,
  build: ({ env, logger, metrics }, clients: Partial<SweepClients>): SweepHandler => {
    const settings = sweepSettings(env);
    const now = clients.now ?? Date.now;
    let events: EventBridgeClient | undefined;
    const publish =
      clients.publish ??
      (async (summary: SweepSummary) => {
        events ??= new EventBridgeClient({});
        const out = await events.send(new PutEventsCommand({ Entries: [{ Source: SUMMARY_SOURCE, DetailType: SUMMARY_DETAIL_TYPE, Detail: JSON.stringify(summary), EventBusName: env.SUMMARY_EVENT_BUS }] }));
        if (out.FailedEntryCount) throw new Error(`sweep summary not published: ${out.Entries?.[0]?.ErrorCode} ${out.Entries?.[0]?.ErrorMessage ?? ''}`);
      });

    return async (event) => {
      switch (event.step) {
        case 'plan': {
          const orgRegions = env.ORGANIZATION_REGIONS ? env.ORGANIZATION_REGIONS.split(',') : [];
          let targets = settings.targets;
          if (orgRegions.length > 0) {
            // Every active account x the organization's regions, and the configured pairs, once each.
            const listAccounts = clients.listAccounts ?? (await import('../shared/organization-accounts')).organizationAccounts();
            const accounts = await listAccounts();
            const directory = new Map(accounts.map((a) => [a.id, { name: a.name, ouPath: a.ouPath }]));
            const pairs = new Map(
              [...settings.targets, ...accounts.flatMap((a) => orgRegions.map((region) => ({ account: a.id, region })))].map((t) => {
                const listed = directory.get(t.account);
                return [`${t.account}:${t.region}`, listed ? { ...t, directory: listed } : t];
              }),
            );
            targets = [...pairs.values()];
            metrics.addMetric('OrganizationAccounts', MetricUnit.Count, accounts.length);
          }
          const planned = plan(event.input ?? {}, { ...settings, targets }, now());
          metrics.addMetric('SweepTargetsPlanned', MetricUnit.Count, planned.targets.length);
          return planned;
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
        default:
          throw new Error(`this function plans and summarizes sweeps; step ${JSON.stringify(event.step)} belongs to the target function`);
      }
    };
  },
});

/** The Plan and Summarize steps with their environment and clients given (tests, the local run). */
export const createSweepControlHandler = control.create;

/** The deployed entry point of the Plan and Summarize states. */
export const handler = control.handler;
