/**
 * LookupEvents history import Lambda: the steps of its state machine
 * (lib/constructs/lookup-history-import.ts). `plan` names the account-regions as discovery does
 * (plan.ts) with the window (the last `days`, 90 by default); `lookup` pages one of them from its
 * cursor (lookup-history.ts) until its time is nearly spent, and is invoked again until done;
 * `summarize` totals the run. A member account is read with its member role, which may call
 * cloudtrail:LookupEvents; a role that cannot be assumed fails its target alone (daily discovery
 * raises `member-role-unavailable` for it).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sendCaptureMessages } from '../shared/capture-queue';
import { compileRules, matchingRules } from '../shared/capture-rules';
import { defineHandler, type Handler } from '../shared/house-handler';
import { memberCredentials, stsAssumeRole, type MemberCredentials } from '../shared/member-credentials';
import { LOOKUP_HISTORY_ENVIRONMENT } from './environment';
import { addTotals, lookUpHistory, lookupWindow, LOOKUP_PAGE_SIZE, NO_TOTALS, type LookupPage, type LookupRequest, type LookupState, type LookupTarget, type LookupTotals } from './lookup-history';
import { planTargets, type AccountRegion } from './plan';

export type LookupHistoryEvent =
  | { readonly step: 'plan'; readonly input?: { readonly days?: number; readonly targets?: ReadonlyArray<AccountRegion> } }
  | ({ readonly step: 'lookup' } & Omit<LookupState, 'done'>)
  | { readonly step: 'summarize'; readonly runId: string; readonly results: ReadonlyArray<LookedUp | FailedLookup> };

/** What the state machine keeps of a finished target (its LookedUp state): the counts, not the cursor. */
export interface LookedUp {
  readonly account: string;
  readonly region: string;
  readonly totals: LookupTotals;
}

export interface FailedLookup {
  readonly failed: true;
  readonly account: string;
  readonly region: string;
  readonly error: string;
}

export interface LookupHistorySummary {
  readonly runId: string;
  readonly targets: number;
  readonly failedTargets: ReadonlyArray<{ account: string; region: string; error: string }>;
  readonly totals: LookupTotals;
}

export type LookupHistoryHandler = Handler<LookupHistoryEvent, { runId: string; targets: Array<Omit<LookupState, 'done'>> } | LookupState | LookupHistorySummary>;

/** The LookupEvents call of one account-region. */
export type LookupEvents = (request: LookupRequest) => Promise<LookupPage>;

export interface LookupHistoryClients {
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly forTarget: (account: string, region: string, member: boolean) => Promise<LookupEvents> | LookupEvents;
  readonly listAccounts: () => Promise<ReadonlyArray<{ readonly id: string }>>;
  readonly memberCredentials: MemberCredentials;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  /** Time an invocation keeps for returning its cursor. @default 60 s */
  readonly reserveMs: number;
}

export function summarizeLookups(runId: string, results: ReadonlyArray<LookedUp | FailedLookup>): LookupHistorySummary {
  const failed = results.filter((r): r is FailedLookup => 'failed' in r);
  const done = results.filter((r): r is LookedUp => !('failed' in r));
  return {
    runId,
    targets: results.length,
    failedTargets: failed.map(({ account, region, error }) => ({ account, region, error })),
    totals: done.reduce((t, r) => addTotals(t, r.totals), NO_TOTALS),
  };
}

/** The SDK's LookupEvents for a region (its standard retries cover network errors; throttling is paced and retried by lookup-history.ts too). */
export function sdkLookupEvents(client: Pick<CloudTrailClient, 'send'>): LookupEvents {
  return (request) =>
    client.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: request.query.key, AttributeValue: request.query.value }],
        StartTime: request.startTime,
        EndTime: request.endTime,
        MaxResults: LOOKUP_PAGE_SIZE,
        ...(request.nextToken ? { NextToken: request.nextToken } : {}),
      }),
    );
}

const lookupHistory = defineHandler({
  environment: LOOKUP_HISTORY_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<LookupHistoryClients>): LookupHistoryHandler {
    const sqs = clients.sqs ?? new SQSClient({ maxAttempts: 6 });
    const now = clients.now ?? Date.now;
    const reserveMs = clients.reserveMs ?? 60_000;
    const organization = Boolean(env.ORGANIZATION_REGIONS);
    const rules = compileRules();
    let ownAccount: string | undefined;
    let credentials: MemberCredentials | undefined;
    const forTarget =
      clients.forTarget ??
      ((account: string, region: string, member: boolean) =>
        sdkLookupEvents(new CloudTrailClient({ region, ...(member ? { credentials: credentials!(account, region) } : {}) })));

    return async (event, context) => {
      ownAccount ??= context.invokedFunctionArn?.split(':')[4];
      if (ownAccount && !credentials) credentials = clients.memberCredentials ?? memberCredentials({ assumeRole: stsAssumeRole(), hubAccount: ownAccount, sessionName: 'ai-visibility-lookup-history' });
      switch (event.step) {
        case 'plan': {
          const at = now();
          const runId = new Date(at).toISOString();
          const window = lookupWindow(event.input?.days, at);
          const pairs = await planTargets({
            configured: env.DISCOVERY_TARGETS,
            organizationRegions: organization ? env.ORGANIZATION_REGIONS : '',
            given: event.input?.targets,
            listAccounts: async () => (clients.listAccounts ?? (await import('../shared/organization-accounts')).organizationAccounts())(),
          });
          const targets = pairs.map((t) => ({ target: { ...t, runId, ...window }, cursor: null, totals: NO_TOTALS }));
          logger.info('lookup history planned', { runId, ...window, targets: targets.length });
          return { runId, targets };
        }
        case 'lookup': {
          const target: LookupTarget = event.target;
          const member = Boolean(ownAccount && target.account !== ownAccount);
          if (member && !organization) throw new Error(`looking up account ${target.account} from ${ownAccount} needs organization mode (docs/organization.md)`);
          const lookup = await forTarget(target.account, target.region, member);
          const before = event.totals ?? NO_TOTALS;
          const state = await lookUpHistory(event, {
            lookup,
            send: (messages) => sendCaptureMessages(sqs, env.CAPTURE_QUEUE_URL, messages),
            keep: (envelope) => matchingRules(envelope, rules).length > 0,
            hasTime: () => (context.getRemainingTimeInMillis?.() ?? Infinity) > reserveMs,
            now,
            sleep: clients.sleep,
            random: clients.random,
            onTooLarge: (eventIds) => logger.error('matched calls too large for a message; not recorded', { account: target.account, region: target.region, eventIds }),
          });
          const t = state.totals;
          metrics.addMetric('LookupEventsRead', MetricUnit.Count, t.events - before.events);
          metrics.addMetric('LookupEventsMatched', MetricUnit.Count, t.matched - before.matched);
          metrics.addMetric('LookupEventsThrottled', MetricUnit.Count, t.throttled - before.throttled);
          if (t.unreadable > before.unreadable) logger.warn('event history entries not CloudTrail records: counted, not sent', { account: target.account, region: target.region, count: t.unreadable - before.unreadable });
          logger.info(state.done ? 'account-region looked up' : 'account-region paged; continuing', { account: target.account, region: target.region, runId: target.runId, done: state.done, ...t });
          return state;
        }
        case 'summarize': {
          const summary = summarizeLookups(event.runId, event.results);
          metrics.addMetric('LookupHistoryFailedTargets', MetricUnit.Count, summary.failedTargets.length);
          logger.info('lookup history summary', { ...summary });
          return summary;
        }
        default:
          throw new Error(`unknown step ${JSON.stringify((event as { step?: unknown }).step)}`);
      }
    };
  },
});

/** The steps with their environment and clients given (tests, the local run). */
export const createLookupHistoryHandler = lookupHistory.create;

/** The deployed entry point of the state machine's Task states. */
export const handler = lookupHistory.handler;
