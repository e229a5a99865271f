/**
 * The daily digest: what a period brought, from the inventory table's items. New AI resources
 * by kind and account, findings by severity and rule (with the repeats the dedup window held
 * back), agents identified and their riskiest actions, the top idle GPUs by waste per hour, and
 * pipeline health (quarantined records, dead-lettered messages). One digest for everything and
 * one per owner with findings. Pure: the replay (`--digest`) and the scheduled digest build it
 * from the items they read.
 */
import { BEDROCK_API_KEY_MAX_AGE_DAYS } from '../core/defaults';
import { severityOrder } from '../core/model';
import { taggedPrincipalOf } from '../core/arn';
import { ownerOf } from '../core/notifications';
import { controlsOf, ENTITY, ownerTagsOf, readAgentAction, readAgentProfile, readFinding, readPrincipal, readQuarantine, readResource, readUtilization, type RawItem } from '../shared/items';

export interface DigestInput {
  /** The period, [since, until), ISO times. */
  readonly since: string;
  readonly until: string;
  readonly items: readonly RawItem[];
  /** Messages waiting in each dead-letter queue, when known (the scheduled digest reads them). */
  readonly deadLettered?: Readonly<Record<string, number>>;
  readonly accountOwners?: Readonly<Record<string, string>>;
  readonly ownerTagKey: string;
  /** Long-term Bedrock API keys older than this many days are listed. @default BEDROCK_API_KEY_MAX_AGE_DAYS */
  readonly apiKeyMaxAgeDays?: number;
}

export interface Digest {
  readonly since: string;
  readonly until: string;
  /** Null for the digest of everything. */
  readonly owner: string | null;
  readonly newResources: ReadonlyArray<{ readonly kind: string; readonly account: string; readonly count: number }>;
  readonly findings: ReadonlyArray<{ readonly rule: string; readonly severity: string; readonly count: number; readonly heldBack: number }>;
  readonly findingsBySeverity: Readonly<Record<string, number>>;
  readonly agents: ReadonlyArray<{ readonly arn: string; readonly account: string; readonly firstSeen: string; readonly riskiest: ReadonlyArray<{ readonly eventName: string; readonly classes: readonly string[]; readonly time: string; readonly outcome: string }> }>;
  readonly idleGpus: ReadonlyArray<{ readonly resource: string; readonly verdict: string; readonly instanceType: string | null; readonly wastedPerHour: number }>;
  /** Active long-term Bedrock API keys older than the digest's limit, oldest first. */
  readonly oldApiKeys: ReadonlyArray<{ readonly arn: string; readonly userName: string; readonly account: string; readonly createdAt: string; readonly ageDays: number; readonly expiresAt: string | null; readonly lastUsedAt: string | null; readonly daysUsed: number }>;
  readonly apiKeyMaxAgeDays: number;
  /** Models an account used for the first time in the period, called by principals that are not known AI applications (model-first-use), newest first. */
  readonly modelsFirstUsed: ReadonlyArray<{ readonly model: string; readonly account: string; readonly principal: string | null; readonly time: string }>;
  readonly health: { readonly quarantined: number; readonly deadLettered: Readonly<Record<string, number>> };
}

/** Action classes in the order of risk a digest lists an agent's actions in. */
const RISK = ['destructive', 'privilege', 'cross-account', 'data-access', 'denied', 'provision'];
const riskOf = (classes: readonly string[]) => Math.min(...classes.map((c) => (RISK.includes(c) ? RISK.indexOf(c) : RISK.length)), RISK.length);
const within = (time: string | undefined, since: string, until: string) => typeof time === 'string' && time >= since && time < until;

/** The owner of what an item is about: its own tag, else its principal's, else its account's (core/notifications ownerOf). */
function ownerOfItem(item: RawItem | undefined, principalOwner: RawItem | undefined, account: string, input: DigestInput): string | null {
  return ownerOf({ resource: ownerTagsOf(item, input.ownerTagKey), principal: ownerTagsOf(principalOwner, input.ownerTagKey) }, account, input.accountOwners ?? {}, input.ownerTagKey);
}

/** The digests of a period: everything, and one per owner that has findings in it. */
export function buildDigests(input: DigestInput): { everything: Digest; byOwner: Digest[] } {
  const { since, until } = input;
  const resourceItems = new Map<string, RawItem>();
  const principalTagItems = new Map<string, RawItem>();
  const principals = new Map<string, ReturnType<typeof readPrincipal>>();
  for (const item of input.items) {
    const p = readPrincipal(item);
    if (p) principals.set(p.arn, p);
    if (item.entity === ENTITY.resource && typeof item.arn === 'string') resourceItems.set(item.arn, item);
    if (item.entity === ENTITY.principalTags && typeof item.arn === 'string') principalTagItems.set(item.arn, item);
  }
  // A principal's owner item is keyed by the role or user that carries its tags (a session's role).
  const principalTagsItemOf = (arn: string | null | undefined) => {
    const tagged = arn ? taggedPrincipalOf(arn) : undefined;
    return tagged ? principalTagItems.get(tagged) : undefined;
  };
  const heldBack = new Map<string, number>();
  for (const item of input.items) {
    if (item.entity !== ENTITY.notifyWindow || typeof item.dedupKey !== 'string' || typeof item.repeats !== 'number') continue;
    const rule = item.dedupKey.split('#')[0];
    heldBack.set(rule, (heldBack.get(rule) ?? 0) + item.repeats);
  }

  type Owned<T> = { readonly owner: string | null; readonly value: T };
  const resources: Array<Owned<{ kind: string; account: string }>> = [];
  const findings: Array<Owned<{ rule: string; severity: string }>> = [];
  const firstUses: Array<Owned<Digest['modelsFirstUsed'][number]>> = [];
  const agents: Array<Owned<Digest['agents'][number]>> = [];
  const idle: Array<Owned<Digest['idleGpus'][number]>> = [];
  const oldKeys: Array<Owned<Digest['oldApiKeys'][number]>> = [];
  const maxAgeDays = input.apiKeyMaxAgeDays ?? BEDROCK_API_KEY_MAX_AGE_DAYS;
  const actionsByAgent = new Map<string, Array<Digest['agents'][number]['riskiest'][number]>>();
  let quarantined = 0;
  const latestVerdict = new Map<string, { time: string; value: Digest['idleGpus'][number]; account: string }>();

  for (const item of input.items) {
    const r = readResource(item);
    const key = r && r.kind === 'bedrock-api-key' && r.status === 'active' ? r.configuration : undefined;
    const createdAt = typeof key?.createdAt === 'string' ? key.createdAt : undefined;
    if (r && key && createdAt && key.keyStatus !== 'Inactive' && (typeof key.expiresAt !== 'string' || key.expiresAt > until)) {
      const ageDays = Math.floor((Date.parse(until) - Date.parse(createdAt)) / 86_400_000);
      const userName = typeof key.userName === 'string' ? key.userName : '';
      // A long-term key's calls are its user's: their bearer-token calls are the key's use.
      const user = principals.get(`arn:${r.arn.split(':')[1]}:iam::${r.account}:user/${userName}`);
      if (ageDays >= maxAgeDays) oldKeys.push({ owner: ownerOfItem(item, principalTagsItemOf(r.discoveredBy), r.account, input), value: { arn: r.arn, userName, account: r.account, createdAt, ageDays, expiresAt: typeof key.expiresAt === 'string' ? key.expiresAt : null, lastUsedAt: user?.lastBearerTokenCallAt ?? null, daysUsed: user?.bearerTokenCallDays ?? 0 } });
    }
    if (r && within(r.firstSeen, since, until)) resources.push({ owner: ownerOfItem(item, principalTagsItemOf(r.discoveredBy), r.account, input), value: { kind: r.kind, account: r.account } });
    const f = readFinding(item);
    // A finding of an excluded resource or principal (ai-visibility:ignore) is not reported.
    const excluded = f && (controlsOf(resourceItems.get(f.resource)).excluded || controlsOf(principalTagsItemOf(f.principal)).excluded);
    if (f && !excluded && within(f.time, since, until)) {
      const owner = ownerOfItem(resourceItems.get(f.resource), principalTagsItemOf(f.principal), f.account, input);
      findings.push({ owner, value: { rule: f.rule, severity: f.severity } });
      if (f.rule === 'model-first-use') firstUses.push({ owner, value: { model: f.resource, account: f.account, principal: f.principal, time: f.time } });
    }
    const a = readAgentProfile(item);
    if (a && within(a.firstSeen, since, until)) agents.push({ owner: ownerOfItem(undefined, principalTagsItemOf(a.arn), a.account, input), value: { arn: a.arn, account: a.account, firstSeen: a.firstSeen, riskiest: [] } });
    const act = readAgentAction(item);
    if (act && within(act.time, since, until) && riskOf(act.classes) < RISK.length) {
      const list = actionsByAgent.get(act.agent) ?? [];
      list.push({ eventName: act.eventName, classes: act.classes, time: act.time, outcome: act.outcome });
      actionsByAgent.set(act.agent, list);
    }
    const q = readQuarantine(item);
    if (q && within(q.receivedAt, since, until)) quarantined++;
    const u = readUtilization(item);
    // A sweep's verdicts are dated by the end of the window it judged.
    const windowEnd = typeof (item.window as { end?: unknown } | undefined)?.end === 'string' ? ((item.window as { end: string }).end) : undefined;
    // An expected-idle GPU (ai-visibility:expected-idle) is not waste to report.
    if (u && !u.expectedIdle && windowEnd && within(windowEnd, since, until)) {
      const prev = latestVerdict.get(u.resource);
      const account = typeof item.account === 'string' ? item.account : (u.resource.split(':')[4] ?? '');
      if (!prev || windowEnd > prev.time) latestVerdict.set(u.resource, { time: windowEnd, account, value: { resource: u.resource, verdict: u.verdict, instanceType: u.instanceType ?? null, wastedPerHour: u.wastedPerHour ?? 0 } });
    }
  }
  for (const { value, account } of latestVerdict.values()) {
    if (value.verdict === 'idle' || value.verdict === 'memory-held-idle') idle.push({ owner: ownerOfItem(resourceItems.get(value.resource), principalTagsItemOf(readResource(resourceItems.get(value.resource))?.discoveredBy), account, input), value });
  }
  const withActions = agents.map((a) => ({ ...a, value: { ...a.value, riskiest: [...(actionsByAgent.get(a.value.arn) ?? [])].sort((x, y) => riskOf(x.classes) - riskOf(y.classes) || y.time.localeCompare(x.time)).slice(0, 5) } }));

  const digestOf = (owner: string | null, keep: (o: string | null) => boolean): Digest => {
    const counts = new Map<string, { kind: string; account: string; count: number }>();
    for (const { owner: o, value } of resources) {
      if (!keep(o)) continue;
      const k = `${value.kind}\u0000${value.account}`;
      counts.set(k, { ...value, count: (counts.get(k)?.count ?? 0) + 1 });
    }
    const rules = new Map<string, { rule: string; severity: string; count: number; heldBack: number }>();
    const bySeverity: Record<string, number> = {};
    for (const { owner: o, value } of findings) {
      if (!keep(o)) continue;
      rules.set(value.rule, { ...value, count: (rules.get(value.rule)?.count ?? 0) + 1, heldBack: owner === null ? heldBack.get(value.rule) ?? 0 : 0 });
      bySeverity[value.severity] = (bySeverity[value.severity] ?? 0) + 1;
    }
    return {
      since,
      until,
      owner,
      newResources: [...counts.values()].sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind)),
      findings: [...rules.values()].sort((a, b) => severityOrder(a.severity) - severityOrder(b.severity) || b.count - a.count || a.rule.localeCompare(b.rule)),
      findingsBySeverity: bySeverity,
      agents: withActions.filter((a) => keep(a.owner)).map((a) => a.value),
      idleGpus: idle.filter((g) => keep(g.owner)).map((g) => g.value).sort((a, b) => b.wastedPerHour - a.wastedPerHour).slice(0, 10),
      oldApiKeys: oldKeys.filter((k) => keep(k.owner)).map((k) => k.value).sort((a, b) => b.ageDays - a.ageDays || a.arn.localeCompare(b.arn)),
      apiKeyMaxAgeDays: maxAgeDays,
      modelsFirstUsed: firstUses.filter((u) => keep(u.owner)).map((u) => u.value).sort((a, b) => b.time.localeCompare(a.time) || a.model.localeCompare(b.model)),
      health: owner === null ? { quarantined, deadLettered: { ...(input.deadLettered ?? {}) } } : { quarantined: 0, deadLettered: {} },
    };
  };
  const owners = [...new Set(findings.map((f) => f.owner).filter((o): o is string => o !== null))].sort();
  return { everything: digestOf(null, () => true), byOwner: owners.map((o) => digestOf(o, (x) => x === o)) };
}

/** The digest as text (email, the terminal). */
export function renderDigest(d: Digest): string {
  const lines = [`ai-visibility digest${d.owner ? ` for ${d.owner}` : ''}: ${d.since} to ${d.until}`, ''];
  const section = (title: string, rows: string[]) => lines.push(title, ...(rows.length ? rows.map((r) => `  - ${r}`) : ['  (none)']), '');
  section('New AI resources', d.newResources.map((r) => `${r.count} ${r.kind} in ${r.account}`));
  const severities = Object.entries(d.findingsBySeverity).sort(([a], [b]) => severityOrder(a) - severityOrder(b));
  section(`Findings${severities.length ? ` (${severities.map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}`, d.findings.map((f) => `${f.severity} ${f.rule}: ${f.count}${f.heldBack ? ` (and ${f.heldBack} repeats held back)` : ''}`));
  section('Agents identified', d.agents.map((a) => `${a.arn} (${a.account}, first seen ${a.firstSeen})${a.riskiest.length ? `: ${a.riskiest.map((x) => `${x.eventName} [${x.classes.join(', ')}]${x.outcome !== 'success' ? ` ${x.outcome}` : ''}`).join('; ')}` : ''}`));
  section(`Long-term Bedrock API keys older than ${d.apiKeyMaxAgeDays} days`, d.oldApiKeys.map((k) => `${k.userName} in ${k.account}: ${k.ageDays} days old (created ${k.createdAt}), ${k.expiresAt ? `expires ${k.expiresAt}` : 'never expires'}, ${k.lastUsedAt ? `last used ${k.lastUsedAt} (on ${k.daysUsed} day(s) seen)` : 'no use seen'}`));
  section('Models used for the first time (not by a known AI application)', d.modelsFirstUsed.map((u) => `${u.model} in ${u.account}, by ${u.principal ?? 'unknown'} at ${u.time}`));
  section('Top idle GPUs', d.idleGpus.map((g) => `${g.resource} (${g.instanceType ?? 'unknown type'}): ${g.verdict}, $${g.wastedPerHour.toFixed(2)} an hour`));
  if (d.owner === null) {
    const dlq = Object.entries(d.health.deadLettered);
    section('Pipeline health', [`${d.health.quarantined} record(s) quarantined`, ...(dlq.length ? dlq.map(([q, n]) => `${n} message(s) in the ${q} dead-letter queue`) : [])]);
  }
  return lines.join('\n').trimEnd() + '\n';
}
