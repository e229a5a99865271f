/**
 * Inventory items: resources, principals, findings, quarantine records and utilization history.
 * Builders give the fields a writer stores (with their index keys); readers turn a stored item
 * back into a typed value, or undefined when it is not one.
 */
import { sha256Hex } from '../../core/hash';
import type { SensitivityFrom } from '../../core/lineage';
import { isConfidence, isFindingProducer, isSeverity, type FindingObservation, type FindingProducer, type PrincipalObservation, type ResourceIdentity, type ResourceObservation, type Signal } from '../../core/model';
import { isVerdict, type LastSweep, type RecordedVerdict, type SweepWindow } from '../../core/utilization';
import type { RemediationPlan } from '../../core/remediation';
import { CONTROL_TAGS } from '../../core/constants';
import { INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../table-schema';
import { ENTITY, indexKeys, keys } from './keys';
import { frameworks, isRecord, num, plain, signals, strings, textOr, textOrNull, type Item, type RawItem, type StoredValue } from './read';

// ---------------------------------------------------------------------------------------------
// Resources

/** The fields of a resource as one event shows it: identity, status, evidence, index keys. */
export function resourceLatest(r: ResourceObservation, eventName: string): Record<string, StoredValue> {
  return {
    entity: ENTITY.resource,
    arn: r.arn,
    kind: r.kind,
    service: r.service,
    account: r.account,
    region: r.region,
    status: r.status,
    signals: r.signals,
    lastEventName: eventName,
    ...indexKeys.resourceByKind(r.kind, r.arn),
    ...indexKeys.resourceByAccount(r.account, r.kind, r.arn),
  };
}

/** Signals the classifying evidence keeps: enough to say why, bounded whatever the event held. */
export const CLASSIFYING_SIGNALS = 8;

/**
 * Why a resource is the kind it is: the newest event that could have made it one (not an
 * `onlyIfKnown` update such as StopInstances or a tag change on a known instance), kept apart
 * from the latest event's evidence (`signals`), which a later update replaces.
 */
export interface ClassifyingEvidence {
  readonly eventName: string;
  readonly eventId: string;
  readonly time: string;
  readonly signals: Signal[];
}

export function classifyingEvidence(e: { eventName: string; eventId: string; time: string }, evidence: readonly Signal[]): ClassifyingEvidence {
  return { eventName: e.eventName, eventId: e.eventId, time: e.time, signals: evidence.slice(0, CLASSIFYING_SIGNALS) };
}

function readClassifyingEvidence(value: unknown): ClassifyingEvidence | undefined {
  if (!isRecord(value) || typeof value.eventName !== 'string') return undefined;
  return { eventName: value.eventName, eventId: textOr(value.eventId, ''), time: textOr(value.time, ''), signals: signals(value.signals) };
}

/** Who first revealed a resource, and its entry in that principal's index partition. */
export function resourceDiscoverer(principal: string, arn: string): Record<string, StoredValue> {
  return { discoveredBy: principal, ...indexKeys.resourceByPrincipal(principal, arn) };
}

/** Fields an entity write may never take from an event's configuration attributes. */
export const RESERVED_RESOURCE_FIELDS: readonly string[] = [
  'lastOrder',
  'firstOrder',
  'lastPrincipal',
  'discoveredBy',
  'firstSeen',
  'firstEventId',
  'lastSeen',
  'lastEventId',
  'usedByAccounts',
  'classifiedBy',
  PARTITION_KEY,
  SORT_KEY,
  INDEXES.byPrincipal.partitionKey,
  INDEXES.byPrincipal.sortKey,
];

/** A resource that enters the inventory through the GPU sweep (no event showed it): set only where absent. */
export function sweptResourceFill(r: { arn: string; kind: string; account: string; region: string; instanceType: string | null; foundBy: readonly string[] }): Record<string, StoredValue> {
  return {
    entity: ENTITY.resource,
    arn: r.arn,
    kind: r.kind,
    service: r.arn.split(':')[2],
    account: r.account,
    region: r.region,
    status: 'active',
    signals: [{ eventName: 'gpu-sweep', path: 'foundBy', value: r.foundBy.join(',') }],
    discoveredBy: 'gpu-sweep',
    ...(r.instanceType ? { instanceType: r.instanceType } : {}),
    ...indexKeys.resourceByKind(r.kind, r.arn),
    ...indexKeys.resourceByAccount(r.account, r.kind, r.arn),
  };
}

export interface ResourceItem extends ResourceIdentity {
  readonly signals: Signal[];
  /** Why it is this kind (the classifying event's evidence); absent for what only a listing or the sweep showed. */
  readonly classifiedBy?: ClassifyingEvidence;
  readonly firstSeen: string;
  readonly firstEventId: string;
  readonly lastSeen: string;
  readonly lastEventId: string;
  readonly discoveredBy?: string;
  /** The highest classification of the data upstream (lineage), or null when none is known. */
  readonly sensitivity: string | null;
  readonly sensitivityFrom: SensitivityFrom | null;
  readonly instanceType?: string;
  readonly instanceState?: string;
  readonly lastSweep?: LastSweep;
  /** Tags as the newest event that carried them showed them (configuration attribute `tags`). */
  readonly tags?: Readonly<Record<string, string>>;
  /** Everything else the events showed (configuration and bookkeeping fields), JSON-ready, by name. */
  readonly configuration: Readonly<Record<string, unknown>>;
  readonly rev?: number;
}

/** Item attributes that are keys or the typed fields above, not configuration. */
const NOT_CONFIGURATION = new Set([
  PARTITION_KEY,
  SORT_KEY,
  ...Object.values(INDEXES).flatMap((i) => [i.partitionKey, i.sortKey]),
  ...['entity', 'arn', 'kind', 'service', 'account', 'region', 'status', 'signals', 'classifiedBy', 'firstSeen', 'firstEventId', 'firstOrder', 'lastSeen', 'lastEventId', 'lastOrder', 'rev', 'sensitivity', 'sensitivityFrom'],
]);

export function readSensitivityFrom(v: unknown): SensitivityFrom | null {
  if (!isRecord(v) || typeof v.arn !== 'string' || typeof v.tag !== 'string' || !Array.isArray(v.path)) return null;
  return { arn: v.arn, tag: v.tag, path: strings(v.path) };
}

function readLastSweep(v: unknown): LastSweep | undefined {
  if (!isRecord(v) || !isVerdict(v.verdict) || typeof v.sweepId !== 'string') return undefined;
  const w = isRecord(v.window) ? v.window : {};
  return {
    verdict: v.verdict,
    gpuUtilization: num(v.gpuUtilization) ?? null,
    gpuMemoryUsedPct: num(v.gpuMemoryUsedPct) ?? null,
    wastedPerHour: num(v.wastedPerHour) ?? null,
    window: { start: textOr(w.start, ''), end: textOr(w.end, '') },
    sweepId: v.sweepId,
    idleSweeps: num(v.idleSweeps) ?? 0,
    idleSince: textOrNull(v.idleSince),
  };
}

function readTags(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  return Object.fromEntries(Object.entries(v).map(([k, value]) => [k, typeof value === 'string' ? value : JSON.stringify(value)]));
}

export function readResource(item: RawItem | undefined): ResourceItem | undefined {
  if (!item || item.entity !== ENTITY.resource || typeof item.arn !== 'string') return undefined;
  const configuration = Object.fromEntries(
    Object.entries(item)
      .filter(([k]) => !NOT_CONFIGURATION.has(k) && !k.endsWith('@'))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, plain(v)]),
  );
  const lastSweep = readLastSweep(item.lastSweep);
  const tags = readTags(item.tags);
  const classifiedBy = readClassifyingEvidence(item.classifiedBy);
  return {
    arn: item.arn,
    kind: textOr(item.kind, 'unknown'),
    service: textOr(item.service, ''),
    account: textOr(item.account, 'unknown'),
    region: textOr(item.region, ''),
    status: textOr(item.status, 'active'),
    signals: signals(item.signals),
    ...(classifiedBy ? { classifiedBy } : {}),
    firstSeen: textOr(item.firstSeen, ''),
    firstEventId: textOr(item.firstEventId, ''),
    lastSeen: textOr(item.lastSeen, ''),
    lastEventId: textOr(item.lastEventId, ''),
    ...(typeof item.discoveredBy === 'string' ? { discoveredBy: item.discoveredBy } : {}),
    sensitivity: textOrNull(item.sensitivity),
    sensitivityFrom: readSensitivityFrom(item.sensitivityFrom),
    ...(typeof item.instanceType === 'string' ? { instanceType: item.instanceType } : {}),
    ...(typeof item.instanceState === 'string' ? { instanceState: item.instanceState } : {}),
    ...(lastSweep ? { lastSweep } : {}),
    ...(tags ? { tags } : {}),
    configuration,
    ...(num(item.rev) !== undefined ? { rev: num(item.rev) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Principals

/** The fields of a principal as one event shows it. */
export function principalLatest(p: PrincipalObservation, event: { eventName: string; eventSource: string }): Record<string, StoredValue> {
  return {
    entity: ENTITY.principal,
    arn: p.arn,
    ...(p.iamArn ? { iamArn: p.iamArn } : {}),
    type: p.type,
    account: p.account,
    lastEventName: event.eventName,
    lastEventSource: event.eventSource,
    ...indexKeys.principalByAccount(p.account, p.arn),
    ...indexKeys.principalSelf(p.arn),
  };
}

/** A principal's role and its index partition (`ROLE#<role>`). */
export const principalRole = (role: string): Record<string, StoredValue> => ({ role, ...indexKeys.principalRolePartition(role) });
export const principalRoleSortKey = (arn: string): Record<string, StoredValue> => indexKeys.principalSortKey(arn);

/** The fields of a principal's owner-tag item (`keys.principalTags`); its `owner` attribute is ordered by event. */
export const principalTagsLatest = (arn: string): Record<string, StoredValue> => ({ entity: ENTITY.principalTags, arn });

export interface PrincipalItem {
  readonly arn: string;
  readonly iamArn?: string;
  readonly role: string;
  readonly type: string;
  readonly account: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Who the caller is, from its first event. */
  readonly identitySignals: Signal[];
  /** Its newest model call, when it is an AI application. */
  readonly aiSignals: Signal[];
  readonly lastModelCallAt?: string;
  /** Its newest call made with a Bedrock API key (bearer token), and the days it made any. */
  readonly lastBearerTokenCallAt?: string;
  readonly bearerTokenCallDays?: number;
}

export function readPrincipal(item: RawItem | undefined): PrincipalItem | undefined {
  if (!item || item.entity !== ENTITY.principal || typeof item.arn !== 'string') return undefined;
  return {
    arn: item.arn,
    ...(typeof item.iamArn === 'string' ? { iamArn: item.iamArn } : {}),
    role: textOr(item.role, 'unknown'),
    type: textOr(item.type, 'Unknown'),
    account: textOr(item.account, 'unknown'),
    firstSeen: textOr(item.firstSeen, ''),
    lastSeen: textOr(item.lastSeen, ''),
    identitySignals: signals(item.identitySignals),
    aiSignals: signals(item.aiSignals),
    ...(typeof item.lastModelCallAt === 'string' ? { lastModelCallAt: item.lastModelCallAt } : {}),
    ...(typeof item.lastBearerTokenCallAt === 'string' ? { lastBearerTokenCallAt: item.lastBearerTokenCallAt, bearerTokenCallDays: strings(item.bearerTokenCallDays).length } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Findings

/** A finding's order in its index partitions: time, then event, then rule. */
const findingOrder = (f: Pick<FindingObservation, 'time' | 'eventId' | 'rule'>) => `${f.time}#${f.eventId}#${f.rule}`;

/**
 * A finding's stable id: the same finding (resource, time, event, rule) always has the same id,
 * whichever delivery wrote it; tickets and deduplication key on it.
 */
export function findingId(f: Pick<FindingObservation, 'resource' | 'time' | 'eventId' | 'rule'>): string {
  const { pk, sk } = keys.finding(f.resource, f.time, f.eventId, f.rule);
  return sha256Hex(`${pk}\u0000${sk}`).slice(0, 32);
}

/** The one way to write a finding, whoever raised it. */
export function findingItem(f: FindingObservation, producer: FindingProducer): Item {
  const order = findingOrder(f);
  return {
    ...keys.finding(f.resource, f.time, f.eventId, f.rule),
    entity: ENTITY.finding,
    ...f,
    findingId: findingId(f),
    producer,
    ...indexKeys.findingBySeverity(f.severity, order),
    ...indexKeys.findingByAccount(f.account, order),
    ...(f.principal ? indexKeys.findingByPrincipal(f.principal, order) : {}),
  };
}

/** A stored finding: the observation, its stable id, and (for items written since producers were recorded) who raised it. */
export interface FindingItem extends FindingObservation {
  readonly findingId: string;
  readonly producer?: FindingProducer;
}

export function readFinding(item: RawItem | undefined): FindingItem | undefined {
  if (!item || item.entity !== ENTITY.finding || typeof item.rule !== 'string' || typeof item.resource !== 'string') return undefined;
  const base = { resource: item.resource, time: textOr(item.time, ''), eventId: textOr(item.eventId, ''), rule: item.rule };
  return {
    findingId: textOr(item.findingId, findingId(base)),
    ...(isFindingProducer(item.producer) ? { producer: item.producer } : {}),
    ...base,
    severity: isSeverity(item.severity) ? item.severity : 'informational',
    title: textOr(item.title, item.rule),
    summary: textOr(item.summary, ''),
    confidence: isConfidence(item.confidence) ? item.confidence : 'confirmed',
    principal: textOrNull(item.principal),
    account: textOr(item.account, 'unknown'),
    region: textOr(item.region, ''),
    frameworks: frameworks(item.frameworks),
    signals: signals(item.signals),
  };
}

// ---------------------------------------------------------------------------------------------
// Quarantine

/** Quarantined payloads are kept whole up to this size; larger ones are truncated and marked. */
const MAX_KEPT_PAYLOAD = 64 * 1024;
const sha256 = sha256Hex;

/** Input that could not be used, kept with its reason: nothing is dropped silently. */
export function quarantineItem(message: { source: string; body: string; receivedAt: string }, reason: string): Item {
  const id = sha256(`${message.source}\u0000${message.body}`);
  const truncated = message.body.length > MAX_KEPT_PAYLOAD;
  return {
    ...keys.quarantine(id),
    entity: ENTITY.quarantine,
    source: message.source,
    reason,
    receivedAt: message.receivedAt,
    payload: truncated ? message.body.slice(0, MAX_KEPT_PAYLOAD) : message.body,
    payloadTruncated: truncated,
    payloadSha256: sha256(message.body),
    ...indexKeys.quarantineByTime(message.receivedAt, id),
  };
}

export interface QuarantineItem {
  readonly source: string;
  readonly reason: string;
  readonly receivedAt: string;
}

export function readQuarantine(item: RawItem | undefined): QuarantineItem | undefined {
  if (!item || item.entity !== ENTITY.quarantine) return undefined;
  return { source: textOr(item.source, ''), reason: textOr(item.reason, ''), receivedAt: textOr(item.receivedAt, '') };
}

// ---------------------------------------------------------------------------------------------
// Utilization history (the GPU sweep)

export interface SweepPlace {
  readonly sweepId: string;
  readonly window: SweepWindow;
  readonly account: string;
  readonly region: string;
}

/** One sweep's record of one resource, kept `historyDays` (TTL). */
export function utilizationItem(r: RecordedVerdict, sweep: SweepPlace, expiresAt: number): Item {
  return {
    ...keys.utilization(r.resource, sweep.window.end, sweep.sweepId),
    entity: ENTITY.utilization,
    sweepId: sweep.sweepId,
    window: sweep.window,
    account: sweep.account,
    region: sweep.region,
    ...r,
    [TTL_ATTRIBUTE]: expiresAt,
    ...indexKeys.utilizationBySweep(sweep.sweepId, r.resource),
  };
}

/** The `lastSweep` attribute of a resource. */
export const lastSweepOf = (r: RecordedVerdict, sweep: Pick<SweepPlace, 'sweepId' | 'window'>, streak: { idleSweeps: number; idleSince: string | null } = { idleSweeps: 0, idleSince: null }): LastSweep => ({
  ...streak,
  verdict: r.verdict,
  gpuUtilization: r.gpuUtilization,
  gpuMemoryUsedPct: r.gpuMemoryUsedPct,
  wastedPerHour: r.wastedPerHour,
  window: sweep.window,
  sweepId: sweep.sweepId,
});

export function readUtilization(item: RawItem | undefined): (RecordedVerdict & { readonly sweepId: string }) | undefined {
  if (!item || item.entity !== ENTITY.utilization || typeof item.resource !== 'string' || !isVerdict(item.verdict) || typeof item.sweepId !== 'string') return undefined;
  const accelerators = Array.isArray(item.accelerators)
    ? item.accelerators.flatMap((a) =>
        isRecord(a) && typeof a.index === 'string' && isVerdict(a.verdict)
          ? [{ index: a.index, verdict: a.verdict, gpuUtilization: num(a.gpuUtilization) ?? null, gpuMemoryUsedPct: num(a.gpuMemoryUsedPct) ?? null, ...('powerDrawW' in a ? { powerDrawW: num(a.powerDrawW) ?? null } : {}) }]
          : [],
      )
    : [];
  return {
    sweepId: item.sweepId,
    resource: item.resource,
    kind: textOr(item.kind, 'unknown'),
    instanceType: textOrNull(item.instanceType),
    instanceCount: num(item.instanceCount) ?? 1,
    verdict: item.verdict,
    gpuUtilization: num(item.gpuUtilization) ?? null,
    gpuMemoryUsedPct: num(item.gpuMemoryUsedPct) ?? null,
    cpuUtilization: num(item.cpuUtilization) ?? null,
    accelerators,
    wastedPerHour: num(item.wastedPerHour) ?? null,
    pricePerHour: num(item.pricePerHour) ?? null,
    priceBasis: textOr(item.priceBasis, 'unknown'),
    foundBy: strings(item.foundBy),
    evidence: strings(item.evidence),
    ...(item.expectedIdle === true ? { expectedIdle: true as const } : {}),
  };
}

/** Whether an item's TTL attribute says it has expired (DynamoDB deletes such items lazily). */
export const isExpired = (item: RawItem, nowMs: number) => (num(item[TTL_ATTRIBUTE]) ?? Infinity) * 1000 <= nowMs;

/** The tags an item records (a resource's, as the newest tag event showed them), or undefined. */
export const tagsOf = (item: RawItem | undefined): Record<string, string> | undefined => readTags(item?.tags);

/**
 * The tags an owner is read from: the item's tag set (a bucket's, as its newest tag event showed
 * it) with the owner the classifier took from create requests and tag calls over it (the `owner`
 * attribute, empty once the tag was removed). For a resource's state and a principal's owner item
 * alike; undefined when the item records neither.
 */
export function ownerTagsOf(item: RawItem | undefined, tagKey: string): Record<string, string> | undefined {
  const tags = tagsOf(item);
  if (typeof item?.owner !== 'string') return tags;
  const rest = Object.fromEntries(Object.entries(tags ?? {}).filter(([k]) => k !== tagKey));
  return item.owner ? { ...rest, [tagKey]: item.owner } : rest;
}

/** Who set `ai-visibility:ignore` on a resource or principal, and when (the event that did). */
export interface Exclusion {
  readonly by: string;
  readonly at: string;
  readonly eventId: string;
}

/** What a resource's or principal's control tags say (docs/tagging.md). */
export interface Controls {
  /** Set when `ai-visibility:ignore` is `true`: no findings, notifications or tags for it. */
  readonly excluded: Exclusion | null;
  /** `ai-visibility:expected-idle` is `true`: idle verdicts raise no finding. */
  readonly expectedIdle: boolean;
  /** `ai-visibility:idle-action`: what the opt-in remediation may do about it when idle. */
  readonly idleAction: 'notify' | 'stop' | null;
}

const isTrue = (v: unknown) => typeof v === 'string' && v.trim().toLowerCase() === 'true';

/** Tags a lookup read (Tagging API GetResources, IAM ListRoleTags), and when. */
export interface LookedUpTags {
  readonly tags: Readonly<Record<string, string>>;
  readonly at: string;
}

/**
 * An item's control attributes with a lookup's tags under them: for each control, the newer of
 * the last tag event that set it (its `<attribute>@` version) and the lookup wins, so a tag set
 * before the deploy counts, and a later tag call overrides it.
 */
export function withLookedUpTags(item: RawItem | undefined, lookup: LookedUpTags | undefined): RawItem | undefined {
  if (!lookup) return item;
  const out: Record<string, unknown> = { ...(item ?? {}) };
  for (const { key, attribute } of CONTROL_TAGS) {
    const version = typeof item?.[`${attribute}@`] === 'string' ? String(item[`${attribute}@`]).split('#')[0] : undefined;
    if (version !== undefined && item?.[attribute] !== undefined && version >= lookup.at) continue;
    const value = Object.hasOwn(lookup.tags, key) ? lookup.tags[key] : '';
    out[attribute] = value;
    if (attribute === 'ignore') out.ignoreSetBy = { by: 'tag lookup', at: lookup.at, eventId: '', value };
  }
  return out;
}

/** The controls an item (a resource's state, a principal's tags item) records, with a lookup's tags under them. */
export function controlsOf(item: RawItem | undefined, lookup?: LookedUpTags): Controls {
  const merged = withLookedUpTags(item, lookup);
  const by = isRecord(merged?.ignoreSetBy) ? merged.ignoreSetBy : {};
  const action = typeof merged?.idleAction === 'string' ? merged.idleAction.trim().toLowerCase() : '';
  return {
    excluded: isTrue(merged?.ignore) ? { by: textOr(by.by, 'unknown'), at: textOr(by.at, ''), eventId: textOr(by.eventId, '') } : null,
    expectedIdle: isTrue(merged?.expectedIdle),
    idleAction: action === 'notify' || action === 'stop' ? action : null,
  };
}

/** A remediation as recorded: what was done (or would be), who, why, when, how to undo it, and how it went. */
export interface RemediationItem extends RemediationPlan {
  readonly at: string;
  readonly by: string;
  readonly sweepId: string;
  /** `done`, `dry-run`, `notified`, or `failed: <error>`. */
  readonly outcome: string;
}

export function remediationItem(r: RemediationItem): Item {
  return { ...keys.remediation(r.resource, r.at, r.sweepId), entity: ENTITY.remediation, ...r };
}

export function readRemediation(item: RawItem | undefined): RemediationItem | undefined {
  if (!item || item.entity !== ENTITY.remediation || typeof item.resource !== 'string' || typeof item.action !== 'string') return undefined;
  const action = item.action === 'stop-instance' || item.action === 'stop-notebook' ? item.action : 'notify';
  return {
    resource: item.resource,
    kind: textOr(item.kind, 'unknown'),
    region: textOr(item.region, ''),
    action,
    dryRun: item.dryRun === true,
    why: textOr(item.why, ''),
    undo: textOrNull(item.undo),
    ...(typeof item.notifyOnly === 'string' ? { notifyOnly: item.notifyOnly } : {}),
    at: textOr(item.at, ''),
    by: textOr(item.by, ''),
    sweepId: textOr(item.sweepId, ''),
    outcome: textOr(item.outcome, ''),
  };
}
