/**
 * The model-use step of a batch: the LLMjacking detections, which judge an event against what
 * came before it, in this batch or in earlier ones, whatever the order of arrival.
 *
 * - `model-recon-then-invoke`: reconnaissance (MODEL_RECON_EVENTS) and then, within
 *   `reconWindowMs`, the principal's first model invocation ever seen (any attempt: attackers
 *   test access with calls that fail validation). Either half may arrive first: the recon leaves
 *   a marker, the first invocation a first-of item, and each half looks for the other.
 * - `model-invoked-new-region`: an account's first successful invocation in a region, at least
 *   `baselineMs` after its first anywhere (so the first day of use is a baseline, not news).
 *   Judged again whenever the account's first-of-region items change: a history import arrives
 *   newest first, and the baseline region may come last.
 * - `model-first-use`: an account's first successful invocation of a model, once the account has
 *   a baseline, by a principal that is not a known AI application (configured, an agent, or one
 *   that invoked models `baselineMs` before). Low severity: a digest item.
 * - `model-invocation-probing`: `probe.count` refused invocations (ValidationException,
 *   AccessDenied) of one principal within `probe.windowMs` (bursts.ts).
 *
 * The first-of items keep the earliest event (the store's putIfEarlier); each first-of-region and
 * first-of-model item raises at most one finding (its `flaggedAt`, set once the finding is
 * written). Writes come before reads: of two batches that race, at least one sees the other's.
 * Known AI applications' reconnaissance is neither captured (the ModelRecon rule) nor marked here.
 */
import { finding, type FindingRuleId } from '../core/findings';
import { resolveModelId } from '../core/arn';
import { MODEL_RECON_EVENTS } from '../core/capture-patterns';
import { MODEL_USE_DEFAULTS } from '../core/defaults';
import type { FindingObservation, FindingOccasion, PrincipalObservation, Severity, Signal } from '../core/model';
import { OWN_ACTIVITY } from './classify';
import { completedBursts, type Occurrence } from './bursts';
import { eventSignal, signal, str } from './evidence';
import { callerOf } from './agents/identify';
import type { BatchEvent } from './agents/analyze';
import type { NormalizedEvent } from './types';
import type { InventoryStore } from '../shared/inventory-store';
import { orderKey } from '../shared/inventory-store';
import { contentHashOf } from './normalize';
import { firstInvocationFields, keys, keyString, RANGES, readFirstInvocation, readUsageMarker, usageMarkerItem, type FirstInvocation, type Key, type UsageMarker } from '../shared/items';
import { groupBy } from '../shared/collections';
import { pool } from '../shared/pool';

export interface ModelUseSettings {
  readonly reconWindowMs: number;
  readonly probe: { readonly count: number; readonly windowMs: number };
  readonly baselineMs: number;
  /** Role ARN patterns (`*` any run of characters) of known AI applications (config modelUse.knownAiApplications). */
  readonly knownAiApplications: readonly string[];
}

export const DEFAULT_MODEL_USE_SETTINGS: ModelUseSettings = {
  reconWindowMs: MODEL_USE_DEFAULTS.reconWindowMinutes * 60_000,
  probe: { count: MODEL_USE_DEFAULTS.probeBurstCount, windowMs: MODEL_USE_DEFAULTS.probeBurstSeconds * 1000 },
  baselineMs: MODEL_USE_DEFAULTS.baselineHours * 3_600_000,
  knownAiApplications: [],
};

/** The store operations the step uses. */
export type ModelUseStore = Pick<InventoryStore, 'putItems' | 'putIfEarlier' | 'getItems' | 'queryRange' | 'setFieldsIf'>;

/** Direct model invocations (the Bedrock runtime; CloudTrail names the model in requestParameters.modelId). */
export const MODEL_INVOCATIONS: ReadonlySet<string> = new Set(['InvokeModel', 'InvokeModelWithResponseStream', 'InvokeModelWithBidirectionalStream', 'Converse', 'ConverseStream', 'StartAsyncInvoke']);

/** Refusals that probing leaves: requests that fail validation (access confirmed at no cost) or are denied. */
const PROBE_ERRORS = /^(ValidationException|AccessDenied(Exception)?)$/;

interface Caller {
  readonly arn: string;
  /** A long-term credential: an IAM user, the root user, an AKIA access key. */
  readonly longTerm: boolean;
  /** Configured as a known AI application, or an agent. */
  readonly known: boolean;
}

interface Sighting {
  readonly messageId: string;
  readonly event: NormalizedEvent;
  readonly caller: Caller;
}

interface Attempt extends Sighting {
  /** The model's ARN as the inventory names it; undefined when the record names none. */
  readonly model?: string;
  readonly succeeded: boolean;
  readonly refused: boolean;
}

export interface ModelUseAnalysis {
  readonly findings: Array<{ readonly messageIds: ReadonlySet<string>; readonly finding: FindingObservation }>;
  /** Set the flags of the first-of items whose findings were written (call once they are). */
  readonly afterWritten: (written: ReadonlySet<string>) => Promise<void>;
  readonly counts: { readonly recon: number; readonly attempts: number; readonly refused: number };
}

const ms = Date.parse;
const orderOf = (e: NormalizedEvent) => orderKey({ time: e.time, eventId: e.eventId, contentHash: contentHashOf(e) });
const service = (e: { eventName: string }) => `bedrock:${e.eventName}`;

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function callerFrom(event: NormalizedEvent, p: PrincipalObservation, known: readonly RegExp[], agents: ReadonlySet<string>): Caller {
  const type = str(event.record, 'userIdentity.type');
  const role = str(event.record, 'userIdentity.sessionContext.sessionIssuer.arn') ?? p.iamArn ?? p.arn;
  return {
    arn: p.arn,
    longTerm: type === 'IAMUser' || type === 'Root' || (str(event.record, 'userIdentity.accessKeyId') ?? '').startsWith('AKIA'),
    known: agents.has(p.arn) || known.some((re) => re.test(role)),
  };
}

/** The batch's reconnaissance and model invocations, with their callers. */
export function modelUseSightings(batch: readonly BatchEvent[], settings: Pick<ModelUseSettings, 'knownAiApplications'>, agents: ReadonlySet<string> = new Set()): { recon: Sighting[]; attempts: Attempt[] } {
  const known = settings.knownAiApplications.map(wildcard);
  const recon: Sighting[] = [];
  const attempts: Attempt[] = [];
  for (const b of batch) {
    const e = b.event;
    if (b.classification.ignoredBecause === OWN_ACTIVITY || e.eventSource !== 'bedrock.amazonaws.com') continue;
    const isRecon = MODEL_RECON_EVENTS.has(e.eventName);
    if (!isRecon && !MODEL_INVOCATIONS.has(e.eventName)) continue;
    const p = callerOf(e, b.classification);
    if (!p || p.type === 'AWSService') continue;
    const caller = callerFrom(e, p, known, agents);
    if (isRecon) {
      if (!caller.known) recon.push({ messageId: b.messageId, event: e, caller });
      continue;
    }
    const modelId = str(e.record, 'requestParameters.modelId');
    const model = modelId ? resolveModelId(e, modelId)?.arn : undefined;
    attempts.push({ messageId: b.messageId, event: e, caller, model, succeeded: !e.errorCode, refused: PROBE_ERRORS.test(e.errorCode ?? '') });
  }
  return { recon, attempts };
}

const earliestBy = <T extends Sighting>(list: readonly T[], keyOf: (t: T) => string | undefined): Map<string, T> => {
  const out = new Map<string, T>();
  for (const s of list) {
    const k = keyOf(s);
    if (k === undefined) continue;
    const held = out.get(k);
    if (!held || orderOf(s.event) < orderOf(held.event)) out.set(k, s);
  }
  return out;
};

const firstFields = (a: Attempt, scope: 'principal' | 'region' | 'model') =>
  firstInvocationFields({ time: a.event.time, eventId: a.event.eventId, account: a.event.account, region: a.event.region, principal: a.caller.arn, model: a.model ?? 'unknown', eventName: a.event.eventName, longTerm: a.caller.longTerm }, scope);

const occasionOf = (f: FirstInvocation): FindingOccasion => ({ eventId: f.eventId, time: f.time, account: f.account, region: f.region });
const firstSignal = (f: FirstInvocation, note: string): Signal => ({ eventName: f.eventName, path: 'requestParameters.modelId', value: f.model, note: `${note} (event ${f.eventId} at ${f.time})` });

function raise(rule: FindingRuleId, occasion: FindingOccasion | NormalizedEvent, args: { resource: string; principal: string; summary: string; signals: Signal[]; severity?: Severity }): FindingObservation {
  return finding(rule, occasion, { ...args, signals: args.signals.slice(0, 8) });
}

export async function analyzeModelUse(batch: readonly BatchEvent[], store: ModelUseStore, settings: ModelUseSettings = DEFAULT_MODEL_USE_SETTINGS, context: { agents?: ReadonlySet<string>; nowMs?: number } = {}): Promise<ModelUseAnalysis> {
  const { recon, attempts } = modelUseSightings(batch, settings, context.agents);
  const counts = { recon: recon.length, attempts: attempts.length, refused: attempts.filter((a) => a.refused).length };
  const none: ModelUseAnalysis = { findings: [], afterWritten: async () => undefined, counts };
  if (recon.length === 0 && attempts.length === 0) return none;
  const nowMs = context.nowMs ?? Date.now();

  // 1. Write: markers, then the first-of claims.
  const markers = [
    ...recon.map((r) => usageMarkerItem(r.caller.arn, 'RECON', { time: r.event.time, eventId: r.event.eventId, eventName: r.event.eventName }, nowMs)),
    ...attempts
      .filter((a) => a.refused)
      .map((a) => ({ ...usageMarkerItem(a.caller.arn, 'REFUSED', { time: a.event.time, eventId: a.event.eventId, eventName: a.event.eventName, errorCode: a.event.errorCode }, nowMs), account: a.event.account, region: a.event.region, model: a.model ?? 'unknown' })),
  ];
  if (markers.length > 0) {
    const failed = await store.putItems(markers);
    if (failed.length > 0) throw new Error(`${failed.length} model-use markers not written`);
  }
  const firstOfPrincipal = earliestBy(attempts, (a) => a.caller.arn);
  const reached = attempts.filter((a) => a.succeeded && a.model);
  const firstOfRegion = earliestBy(reached, (a) => `${a.event.account}\u0000${a.event.region}`);
  const firstOfModel = earliestBy(reached, (a) => `${a.event.account}\u0000${a.model}`);
  const claims: Array<{ key: Key; attempt: Attempt; scope: 'principal' | 'region' | 'model' }> = [
    ...[...firstOfPrincipal.values()].map((a) => ({ key: keys.usagePrincipalFirst(a.caller.arn), attempt: a, scope: 'principal' as const })),
    ...[...firstOfRegion.values()].map((a) => ({ key: keys.usageRegion(a.event.account, a.event.region), attempt: a, scope: 'region' as const })),
    ...[...firstOfModel.values()].map((a) => ({ key: keys.usageModel(a.event.account, a.model!), attempt: a, scope: 'model' as const })),
  ];
  const claimed = new Set<string>();
  await pool(claims, 8, async (c) => {
    if (await store.putIfEarlier(c.key, orderOf(c.attempt.event), firstFields(c.attempt, c.scope))) claimed.add(keyString(c.key));
  });

  // 2. Read what the judgments need: the principals' first invocations and the models'.
  const principals = [...new Set([...recon, ...attempts].map((s) => s.caller.arn))];
  const stored = await store.getItems([...principals.map((p) => keys.usagePrincipalFirst(p)), ...[...firstOfModel.values()].map((a) => keys.usageModel(a.event.account, a.model!))]);
  const firstOf = (k: Key) => readFirstInvocation(stored.get(keyString(k)));
  const accounts = [...new Set(claims.filter((c) => c.scope !== 'principal' && claimed.has(keyString(c.key))).map((c) => c.attempt.event.account).concat([...firstOfModel.values()].map((a) => a.event.account)))];
  const regionsOf = new Map<string, FirstInvocation[]>();
  await pool(accounts, 8, async (account) => {
    const items = await store.queryRange(keys.usageAccountPartition(account), RANGES.usageRegions.from, RANGES.usageRegions.to);
    regionsOf.set(account, items.flatMap((i) => readFirstInvocation(i) ?? []));
  });
  const earliestIn = (account: string) => (regionsOf.get(account) ?? []).reduce<FirstInvocation | undefined>((e, r) => (!e || r.order < e.order ? r : e), undefined);

  const findings = new Map<string, { messageIds: Set<string>; finding: FindingObservation; flag?: Key }>();
  const add = (f: FindingObservation, messageIds: Iterable<string>, flag?: Key) => {
    const k = modelUseFindingKey(f);
    const held = findings.get(k);
    if (held) for (const id of messageIds) held.messageIds.add(id);
    else findings.set(k, { messageIds: new Set(messageIds), finding: f, ...(flag ? { flag } : {}) });
  };

  await reconThenInvoke(recon, attempts, firstOf, store, settings, add);
  newRegions(claims, claimed, regionsOf, settings, add);
  const rebased = [...new Set(claims.filter((c) => c.scope === 'region' && claimed.has(keyString(c.key))).map((c) => c.attempt.event.account))];
  await firstUses(firstOfModel, firstOf, earliestIn, rebased, store, settings, add);
  await probing(attempts, store, settings, add);

  return {
    findings: [...findings.values()].map(({ messageIds, finding: f }) => ({ messageIds, finding: f })),
    afterWritten: async (written) => {
      const flags = [...findings.entries()].filter(([k, f]) => f.flag && written.has(k)).map(([, f]) => f.flag!);
      await pool(flags, 8, async (key) => void (await store.setFieldsIf(key, { flaggedAt: new Date(nowMs).toISOString() }, { field: 'entity', value: 'model-use-first', absent: 'flaggedAt' })));
    },
    counts,
  };
}

/** The key `afterWritten` expects for a finding (as the step dedupes them). */
export const modelUseFindingKey = (f: Pick<FindingObservation, 'rule' | 'resource' | 'time' | 'eventId'>) => `${f.rule}\u0000${f.resource}\u0000${f.time}\u0000${f.eventId}`;

type Add = (f: FindingObservation, messageIds: Iterable<string>, flag?: Key) => void;

async function reconThenInvoke(recon: readonly Sighting[], attempts: readonly Attempt[], firstOf: (k: Key) => FirstInvocation | undefined, store: ModelUseStore, settings: ModelUseSettings, add: Add): Promise<void> {
  const W = settings.reconWindowMs;
  const reconBy = groupBy(recon, (r) => r.caller.arn);
  const attemptBy = groupBy(attempts, (a) => a.caller.arn);
  const principals = [...new Set([...reconBy.keys(), ...attemptBy.keys()])];
  await pool(principals, 8, async (principal) => {
    const first = firstOf(keys.usagePrincipalFirst(principal));
    if (!first) return;
    const mine = attemptBy.get(principal) ?? [];
    const invoking = mine.find((a) => a.event.eventId === first.eventId && a.event.time === first.time);
    const caller = invoking?.caller ?? (reconBy.get(principal) ?? [])[0]?.caller;
    if (!caller || caller.known) return;
    const from = new Date(ms(first.time) - W).toISOString();
    const inBatch = (reconBy.get(principal) ?? []).filter((r) => r.event.time >= from && r.event.time <= first.time).map((r) => ({ time: r.event.time, eventId: r.event.eventId, eventName: r.event.eventName, messageId: r.messageId }));
    // The stored reconnaissance matters only when this batch brings the first invocation.
    const storedRecon = invoking
      ? (await store.queryRange(keys.usageMarkersAt(principal, 'RECON', from).pk, keys.usageMarkersAt(principal, 'RECON', from).sk, `${keys.usageMarkersAt(principal, 'RECON', first.time).sk}\uffff`, { descending: true, limit: 10 })).flatMap((i) => readUsageMarker(i) ?? [])
      : [];
    const seen = new Set(inBatch.map((r) => r.eventId));
    const reads = [...inBatch, ...storedRecon.filter((r) => !seen.has(r.eventId))].sort((x, y) => (x.time < y.time ? -1 : 1));
    if (reads.length === 0) return;
    const lead = reads[0];
    const gap = Math.round((ms(first.time) - ms(lead.time)) / 1000);
    const messageIds = [...(invoking ? [invoking.messageId] : []), ...inBatch.map((r) => r.messageId)];
    const summary = `${principal} read the model catalogue or its access (${[...new Set(reads.map((r) => r.eventName))].join(', ')}, from ${lead.time}) and ${gap} s later made its first model invocation (${first.eventName} of ${first.model}): the pattern of stolen credentials put to work on models (LLMjacking).`;
    const signals: Signal[] = [firstSignal(first, 'first model invocation of this principal'), ...reads.slice(0, 5).map((r) => ({ eventName: r.eventName, path: 'eventName', value: r.eventName, note: `reconnaissance at ${r.time} (event ${r.eventId})` }))];
    const severity: Severity = first.longTerm || caller.longTerm ? 'high' : 'medium';
    add(raise('model-recon-then-invoke', invoking?.event ?? occasionOf(first), { resource: first.model, principal, summary, signals, severity }), messageIds);
  });
}

function newRegions(claims: ReadonlyArray<{ key: Key; attempt: Attempt; scope: string }>, claimed: ReadonlySet<string>, regionsOf: ReadonlyMap<string, FirstInvocation[]>, settings: ModelUseSettings, add: Add): void {
  const changed = groupBy(
    claims.filter((c) => c.scope === 'region' && claimed.has(keyString(c.key))),
    (c) => c.attempt.event.account,
  );
  for (const [account, list] of changed) {
    const regions = regionsOf.get(account) ?? [];
    const earliest = regions.reduce<FirstInvocation | undefined>((e, r) => (!e || r.order < e.order ? r : e), undefined);
    if (!earliest) continue;
    for (const r of regions) {
      if (r.flaggedAt || r.region === earliest.region || ms(r.time) - ms(earliest.time) < settings.baselineMs) continue;
      const days = Math.floor((ms(r.time) - ms(earliest.time)) / 86_400_000);
      add(
        raise('model-invoked-new-region', occasionOf(r), {
          resource: r.model,
          principal: r.principal,
          summary: `Account ${account} invoked models in ${r.region} for the first time (${r.eventName} of ${r.model} by ${r.principal}), ${days} day(s) after its first use anywhere (${earliest.region}, ${earliest.time}). Stolen credentials put to work on models spread across regions.`,
          signals: [firstSignal(r, `first invocation in ${r.region}`), firstSignal(earliest, `first invocation of the account, in ${earliest.region}`)],
          severity: r.longTerm ? 'high' : 'medium',
        }),
        list.map((c) => c.attempt.messageId),
        keys.usageRegion(account, r.region),
      );
    }
  }
}

/**
 * First uses of models: the batch's (as it claimed them), and, in an account whose first-of-region
 * items changed (its baseline may have moved earlier), every model of the account not judged yet.
 */
async function firstUses(
  firstOfModel: ReadonlyMap<string, Attempt>,
  firstOf: (k: Key) => FirstInvocation | undefined,
  earliestIn: (account: string) => FirstInvocation | undefined,
  rebased: readonly string[],
  store: ModelUseStore,
  settings: ModelUseSettings,
  add: Add,
): Promise<void> {
  const known = settings.knownAiApplications.map(wildcard);
  const candidates = new Map<string, { item: FirstInvocation; attempt?: Attempt }>();
  for (const a of firstOfModel.values()) {
    const item = firstOf(keys.usageModel(a.event.account, a.model!));
    if (item) candidates.set(keyString(keys.usageModel(item.account, item.model)), { item, ...(item.eventId === a.event.eventId ? { attempt: a } : {}) });
  }
  await pool(rebased, 8, async (account) => {
    const items = await store.queryRange(keys.usageAccountPartition(account), RANGES.usageModels.from, RANGES.usageModels.to);
    for (const item of items.flatMap((i) => readFirstInvocation(i) ?? [])) {
      const k = keyString(keys.usageModel(item.account, item.model));
      if (!candidates.has(k)) candidates.set(k, { item });
    }
  });
  const judged = [...candidates.values()].filter(({ item, attempt }) => {
    if (item.flaggedAt || attempt?.caller.known || known.some((re) => re.test(item.principal))) return false;
    const baseline = earliestIn(item.account);
    return baseline !== undefined && ms(item.time) - ms(baseline.time) >= settings.baselineMs;
  });
  const principals = await store.getItems([...new Set(judged.map((j) => j.item.principal))].map((p) => keys.usagePrincipalFirst(p)));
  for (const { item, attempt } of judged) {
    const principalFirst = readFirstInvocation(principals.get(keyString(keys.usagePrincipalFirst(item.principal))));
    if (principalFirst && ms(item.time) - ms(principalFirst.time) >= settings.baselineMs) continue;
    add(
      raise('model-first-use', attempt?.event ?? occasionOf(item), {
        resource: item.model,
        principal: item.principal,
        summary: `Account ${item.account} used ${item.model} for the first time (${service(item)}), called by ${item.principal}, which is not a known AI application (no model invocations before ${principalFirst?.time ?? item.time}).`,
        signals: [firstSignal(item, 'first invocation of this model in the account')],
      }),
      attempt ? [attempt.messageId] : [...firstOfModel.values()].filter((a) => a.event.account === item.account).map((a) => a.messageId),
      keys.usageModel(item.account, item.model),
    );
  }
}

async function probing(attempts: readonly Attempt[], store: ModelUseStore, settings: ModelUseSettings, add: Add): Promise<void> {
  const { count, windowMs } = settings.probe;
  const refusedBy = groupBy(
    attempts.filter((a) => a.refused),
    (a) => a.caller.arn,
  );
  await pool([...refusedBy], 8, async ([principal, list]) => {
    const fresh = list.map((a) => ({ time: a.event.time, eventId: a.event.eventId, attempt: a }));
    const stored = new Map<string, Record<string, unknown>>();
    const read = async (fromKey: Key, toSk: string, descending: boolean, limit: number) => {
      const items = await store.queryRange(fromKey.pk, fromKey.sk, toSk, { descending, limit: limit + fresh.length + 1 });
      return items.flatMap((i) => {
        const m = readUsageMarker(i);
        if (!m) return [];
        stored.set(m.eventId, i);
        return [m];
      });
    };
    const marker = (o: Occurrence, m: UsageMarker = 'REFUSED') => keys.usageMarker(principal, m, o.time, o.eventId);
    const completers = await completedBursts(fresh, {
      before: async (from, o, limit) => (await read(keys.usageMarkersAt(principal, 'REFUSED', from), marker(o).sk, true, limit)).filter((m) => m.eventId !== o.eventId && (m.time < o.time || (m.time === o.time && m.eventId < o.eventId))).slice(0, limit),
      after: async (o, to, limit) => (await read(marker(o), `${keys.usageMarkersAt(principal, 'REFUSED', to).sk}\uffff`, false, limit)).filter((m) => m.eventId !== o.eventId && (m.time > o.time || (m.time === o.time && m.eventId > o.eventId))).slice(0, limit),
    }, count, windowMs);
    for (const c of completers) {
      const a = 'attempt' in c ? (c as { attempt: Attempt }).attempt : undefined;
      const item = stored.get(c.eventId);
      const model = a?.model ?? (typeof item?.model === 'string' ? item.model : 'unknown');
      const occasion: FindingOccasion | NormalizedEvent = a?.event ?? { eventId: c.eventId, time: c.time, account: String(item?.account ?? list[0].event.account), region: String(item?.region ?? list[0].event.region) };
      const known = list[0].caller.known;
      add(
        raise('model-invocation-probing', occasion, {
          resource: model === 'unknown' ? `arn:${list[0].event.partition}:bedrock:${occasion.region}::foundation-model/*` : model,
          principal,
          summary: `${principal} had ${count} model invocations refused within ${Math.round(windowMs / 1000)} s (ValidationException or AccessDenied), the last at ${c.time}: probing which models the credentials can reach.`,
          signals: a ? [eventSignal(a.event), signal(a.event, 'errorCode', a.event.errorCode ?? 'refused')] : [{ eventName: String(item?.eventName ?? 'InvokeModel'), path: 'errorCode', value: String(item?.errorCode ?? 'refused'), note: `refused invocation at ${c.time} (event ${c.eventId})` }],
          severity: known ? 'medium' : 'high',
        }),
        list.map((x) => x.messageId),
      );
    }
  });
}
