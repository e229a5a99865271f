/**
 * The classifier's work on one SQS batch, with its collaborators passed in.
 *
 * Every message ends in exactly one of three places: classified into the inventory, ignored (a
 * matched event that turned out not to be AI activity, e.g. stopping a t3 instance), or
 * quarantined with its reason (unparseable, not CloudTrail, no usable time...). A message whose
 * writes fail is reported back as a batch item failure, so SQS redelivers it and, after the
 * queue's maxReceiveCount, moves it to the dead-letter queue: bursts, throttles and partial
 * failures lose nothing, and idempotent writes make the redelivery harmless.
 */
import { normalize } from './normalize';
import { classify } from './classify';
import { lineageMessages, planAgentWrites, planLineageWrites, planWrites, type ClassifiedEvent, type LineageSighting, type PlannedEntity, type PlannedItem } from './plan';
import { lineageOf } from './lineage/extract';
import type { LineageQueue } from '../core/lineage';
import { analyzeAgents, markCreatedByAgents, type AgentAnalysis, type AgentDirectory, type AgentSettings, type BatchEvent } from './agents/analyze';
import type { InventoryStore } from '../shared/inventory-store';
import { ENTITY, familyOfKey, isOutgoingEdgeKey, keys, keyString, quarantineItem, type Item, type Key } from '../shared/items';
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

export interface BatchOutcome {
  readonly failedMessageIds: string[];
  readonly stats: BatchStats;
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
  /** The lineage step (edges, bucket tags, and work for the propagator); skipped when absent. */
  readonly lineage?: { readonly queue: LineageQueue };
}

/** The batch's running record: what each step counted, and the messages that must come back. */
interface Run {
  readonly deps: BatchDependencies;
  readonly stats: BatchStats;
  readonly failed: Set<string>;
  readonly ignoredReasons: Record<string, number>;
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
      run.stats.ignored++;
      run.ignoredReasons[e.classification.ignoredBecause] = (run.ignoredReasons[e.classification.ignoredBecause] ?? 0) + 1;
      continue;
    }
    classified.push({ ...e, classification: createdByAgents.get(e.messageId) ?? e.classification });
  }
  // What agents created outside the AI services enters the inventory too.
  for (const c of analysis?.created ?? []) classified.push({ messageId: c.messageId, event: c.event, classification: { resources: [c.resource], findings: [] } });
  return { classified, usedByAgentStep };
}

/** The lineage facts (edges, bucket tags) of the batch's events. */
function lineageSightings(events: readonly BatchEvent[]): LineageSighting[] {
  const out: LineageSighting[] = [];
  for (const e of events) {
    const facts = lineageOf(e.event);
    if (facts.edges.length > 0 || facts.bucketTags) out.push({ messageId: e.messageId, event: e.event, facts });
  }
  return out;
}

/** The ordered merges; resolves to the lineage keys the batch created (new edges). */
async function writeEntities(entities: readonly PlannedEntity[], run: Run): Promise<Set<string>> {
  const createdEdges = new Set<string>();
  await pool(entities, run.deps.concurrency ?? 16, async ({ write, messageIds }) => {
    try {
      const outcome = await run.deps.store.writeEntity(write);
      const family = familyOfKey(write.key);
      if (outcome === 'created' && family === 'lineage') createdEdges.add(keyString(write.key));
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
async function putImmutable(immutable: readonly PlannedItem[], run: Run): Promise<void> {
  let failedKeys: Key[];
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
  run.stats.agentActions = written.filter((i) => i.item.entity === ENTITY.agentAction).length;
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
    .filter((s) => s.facts.edges.length > 0 || s.facts.bucketTags);
  const work = lineageMessages(changed);
  try {
    if (work.length > 0) await queue.send(work.map((w) => w.message));
  } catch (error) {
    run.deps.log?.error('lineage work not queued; its messages will be redelivered', { error: String(error) });
    for (const w of work) for (const id of w.messageIds) run.failed.add(id);
  }
}

export async function processMessages(messages: readonly InboundMessage[], deps: BatchDependencies): Promise<BatchOutcome> {
  const run: Run = {
    deps,
    stats: { received: messages.length, classified: 0, ignored: 0, quarantined: 0, failed: 0, resourceWrites: 0, principalWrites: 0, findings: 0, agentActions: 0, lineageEdges: 0 },
    failed: new Set<string>(),
    ignoredReasons: {},
  };
  const outcome = (): BatchOutcome => {
    run.stats.failed = run.failed.size;
    return { failedMessageIds: [...run.failed], stats: run.stats, ignoredReasons: run.ignoredReasons };
  };
  const { events, quarantine } = readMessages(messages);

  // The agent step reads state; if it cannot, the whole batch goes back to the queue.
  let analysis: AgentAnalysis | undefined;
  if (deps.agents) {
    try {
      analysis = await analyzeAgents(events, deps.agents.directory, deps.agents.settings);
    } catch (error) {
      deps.log?.error('agent step failed; the batch will be redelivered', { error: String(error) });
      for (const m of messages) run.failed.add(m.messageId);
      return outcome();
    }
  }
  const { classified, usedByAgentStep } = eventsToRecord(events, analysis, run);

  const plan = planWrites(classified);
  const agentPlan = analysis && deps.agents ? planAgentWrites(analysis, deps.agents.ledgerRetentionDays) : { entities: [], items: [] };
  const lineage = deps.lineage ? lineageSightings(events) : [];
  const immutable = [...plan.findings, ...agentPlan.items, ...quarantine.map((q) => ({ item: q.item, messageIds: new Set([q.messageId]) }))];
  const [createdEdges] = await Promise.all([writeEntities([...plan.entities, ...agentPlan.entities, ...planLineageWrites(lineage)], run), putImmutable(immutable, run)]);
  await queueLineageWork(lineage, createdEdges, messages, run);

  for (const q of quarantine) {
    if (!run.failed.has(q.messageId)) {
      run.stats.quarantined++;
      deps.log?.warn('quarantined', { source: q.item.source, reason: q.item.reason });
    }
  }
  // A classified message can fail through several writes: count messages, not writes.
  run.stats.classified = new Set([...classified.map((c) => c.messageId), ...usedByAgentStep].filter((id) => !run.failed.has(id))).size;
  return outcome();
}
