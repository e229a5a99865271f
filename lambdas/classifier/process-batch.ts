/**
 * The classifier's work on one SQS batch, with its collaborators passed in.
 *
 * Every message ends in exactly one of three places: classified into the inventory, ignored (a
 * matched event that turned out not to be AI activity, e.g. stopping a t3 instance), or
 * quarantined with its reason (unparseable, not CloudTrail, no usable time...). A message whose
 * writes fail is reported back as a batch item failure, so SQS redelivers it and, after the
 * queue's maxReceiveCount, moves it to the dead-letter queue: bursts, throttles and partial
 * failures lose nothing, and idempotent writes make the redelivery harmless.
 *
 * One bad record never takes good ones with it. Writes coalesce a batch's events per item, so a
 * failing write (or a failing agent step) fails every message behind it; the failed messages
 * are then processed again in halves, and halves of those, until each failure is one that fails
 * alone (or the invocation's time runs short). Only those are reported. Rerunning is safe: every
 * write is idempotent.
 */
import { normalize } from './normalize';
import { classify } from './classify';
import { isOwnActivity } from './principal';
import { taggedPrincipalOf } from '../core/arn';
import { lineageMessages, planAgentWrites, planLineageWrites, planPrincipalTags, planWrites, type ClassifiedEvent, type LineageSighting, type PlannedEntity, type PlannedItem, type PrincipalTagSighting } from './plan';
import { principalTagsOf } from './tags';
import { lineageOf } from './lineage/extract';
import type { LineageQueue } from '../core/lineage';
import { analyzeAgents, markCreatedByAgents, type AgentAnalysis, type AgentDirectory, type AgentSettings, type BatchEvent } from './agents/analyze';
import type { InventoryStore } from '../shared/inventory-store';
import { compareEnforcedGuardrails, type GuardrailReader } from './guardrail-versions';
import { analyzeModelUse, modelUseFindingKey, type ModelUseAnalysis, type ModelUseSettings } from './model-use';
import { ENTITY, familyOfKey, findingItem, isOutgoingEdgeKey, keys, keyString, quarantineItem, type Item, type Key } from '../shared/items';
import { pool } from '../shared/pool';

export interface InboundMessage {
  readonly messageId: string;
  readonly body: string;
  /** When the queue received it (ISO 8601): the quarantine timestamp, stable across redeliveries. */
  readonly receivedAt: string;
  /** Where it came from, for the quarantine record: `sqs:<messageId>` or `file.json:#12`. */
  readonly source: string;
  /** How many times SQS has delivered it (ApproximateReceiveCount). @default 1 */
  readonly deliveries?: number;
}

export interface BatchStats {
  received: number;
  classified: number;
  ignored: number;
  quarantined: number;
  failed: number;
  resourceWrites: number;
  principalWrites: number;
  findings: number;
  /** Actions of AI agents written to the ledger. */
  agentActions: number;
  /** Lineage edges written (each is kept under both of its nodes). */
  lineageEdges: number;
}

/** Agent actions written to the ledger, by class (an action can have several). */
export type ActionsByClass = Record<string, number>;

export interface BatchOutcome {
  readonly failedMessageIds: string[];
  /**
   * Counts of messages by where they ended (they add up to `received`), and of the writes done
   * (repeated writes of a failure's isolation included).
   */
  readonly stats: BatchStats;
  /** Where each message ended. */
  readonly outcomes: ReadonlyMap<string, MessageOutcome>;
  /** How many times failed messages were processed again to isolate the ones that fail alone. */
  readonly isolationRuns: number;
  /** Messages handed back unprocessed (counted in `failed`) because the invocation ran out of time. */
  readonly deferred: number;
  /** The ledger entries written, by action class. */
  readonly actionsByClass: ActionsByClass;
  /** Why matched events were ignored, counted: for logs and the replay summary. */
  readonly ignoredReasons: Record<string, number>;
}

export interface BatchDependencies {
  readonly store: InventoryStore;
  readonly log?: { warn(message: string, extra: Record<string, unknown>): void; error(message: string, extra: Record<string, unknown>): void };
  /** Concurrent entity writes (DynamoDB handles far more; this bounds Lambda memory and sockets). */
  readonly concurrency?: number;
  /** The agent step (identification, ledger, agent findings); skipped when absent. */
  readonly agents?: { readonly directory: AgentDirectory; readonly settings: AgentSettings; readonly ledgerRetentionDays: number };
  /**
   * The lineage step (edges, classification tags, and work for the propagator); skipped when
   * absent. `tagKey`: the classification tag (default `data-classification`).
   */
  readonly lineage?: { readonly queue: LineageQueue; readonly tagKey?: string };
  /**
   * The model-use step (LLMjacking: reconnaissance then first invocation, new regions, first use
   * of a model, refused-invocation bursts; model-use.ts); skipped when absent. `now`: the clock of
   * the markers' expiry. @default now Date.now
   */
  readonly modelUse?: { readonly settings: ModelUseSettings; readonly now?: () => number };
  /**
   * Reads guardrail versions' filters (bedrock:GetGuardrail), to tell whether an enforced
   * configuration moved to one that filters less (guardrail-versions.ts); skipped when absent.
   */
  readonly guardrails?: GuardrailReader;
  /**
   * Looks up (and caches) the tags of the principals of the findings about to be written, so the
   * change feed can read their ignore tag from the cache without an IAM client. @default none
   */
  readonly lookupPrincipals?: (principals: readonly string[]) => Promise<unknown>;
  /**
   * Milliseconds the invocation has left. Isolating failures stops below `ISOLATION_RESERVE_MS`;
   * below `DEADLINE_RESERVE_MS` no new work starts, and what was not done goes back to SQS as
   * batch item failures (a batch cut off by the timeout would come back whole). @default unbounded
   */
  readonly timeLeftMs?: () => number;
}

/** Time kept back from isolating failures, for the last writes and the answer to SQS. */
export const ISOLATION_RESERVE_MS = 15_000;
/** Time kept back for the writes in flight and the answer to SQS: no new write starts below it. */
export const DEADLINE_RESERVE_MS = 5_000;

/** Where one message ended. */
export type MessageOutcome = 'classified' | 'ignored' | 'quarantined' | 'failed';

/** One run's record: what each step counted, where each message ended, and the messages that must come back. */
interface Run {
  readonly deps: BatchDependencies;
  readonly stats: BatchStats;
  readonly failed: Set<string>;
  readonly ignored: Map<string, string>;
  /** Quarantined messages and why. */
  readonly quarantined: Map<string, string>;
  readonly classified: Set<string>;
  /** Messages whose work was not started for want of time (also in `failed`). */
  readonly deferred: Set<string>;
  readonly actionsByClass: ActionsByClass;
}

const outOfTime = (run: Run): boolean => (run.deps.timeLeftMs?.() ?? Infinity) < DEADLINE_RESERVE_MS;

/** Hand messages back unprocessed: they fail, and SQS delivers them again. */
function defer(run: Run, ids: Iterable<string>): void {
  for (const id of ids) {
    run.failed.add(id);
    run.deferred.add(id);
  }
}

type Quarantined = { readonly item: Item; readonly messageId: string };

/** Parse, normalize and classify each message; what cannot be used is quarantined with its reason. */
function readMessages(messages: readonly InboundMessage[]): { events: BatchEvent[]; quarantine: Quarantined[] } {
  const events: BatchEvent[] = [];
  const quarantine: Quarantined[] = [];
  for (const message of messages) {
    let input: unknown;
    try {
      input = JSON.parse(message.body);
    } catch (error) {
      quarantine.push({ messageId: message.messageId, item: quarantineItem(message, `message body is not JSON: ${(error as Error).message}`) });
      continue;
    }
    const normalized = normalize(input);
    if (!normalized.ok) {
      quarantine.push({ messageId: message.messageId, item: quarantineItem(message, normalized.reason) });
      continue;
    }
    events.push({ messageId: message.messageId, event: normalized.event, classification: classify(normalized.event) });
  }
  return { events, quarantine };
}

/**
 * The events to record: classified ones (with what agents created marked on them, and that
 * agents' non-AI creations added), counting the rest as ignored unless the agent step used them.
 */
function eventsToRecord(events: readonly BatchEvent[], analysis: AgentAnalysis | undefined, run: Run): { classified: ClassifiedEvent[]; usedByAgentStep: Set<string> } {
  // Events the agent step used (an agent's action, evidence of one, a tool function's role) are not "ignored".
  const usedByAgentStep = new Set([...(analysis?.actions ?? []), ...(analysis?.evidence ?? []), ...(analysis?.functionRoles ?? [])].map((x) => x.messageId));
  const createdByAgents = analysis ? markCreatedByAgents(events, analysis) : new Map();
  const classified: ClassifiedEvent[] = [];
  for (const e of events) {
    if (e.classification.ignoredBecause) {
      if (usedByAgentStep.has(e.messageId)) continue;
      run.ignored.set(e.messageId, e.classification.ignoredBecause);
      continue;
    }
    classified.push({ ...e, classification: createdByAgents.get(e.messageId) ?? e.classification });
  }
  // What agents created outside the AI services enters the inventory too.
  for (const c of analysis?.created ?? []) classified.push({ messageId: c.messageId, event: c.event, classification: { resources: [c.resource], findings: [] } });
  return { classified, usedByAgentStep };
}

/** The lineage facts (edges, classification tags) of the batch's events. */
function lineageSightings(events: readonly BatchEvent[], tagKey: string | undefined): LineageSighting[] {
  const out: LineageSighting[] = [];
  for (const e of events) {
    const facts = lineageOf(e.event, tagKey);
    if (facts.edges.length > 0 || facts.tags) out.push({ messageId: e.messageId, event: e.event, facts });
  }
  return out;
}

/** The control tags (owner, ignore) IAM calls set on or remove from roles and users (not the stack's own calls). */
function principalTagSightings(events: readonly BatchEvent[]): PrincipalTagSighting[] {
  const out: PrincipalTagSighting[] = [];
  for (const e of events) {
    if (isOwnActivity(e.event)) continue;
    const tags = principalTagsOf(e.event);
    if (tags) out.push({ messageId: e.messageId, event: e.event, tags });
  }
  return out;
}

/** The tags of the findings' principals, cached before the findings are written (a failure only leaves the feed to the events). */
async function lookUpFindingPrincipals(immutable: readonly PlannedItem[], run: Run): Promise<void> {
  if (!run.deps.lookupPrincipals || outOfTime(run)) return;
  const principals = [...new Set(immutable.flatMap((i) => (i.item.entity === ENTITY.finding && typeof i.item.principal === 'string' ? [taggedPrincipalOf(i.item.principal)] : [])).filter((p): p is string => Boolean(p)))];
  if (principals.length === 0) return;
  try {
    await run.deps.lookupPrincipals(principals);
  } catch (error) {
    run.deps.log?.warn('principal tags not looked up; the change feed decides by the events', { error: String(error) });
  }
}

/** The ordered merges; resolves to the lineage keys the batch created (new edges). */
async function writeEntities(entities: readonly PlannedEntity[], run: Run): Promise<Set<string>> {
  const createdEdges = new Set<string>();
  await pool(entities, run.deps.concurrency ?? 16, async ({ write, messageIds }) => {
    if (outOfTime(run)) return defer(run, messageIds);
    try {
      const outcome = await run.deps.store.writeEntity(write);
      const family = familyOfKey(write.key);
      // A new edge, or an edge an older event showed first (what downstream sensitivity rests on changed).
      if ((outcome === 'created' || outcome === 'merged') && family === 'lineage') createdEdges.add(keyString(write.key));
      if (outcome === 'unknown-skipped') return;
      if (family === 'principal') run.stats.principalWrites++;
      else if (family === 'lineage') {
        if (isOutgoingEdgeKey(write.key)) run.stats.lineageEdges++;
      } else run.stats.resourceWrites++;
    } catch (error) {
      run.deps.log?.error('inventory write failed; its messages will be redelivered', { key: write.key, error: String(error) });
      for (const id of messageIds) run.failed.add(id);
    }
  });
  return createdEdges;
}

/** Findings, ledger entries, watch marks and quarantine records are immutable: one stream of batch puts. */
async function putImmutable(immutable: readonly PlannedItem[], run: Run): Promise<Set<string>> {
  let failedKeys: Key[];
  if (outOfTime(run)) {
    for (const i of immutable) defer(run, i.messageIds);
    return new Set();
  }
  try {
    failedKeys = await run.deps.store.putItems(immutable.map((i) => i.item));
  } catch (error) {
    run.deps.log?.error('batch put failed; its messages will be redelivered', { error: String(error) });
    failedKeys = immutable.map((i) => ({ pk: i.item.pk, sk: i.item.sk }));
  }
  const failedSet = new Set(failedKeys.map(keyString));
  const written = immutable.filter((i) => !failedSet.has(keyString(i.item)));
  for (const i of immutable) if (failedSet.has(keyString(i.item))) for (const id of i.messageIds) run.failed.add(id);
  run.stats.findings = written.filter((i) => i.item.entity === ENTITY.finding).length;
  const actions = written.filter((i) => i.item.entity === ENTITY.agentAction);
  run.stats.agentActions = actions.length;
  for (const a of actions) for (const c of Array.isArray(a.item.classes) ? a.item.classes : []) if (typeof c === 'string') run.actionsByClass[c] = (run.actionsByClass[c] ?? 0) + 1;
  return new Set(written.map((i) => keyString(i.item)));
}

/** The model-use findings as items, each with the key its step knows it by. */
function modelUseItems(analysis: ModelUseAnalysis | undefined): Array<PlannedItem & { readonly stepKey: string }> {
  return (analysis?.findings ?? []).map((f) => ({ item: findingItem(f.finding, 'classifier'), messageIds: f.messageIds, stepKey: modelUseFindingKey(f.finding) }));
}

/** Once its findings are in, the model-use step marks what they were about (a failure only risks a repeat). */
async function settleModelUse(analysis: ModelUseAnalysis | undefined, items: ReadonlyArray<PlannedItem & { readonly stepKey: string }>, written: ReadonlySet<string>, run: Run): Promise<void> {
  if (!analysis || items.length === 0) return;
  try {
    await analysis.afterWritten(new Set(items.filter((i) => written.has(keyString(i.item))).map((i) => i.stepKey)));
  } catch (error) {
    run.deps.log?.warn('model-use flags not set; a later batch may raise the same finding again', { error: String(error) });
  }
}

/**
 * Tell the propagator what changes the graph: new edges and tag changes, once the writes are in
 * (it reads them). A redelivered message sends all of its work again, in case the delivery that
 * wrote it could not send it. If the queue cannot take the work, its messages go back to SQS.
 */
async function queueLineageWork(lineage: readonly LineageSighting[], createdEdges: ReadonlySet<string>, messages: readonly InboundMessage[], run: Run): Promise<void> {
  const queue = run.deps.lineage?.queue;
  if (!queue || lineage.length === 0) return;
  const redelivered = new Set(messages.filter((m) => (m.deliveries ?? 1) > 1).map((m) => m.messageId));
  const isNew = (e: LineageSighting['facts']['edges'][number]) =>
    createdEdges.has(keyString(keys.lineageOut(e.from, e.relation, e.to))) || createdEdges.has(keyString(keys.lineageIn(e.to, e.relation, e.from)));
  const changed = lineage
    .filter((s) => !run.failed.has(s.messageId))
    .map((s) => (redelivered.has(s.messageId) ? s : { ...s, facts: { ...s.facts, edges: s.facts.edges.filter(isNew) } }))
    .filter((s) => s.facts.edges.length > 0 || s.facts.tags);
  const work = lineageMessages(changed);
  if (work.length > 0 && outOfTime(run)) {
    for (const w of work) defer(run, w.messageIds);
    return;
  }
  try {
    if (work.length > 0) await queue.send(work.map((w) => w.message));
  } catch (error) {
    run.deps.log?.error('lineage work not queued; its messages will be redelivered', { error: String(error) });
    for (const w of work) for (const id of w.messageIds) run.failed.add(id);
  }
}

/** One pass over `messages`: read, the agent step, plan, write, queue lineage work. */
async function processOnce(messages: readonly InboundMessage[], deps: BatchDependencies): Promise<Run> {
  const run: Run = {
    deps,
    stats: { received: messages.length, classified: 0, ignored: 0, quarantined: 0, failed: 0, resourceWrites: 0, principalWrites: 0, findings: 0, agentActions: 0, lineageEdges: 0 },
    failed: new Set<string>(),
    ignored: new Map<string, string>(),
    quarantined: new Map<string, string>(),
    classified: new Set<string>(),
    deferred: new Set<string>(),
    actionsByClass: {},
  };
  if (outOfTime(run)) {
    defer(run, messages.map((m) => m.messageId));
    return run;
  }
  const read = readMessages(messages);
  const quarantine = read.quarantine;
  let events = read.events;
  if (deps.guardrails) {
    try {
      const settled = await compareEnforcedGuardrails(events, deps.store, deps.guardrails, deps.log);
      if (settled.size > 0) events = events.map((e) => (settled.has(e.messageId) ? { ...e, classification: settled.get(e.messageId)! } : e));
    } catch (error) {
      deps.log?.error('guardrail comparison failed; its messages are retried', { error: String(error) });
      for (const m of messages) run.failed.add(m.messageId);
      return run;
    }
  }

  // The agent step reads state; if it cannot, every message of this pass fails (and is isolated).
  let analysis: AgentAnalysis | undefined;
  if (deps.agents) {
    try {
      analysis = await analyzeAgents(events, deps.agents.directory, deps.agents.settings);
    } catch (error) {
      deps.log?.error('agent step failed; its messages are retried', { error: String(error) });
      for (const m of messages) run.failed.add(m.messageId);
      return run;
    }
  }
  let modelUse: ModelUseAnalysis | undefined;
  if (deps.modelUse) {
    try {
      const agents = new Set([...(analysis?.actions ?? []).map((a) => a.agent), ...(analysis?.evidence ?? []).map((e) => e.evidence.principal)]);
      modelUse = await analyzeModelUse(events, deps.store, deps.modelUse.settings, { agents, nowMs: (deps.modelUse.now ?? Date.now)() });
    } catch (error) {
      deps.log?.error('model-use step failed; its messages are retried', { error: String(error) });
      for (const m of messages) run.failed.add(m.messageId);
      return run;
    }
  }
  const { classified, usedByAgentStep } = eventsToRecord(events, analysis, run);

  const plan = planWrites(classified);
  const agentPlan = analysis && deps.agents ? planAgentWrites(analysis, deps.agents.ledgerRetentionDays) : { entities: [], items: [] };
  const lineage = deps.lineage ? lineageSightings(events, deps.lineage.tagKey) : [];
  const principalTags = principalTagSightings(events);
  const modelUseFindings = modelUseItems(modelUse);
  const immutable = [...plan.findings, ...agentPlan.items, ...modelUseFindings, ...quarantine.map((q) => ({ item: q.item, messageIds: new Set([q.messageId]) }))];
  await lookUpFindingPrincipals(immutable, run);
  const [createdEdges, written] = await Promise.all([writeEntities([...plan.entities, ...agentPlan.entities, ...planLineageWrites(lineage), ...planPrincipalTags(principalTags)], run), putImmutable(immutable, run)]);
  await settleModelUse(modelUse, modelUseFindings, written, run);
  await queueLineageWork(lineage, createdEdges, messages, run);

  for (const q of quarantine) if (!run.failed.has(q.messageId)) run.quarantined.set(q.messageId, String(q.item.reason));
  for (const id of [...classified.map((c) => c.messageId), ...usedByAgentStep, ...principalTags.map((o) => o.messageId)]) if (!run.failed.has(id)) run.classified.add(id);
  return run;
}

const outcomeIn = (run: Run, id: string): MessageOutcome =>
  run.failed.has(id) ? 'failed' : run.quarantined.has(id) ? 'quarantined' : run.classified.has(id) ? 'classified' : run.ignored.has(id) ? 'ignored' : 'classified';

export async function processMessages(messages: readonly InboundMessage[], deps: BatchDependencies): Promise<BatchOutcome> {
  const outcomes = new Map<string, MessageOutcome>();
  const reasons = new Map<string, string>();
  const quarantineReasons = new Map<string, string>();
  const work = { resourceWrites: 0, principalWrites: 0, findings: 0, agentActions: 0, lineageEdges: 0 };
  const deferred = new Set<string>();
  const actionsByClass: ActionsByClass = {};
  const record = (group: readonly InboundMessage[], run: Run) => {
    for (const [c, n] of Object.entries(run.actionsByClass)) actionsByClass[c] = (actionsByClass[c] ?? 0) + n;
    for (const m of group) {
      if (run.deferred.has(m.messageId)) deferred.add(m.messageId);
      else deferred.delete(m.messageId);
      outcomes.set(m.messageId, outcomeIn(run, m.messageId));
      const reason = run.ignored.get(m.messageId);
      if (reason) reasons.set(m.messageId, reason);
      const why = run.quarantined.get(m.messageId);
      if (why) quarantineReasons.set(m.messageId, why);
    }
    for (const k of Object.keys(work) as Array<keyof typeof work>) work[k] += run.stats[k];
  };

  record(messages, await processOnce(messages, deps));
  // Isolate: what failed together is tried again in halves, until each failure fails alone.
  let isolationRuns = 0;
  const failedOf = (group: readonly InboundMessage[]) => group.filter((m) => outcomes.get(m.messageId) === 'failed');
  const pending = [failedOf(messages)].filter((g) => g.length > 1);
  const timeLeft = deps.timeLeftMs ?? (() => Infinity);
  while (pending.length > 0 && timeLeft() > ISOLATION_RESERVE_MS) {
    const group = pending.shift()!;
    const middle = Math.ceil(group.length / 2);
    for (const half of [group.slice(0, middle), group.slice(middle)]) {
      isolationRuns++;
      record(half, await processOnce(half, deps));
      const still = failedOf(half);
      if (still.length > 1) pending.push(still);
    }
  }
  if (isolationRuns > 0) deps.log?.warn('failures isolated', { runs: isolationRuns, failed: failedOf(messages).length, of: messages.length });
  if (deferred.size > 0) deps.log?.warn('out of time: messages handed back unprocessed', { deferred: deferred.size, of: messages.length });

  const count = (o: MessageOutcome) => [...outcomes.values()].filter((x) => x === o).length;
  const ignoredReasons: Record<string, number> = {};
  for (const [id, reason] of reasons) if (outcomes.get(id) === 'ignored') ignoredReasons[reason] = (ignoredReasons[reason] ?? 0) + 1;
  for (const m of messages) if (outcomes.get(m.messageId) === 'quarantined') deps.log?.warn('quarantined', { source: m.source, reason: quarantineReasons.get(m.messageId) });
  const stats: BatchStats = { received: messages.length, classified: count('classified'), ignored: count('ignored'), quarantined: count('quarantined'), failed: count('failed'), ...work };
  return { failedMessageIds: failedOf(messages).map((m) => m.messageId), stats, outcomes, isolationRuns, deferred: deferred.size, actionsByClass, ignoredReasons };
}
