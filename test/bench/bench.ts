/**
 * `npm run bench`: throughput of the pipeline on one corpus, in one run.
 *
 * The corpus is built from the real and documented fixture records (test/fixtures/cloudtrail),
 * copied with fresh eventIDs until it holds at least 100,000 records, and written as gzipped
 * CloudTrail log files of 1,000 records, as CloudTrail delivers them. On that corpus:
 *   1. JSON.parse of the decompressed log files (the floor any reader pays);
 *   2. the classifier (normalize + classify) on every record, in memory;
 *   3. the replay up to the store (gunzip, parse, capture rules, the handler's own work);
 *   4. the end-to-end replay (the real handler against dynalite, and the report);
 *   5. DynamoDB capacity per matched event, at several SQS batch sizes;
 *   6. following an agent, per action;
 *   7. lineage: capacity per edge, work per propagator message, and a tag change on a bucket
 *      feeding 1,000 locations (how far one event's work spreads, one bounded message at a time);
 *   8. the GPU sweep's capacity and its run at 10,000 instances (sweep-scale.ts);
 *   9. the functions' bundles: size, clients and load time against a baseline (functions.ts);
 *  10. the trail reader: its work per log file (gunzip, parse, the watched principals' patterns)
 *      against gunzip + JSON.parse, and what that makes per million CloudTrail events;
 *  11. the LLMjacking detections: the captured reconnaissance reads and the model-use step's
 *      work per invocation, and what they cost per million (model-use-cost.ts);
 *  12. the replay as a user runs it, whole process: the fixed cost of an empty replay, compiled
 *      and through tsx, and a realistic corpus (1 % AI) against JSON.parse (startup.ts).
 * Results print as a table; docs/performance.md records a run.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { classify } from '../../lambdas/classifier/classify';
import { normalize } from '../../lambdas/classifier/normalize';
import { processMessages, type InboundMessage } from '../../lambdas/classifier/process-batch';
import { DEFAULT_AGENT_SETTINGS } from '../../lambdas/classifier/agents/analyze';
import { createAgentDirectory } from '../../lambdas/classifier/agents/directory';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { compileRules, isEnvelope, matchingRules, toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb } from '../../local/replay/local-dynamodb';
import { parseLogFile } from '../../local/replay/read-logs';
import { localClassifierEnvironment } from '../../local/handlers';
import { replay, replayInto } from '../../local/replay/replay';
import { createClassifierHandler } from '../../lambdas/classifier/handler';
import { createPropagator } from '../../lambdas/lineage-propagator/propagate';
import { DEFAULT_CLASSIFICATION, type LineageMessage } from '../../lambdas/core/lineage';
import { sweepScale } from './sweep-scale';
import { sweepTarget } from '../../lambdas/gpu-sweep/sweep';
import { readInventory, readMetrics, recordedMetricReader } from '../../local/sweep/local-sweep';
import { nullStore } from './null-store';
import { measureFunctions, printFunctions } from './functions';
import { keptRecords } from '../../lambdas/trail-reader/read';
import { watchedMatcher } from '../../lambdas/shared/agent-capture';
import { modelUseCost } from './model-use-cost';
import { startupSection } from './startup';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const FIXTURES = join(__dirname, '..', 'fixtures', 'cloudtrail');
const TARGET_RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const RECORDS_PER_FILE = 1_000;

function fixtureRecords(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const dir of ['ai', 'non-ai', 'documented']) {
    for (const file of readdirSync(join(FIXTURES, dir))) {
      const problems: Array<{ source: string; reason: string }> = [];
      for (const { value } of parseLogFile(readFileSync(join(FIXTURES, dir, file)), file, problems)) {
        // Envelopes are unwrapped: CloudTrail log files hold bare records.
        out.push((isEnvelope(value) ? value.detail : value) as Record<string, unknown>);
      }
    }
  }
  return out;
}

function buildCorpus(dir: string): { files: string[]; records: number } {
  const seed = fixtureRecords();
  const files: string[] = [];
  let records = 0;
  let batch: Record<string, unknown>[] = [];
  const flush = () => {
    const path = join(dir, `111122223333_CloudTrail_us-east-1_${String(files.length).padStart(5, '0')}.json.gz`);
    writeFileSync(path, gzipSync(JSON.stringify({ Records: batch })));
    files.push(path);
    batch = [];
  };
  while (records < TARGET_RECORDS) {
    for (const record of seed) {
      batch.push({ ...record, eventID: randomUUID() });
      records++;
      if (batch.length === RECORDS_PER_FILE) flush();
      if (records >= TARGET_RECORDS) break;
    }
  }
  if (batch.length) flush();
  return { files, records };
}

function timed<T>(work: () => T): { result: T; seconds: number } {
  const start = process.hrtime.bigint();
  const result = work();
  return { result, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

async function timedAsync<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const result = await work();
  return { result, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');

async function writeUnitsPerAiEvent(aiMessages: readonly InboundMessage[], batchSize: number, transport: 'http' | 'in-process') {
  const db = await startLocalDynamoDb({ transport });
  try {
    await db.createInventoryTable('bench-wcu');
    const store = createInventoryStore(db.documents, 'bench-wcu');
    const { seconds } = await timedAsync(async () => {
      for (let i = 0; i < aiMessages.length; i += batchSize) await processMessages(aiMessages.slice(i, i + batchSize), { store });
    });
    return { ...store.stats, seconds };
  } finally {
    await db.close();
  }
}

async function agentActionCapacity() {
  const activity = (JSON.parse(readFileSync(join(FIXTURES, 'documented', 'agents-2-activity.json'), 'utf8')) as { Records: Record<string, unknown>[] }).Records.filter((r) =>
    JSON.stringify(r.userIdentity).includes('support-tools-role'),
  );
  const setup = (JSON.parse(readFileSync(join(FIXTURES, 'documented', 'agents-1-setup.json'), 'utf8')) as { Records: Record<string, unknown>[] }).Records.slice(0, 2);
  const db = await startLocalDynamoDb();
  try {
    await db.createInventoryTable('bench-agents');
    const store = createInventoryStore(db.documents, 'bench-agents');
    const agents = { directory: createAgentDirectory(store), settings: DEFAULT_AGENT_SETTINGS, ledgerRetentionDays: 400 };
    const message = (r: Record<string, unknown>, i: number): InboundMessage => ({ messageId: `a${i}`, body: JSON.stringify(toEnvelope(r)), receivedAt: '2025-06-06T00:00:00.000Z', source: `bench#${i}` });
    await processMessages(setup.map(message), { store, agents }); // the role becomes an agent
    const events = Array.from({ length: 10_000 }, (_, i) => ({ ...activity[i % activity.length], eventID: randomUUID() }));
    const before = { ...store.stats };
    const { seconds } = await timedAsync(async () => {
      for (let i = 0; i < events.length; i += 1_000) await processMessages(events.slice(i, i + 1_000).map(message), { store, agents });
    });
    return { events: events.length, writeUnits: store.stats.writeUnits - before.writeUnits, readUnits: store.stats.readUnits - before.readUnits, requests: store.stats.requests - before.requests, seconds };
  } finally {
    await db.close();
  }
}

async function lineageCost() {
  const documented = (name: string) => (JSON.parse(readFileSync(join(FIXTURES, 'documented', name), 'utf8')) as { Records: Record<string, unknown>[] }).Records;
  const stateChange = JSON.parse(readFileSync(join(FIXTURES, 'documented', 'lineage-bedrock-job-state-change.json'), 'utf8')) as Record<string, unknown>;
  const message = (r: Record<string, unknown>, i: number): InboundMessage => ({ messageId: `l${i}`, body: JSON.stringify(isEnvelope(r) ? r : toEnvelope(r)), receivedAt: '2025-07-01T00:00:00.000Z', source: `bench#${i}` });
  const db = await startLocalDynamoDb();
  try {
    await db.createInventoryTable('bench-lineage');
    const classifierStore = createInventoryStore(db.documents, 'bench-lineage');
    const propagatorStore = createInventoryStore(db.documents, 'bench-lineage');
    const pending: LineageMessage[] = [];
    const queue = { send: async (m: readonly LineageMessage[]) => void pending.push(...m) };
    const propagator = createPropagator({ store: propagatorStore, queue, scheme: DEFAULT_CLASSIFICATION });
    let maxRequests = 0;
    const drain = async () => {
      let handled = 0;
      while (pending.length) {
        const before = propagatorStore.stats.requests;
        await propagator.handle(pending.shift()!);
        maxRequests = Math.max(maxRequests, propagatorStore.stats.requests - before);
        handled++;
      }
      return handled;
    };
    // The two documented chains (SageMaker and Bedrock), one delivery each.
    const records = [...documented('records-built-from-api-docs.json'), ...documented('lineage-bedrock.json'), stateChange];
    // The same delivery without the lineage step, on a table of its own: the difference is lineage's.
    await db.createInventoryTable('bench-lineage-off');
    const without = createInventoryStore(db.documents, 'bench-lineage-off');
    await processMessages(records.map(message), { store: without });
    const outcome = await processMessages(records.map(message), { store: classifierStore, lineage: { queue } });
    const chainMessages = await drain();
    const classifier = { writeUnits: classifierStore.stats.writeUnits - without.stats.writeUnits, requests: classifierStore.stats.requests - without.stats.requests };
    const chain = { edges: outcome.stats.lineageEdges, classifier, propagator: { ...propagatorStore.stats }, messages: chainMessages, skipped: propagator.stats.skipped };
    // A bucket feeding 1,000 locations (model files written to it), then its tag changes.
    const put = documented('records-built-from-api-docs.json').find((r) => r.eventName === 'PutObject')!;
    const files = Array.from({ length: 1_000 }, (_, i) => ({ ...put, eventID: randomUUID(), requestParameters: { bucketName: 'wide-bucket', key: `models/m${i}/model.safetensors` } }));
    await processMessages(files.map(message), { store: classifierStore, lineage: { queue } });
    await drain();
    const tagging = documented('records-built-from-api-docs.json').find((r) => r.eventName === 'PutBucketTagging')!;
    await processMessages([message({ ...tagging, eventID: randomUUID(), eventTime: '2025-07-02T00:00:00Z', requestParameters: { ...(tagging.requestParameters as object), bucketName: 'wide-bucket' } }, 99_999)], { store: classifierStore, lineage: { queue } });
    maxRequests = 0;
    const before = { ...propagatorStore.stats };
    const { result: fanMessages, seconds } = await timedAsync(drain);
    return { chain, fan: { messages: fanMessages, seconds, maxRequests, requests: propagatorStore.stats.requests - before.requests, writeUnits: propagatorStore.stats.writeUnits - before.writeUnits, readUnits: propagatorStore.stats.readUnits - before.readUnits } };
  } finally {
    await db.close();
  }
}

/** DynamoDB capacity of one sweep of the H200 examples, per resource, against dynalite. */
async function sweepCapacity() {
  const examples = join(__dirname, '..', 'fixtures', 'sweep');
  const inventory = readInventory(join(examples, 'h200-inventory.json'));
  const metrics = readMetrics(join(examples, 'h200-metrics.json'));
  const db = await startLocalDynamoDb();
  try {
    await db.createInventoryTable('bench-sweep');
    const store = createInventoryStore(db.documents, 'bench-sweep');
    const sweep = (sweepId: string, end: string) =>
      sweepTarget(
        { account: '111122223333', region: 'us-east-1', sweepId, window: { start: metrics.window.start, end }, period: 60 },
        { discovery: { discover: async () => inventory.resources.map((r) => ({ ...r, foundBy: ['discovery' as const] })) }, inventory: { gpuInstances: async () => [] }, metrics: recordedMetricReader(metrics), store },
      );
    const first = await sweep('bench-1', metrics.window.end);
    const afterFirst = { ...store.stats };
    // The next sweep finds the same: no new findings, the items exist.
    const second = await sweep('bench-2', new Date(Date.parse(metrics.window.end) + 60_000).toISOString());
    const per = (n: number, d: number) => (n / d).toFixed(2);
    return {
      first: { resources: first.resources, findings: first.findings, wcu: per(afterFirst.writeUnits, first.resources), rcu: per(afterFirst.readUnits, first.resources) },
      next: { resources: second.resources, findings: second.findings, wcu: per(store.stats.writeUnits - afterFirst.writeUnits, second.resources), rcu: per(store.stats.readUnits - afterFirst.readUnits, second.resources) },
    };
  } finally {
    await db.close();
  }
}

async function sweepSection(): Promise<void> {
  const capacity = await sweepCapacity();
  console.log(
    `\n  GPU sweep capacity per resource (the H200 examples, against dynalite): first sweep ${capacity.first.wcu} WCU, ${capacity.first.rcu} RCU (${capacity.first.resources} resources, ${capacity.first.findings} findings); next sweep ${capacity.next.wcu} WCU, ${capacity.next.rcu} RCU (${capacity.next.findings} findings)`,
  );
  const scale = { accountRegions: 100, instancesEach: 100, discoveryLatencyMs: 300, metricLatencyMs: 200 };
  const s = await sweepScale(scale);
  const { summary } = s;
  console.log(
    `\n  GPU sweep, ${summary.resources.toLocaleString('en-US')} GPU instances across ${s.accountRegions} account-regions (simulated latency: discovery ${scale.discoveryLatencyMs} ms, GetMetricData ${scale.metricLatencyMs} ms a request; Map concurrency 10):`,
  );
  console.log(`    ${summary.metricQueries.toLocaleString('en-US')} metric queries, ${summary.getMetricDataCalls.toLocaleString('en-US')} GetMetricData calls (${s.queriesPerAccountRegion} queries, ${s.callsPerAccountRegion} calls per account-region; equals ceil(queries / 500) in every one: ${s.callsMatchCeil})`);
  console.log(`    ${s.stateTransitions} state transitions (${s.retries} retries), ${s.seconds.toFixed(1)} s; verdicts ${Object.entries(summary.verdicts).map(([v, n]) => `${v} ${n}`).join(', ')}`);
  console.log(
    `    cost per sweep: Step Functions $${((s.stateTransitions * 0.025) / 1000).toFixed(4)} ($0.025 per 1,000 transitions), GetMetricData $${((summary.metricQueries * 0.01) / 1000).toFixed(2)} ($0.01 per 1,000 metrics requested)`,
  );
}

/**
 * The trail reader on the corpus's log files: every record of every file goes through it, since
 * an organization trail's bucket notifies of every file. Watched: the agent scenario's principals
 * (their copies are in the corpus) and 1,000 other roles, as in an organization with many agents.
 * Lambda prices: us-east-1, x86, $0.0000166667 per GB-second and $0.20 per million requests; S3
 * GET $0.0004 per 1,000; SQS $0.40 per million requests (November 2026 price pages).
 */
function trailSection(files: readonly string[], records: number): void {
  const gz = files.map((f) => readFileSync(f));
  const watched = [
    { principal: 'arn:aws:iam::111122223333:role/support-tools-role', iamArn: 'arn:aws:iam::111122223333:role/service-role/support-tools-role' },
    { principal: 'arn:aws:iam::111122223333:role/report-writer' },
    ...Array.from({ length: 1_000 }, (_, i) => ({ principal: `arn:aws:iam::${String(100000000000 + i)}:role/agent-role-${i}` })),
  ];
  const keep = watchedMatcher(watched);
  const floor = timed(() => gz.reduce((n, b) => n + (JSON.parse(gunzipSync(b).toString('utf8')) as { Records: unknown[] }).Records.length, 0));
  const reader = timed(() => gz.reduce((n, b, i) => n + keptRecords(b, files[i], keep, 256 * 1024 * 1024).messages.length, 0));
  const floorAgain = timed(() => gz.reduce((n, b) => n + (JSON.parse(gunzipSync(b).toString('utf8')) as { Records: unknown[] }).Records.length, 0));
  const floorSeconds = Math.min(floor.seconds, floorAgain.seconds);
  const perMillion = 1e6 / records;
  const lambdaSeconds = reader.seconds * perMillion;
  const filesPerMillion = (files.length * perMillion);
  const lambda = lambdaSeconds * 1 * 0.0000166667 + (filesPerMillion / 10) * 0.2e-6;
  const s3 = (filesPerMillion * 0.0004) / 1_000;
  const sqs = filesPerMillion * 1.3 * 0.4e-6;
  console.log(
    `\n  Trail reader (${files.length} log files of ${RECORDS_PER_FILE.toLocaleString('en-US')} records, ${watched.length.toLocaleString('en-US')} watched principals): ${(reader.seconds * 1e3).toFixed(0)} ms, ${(reader.seconds / floorSeconds).toFixed(2)}x gunzip + JSON.parse (${(floorSeconds * 1e3).toFixed(0)} ms); kept ${reader.result.toLocaleString('en-US')} calls`,
  );
  console.log(
    `    per million CloudTrail events at 1 GB: ${lambdaSeconds.toFixed(1)} s of Lambda ($${lambda.toFixed(4)}), ${filesPerMillion.toFixed(0)} S3 GETs ($${s3.toFixed(4)}), SQS for the notifications ($${sqs.toFixed(4)}): $${(lambda + s3 + sqs).toFixed(4)} in all, with files of ${RECORDS_PER_FILE.toLocaleString('en-US')} records`,
  );
}

/** The matched events of the corpus's files, as the classifier's queue would hold them. */
function matchedMessages(files: readonly string[]): InboundMessage[] {
  const rules = compileRules();
  const matched: InboundMessage[] = [];
  for (const file of files) {
    for (const record of (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: Record<string, unknown>[] }).Records) {
      const envelope = toEnvelope(record);
      if (matchingRules(envelope, rules).length > 0) matched.push({ messageId: `m${matched.length}`, body: JSON.stringify(envelope), receivedAt: '2025-06-05T00:00:00.000Z', source: `bench#${matched.length}` });
    }
  }
  return matched;
}

/**
 * Capacity per matched event by SQS batch size, over both transports to the same dynalite: in
 * process a refused write returns the stored item, as DynamoDB does with
 * ReturnValuesOnConditionCheckFailure, so the slow path reads nothing; over HTTP dynalite lacks
 * the member and the slow path reads, as against a DynamoDB without it.
 */
async function capacityByBatch(matched: readonly InboundMessage[]) {
  const sample = matched.slice(0, Math.min(matched.length, 20_000));
  const rows = [];
  for (const size of [1, 10, 100, 1_000, 10_000]) {
    const events = size === 1 ? sample.slice(0, 2_000) : sample;
    for (const transport of ['in-process', 'http'] as const) rows.push({ size, transport, events: events.length, ...(await writeUnitsPerAiEvent(events, size, transport)) });
  }
  return rows;
}

function printCapacity(byBatch: Awaited<ReturnType<typeof capacityByBatch>>): void {
  console.log('\n  DynamoDB capacity per matched event (base table; dynalite-reported; a failed condition counts 1 WCU; in process the refusal carries the item, over HTTP the slow path reads it):');
  for (const b of byBatch) {
    console.log(`    batch ${String(b.size).padStart(5)} ${b.transport.padEnd(10)}: ${(b.writeUnits / b.events).toFixed(3)} WCU, ${(b.readUnits / b.events).toFixed(3)} RCU, ${(b.requests / b.events).toFixed(3)} requests per event (${b.events.toLocaleString('en-US')} events, ${b.seconds.toFixed(1)} s)`);
  }
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === 'sweep') return sweepSection();
  if (process.env.BENCH_ONLY === 'capacity') {
    const dir = mkdtempSync(join(tmpdir(), 'ai-visibility-bench-'));
    try {
      const corpus = buildCorpus(dir);
      process.env.POWERTOOLS_METRICS_DISABLED = 'true';
      const matched = matchedMessages(corpus.files);
      console.log(`corpus: ${corpus.records.toLocaleString('en-US')} records, ${matched.length.toLocaleString('en-US')} reach the capture rules`);
      return printCapacity(await capacityByBatch(matched));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (process.env.BENCH_ONLY === 'trail') {
    const dir = mkdtempSync(join(tmpdir(), 'ai-visibility-bench-'));
    try {
      const corpus = buildCorpus(dir);
      return trailSection(corpus.files, corpus.records);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (process.env.BENCH_ONLY === 'functions') return printFunctions(measureFunctions());
  if (process.env.BENCH_ONLY === 'model-use') return void console.log((await modelUseCost()).join('\n'));
  if (process.env.BENCH_ONLY === 'startup') return void console.log(startupSection().join('\n'));
  const dir = mkdtempSync(join(tmpdir(), 'ai-visibility-bench-'));
  try {
    const corpus = buildCorpus(dir);
    const texts = corpus.files.map((f) => gunzipSync(readFileSync(f)).toString('utf8'));
    const bytes = texts.reduce((n, t) => n + t.length, 0);
    console.error(`corpus: ${corpus.records.toLocaleString('en-US')} records in ${corpus.files.length} gzipped CloudTrail log files (${(bytes / 1e6).toFixed(1)} MB of JSON)`);

    // 1. The floor: JSON.parse of the same log files, already decompressed.
    const parse = timed(() => texts.map((t) => (JSON.parse(t) as { Records: Record<string, unknown>[] }).Records));
    const parsed = parse.result.flat();

    // 2. The classifier alone, on every record (normalize + classify, no matching).
    const classifyAll = timed(() => {
      let ai = 0;
      for (const record of parsed) {
        const n = normalize(record);
        if (n.ok && classify(n.event).resources.length > 0) ai++;
      }
      return ai;
    });

    // 3. The replay up to the store: the real replay path (reader, gunzip, source prefilter,
    //    envelope, capture rules, SQS bodies, the middy-wrapped handler, normalize, classify,
    //    plan) with a store that writes nothing.
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const nullHandler = createClassifierHandler(localClassifierEnvironment('bench'), { store: nullStore(), logLevel: 'ERROR', lineageQueue: { send: async () => undefined } });
    const front = await timedAsync(() => replayInto([dir], { handler: nullHandler }));

    // The matched events, for the capacity runs below.
    const rules = compileRules();
    const matched: InboundMessage[] = [];
    for (const records of parse.result) {
      for (const record of records) {
        const envelope = toEnvelope(record);
        if (matchingRules(envelope, rules).length > 0) matched.push({ messageId: `m${matched.length}`, body: JSON.stringify(envelope), receivedAt: '2025-06-05T00:00:00.000Z', source: `bench#${matched.length}` });
      }
    }

    // 4. End to end: the real handler against dynalite, at the default batch size and a small one.
    const e2e = await timedAsync(() => replay([dir]));
    // What the change feed adds: the recorded stream (reads around each feed item's write) and the feed's own work.
    const e2eNoFeed = await timedAsync(() => replay([dir], { changeFeed: false }));
    const e2eSmall = await timedAsync(() => replay([dir], { batchSize: 100 }));

    // 5. Write units per AI event, by SQS batch size.
    const byBatch = await capacityByBatch(matched);

    // 6. Agent actions: what following an agent costs, per captured action (the agent scenario's
    //    tool-role actions, fresh eventIDs, the role already known as an agent).
    const agentCost = await agentActionCapacity();

    // 7. Lineage.
    const lineage = await lineageCost();

    const rows: Array<[string, string, string]> = [
      ['JSON.parse of the log files', `${rate(corpus.records, parse.seconds)} records/s`, `${parse.seconds.toFixed(2)} s`],
      ['classifier (normalize + classify)', `${rate(corpus.records, classifyAll.seconds)} records/s`, `${(parse.seconds / classifyAll.seconds).toFixed(2)} x JSON.parse`],
      ['replay up to the store', `${rate(corpus.records, front.seconds)} records/s`, `${(parse.seconds / front.seconds).toFixed(2)} x JSON.parse; ${matched.length.toLocaleString('en-US')} matched`],
      ['replay end to end, batch 1,000', `${rate(corpus.records, e2e.seconds)} records/s`, `${(parse.seconds / e2e.seconds).toFixed(3)} x JSON.parse; ${e2e.seconds.toFixed(1)} s`],
      ['replay end to end, batch 1,000, no change feed', `${rate(corpus.records, e2eNoFeed.seconds)} records/s`, `${(parse.seconds / e2eNoFeed.seconds).toFixed(3)} x JSON.parse; ${e2eNoFeed.seconds.toFixed(1)} s`],
      ['replay end to end, batch 100', `${rate(corpus.records, e2eSmall.seconds)} records/s`, `${(parse.seconds / e2eSmall.seconds).toFixed(3)} x JSON.parse; ${e2eSmall.seconds.toFixed(1)} s`],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log(`\nai-visibility bench: ${corpus.records.toLocaleString('en-US')} records, ${matched.length.toLocaleString('en-US')} reach the capture rules, ${e2e.result.inventory.length} inventory items, ${e2e.result.findings.length.toLocaleString('en-US')} findings, ${e2e.result.stats.quarantined} quarantined\n`);
    for (const [name, value, note] of rows) console.log(`  ${name.padEnd(width)}  ${value.padStart(20)}  ${note}`);
    const byType = new Map<string, number>();
    for (const e of e2e.result.events) byType.set(e['detail-type'], (byType.get(e['detail-type']) ?? 0) + 1);
    console.log(`\n  Domain events of the end-to-end replay: ${e2e.result.events.length.toLocaleString('en-US')} (${[...byType].map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`).join(', ')})`);
    printCapacity(byBatch);
    console.log(`\n  Agent actions (${agentCost.events.toLocaleString('en-US')} tool-role calls, batch 1,000): ${(agentCost.writeUnits / agentCost.events).toFixed(3)} WCU, ${(agentCost.readUnits / agentCost.events).toFixed(3)} RCU, ${(agentCost.requests / agentCost.events).toFixed(3)} requests per action; handler work ${(agentCost.seconds * 1e6 / agentCost.events).toFixed(0)} µs per action against dynalite`);
    const { chain, fan } = lineage;
    console.log(
      `\n  Lineage, the two documented chains (${chain.edges} edges): the classifier's lineage step ${(chain.classifier.writeUnits / chain.edges).toFixed(2)} WCU and ${(chain.classifier.requests / chain.edges).toFixed(2)} requests per edge; ` +
        `propagator ${chain.messages} messages (${chain.skipped} downstream nodes skipped), ${(chain.propagator.requests / chain.messages).toFixed(2)} requests, ${(chain.propagator.readUnits / chain.messages).toFixed(2)} RCU, ${(chain.propagator.writeUnits / chain.messages).toFixed(2)} WCU per message`,
    );
    console.log(
      `  Lineage, a tag change on a bucket feeding 1,000 locations: ${fan.messages.toLocaleString('en-US')} messages, at most ${fan.maxRequests} DynamoDB requests in one, ${fan.requests.toLocaleString('en-US')} requests, ${fan.readUnits.toFixed(0)} RCU, ${fan.writeUnits.toFixed(0)} WCU in all, ${fan.seconds.toFixed(1)} s against dynalite`,
    );
    trailSection(corpus.files, corpus.records);
    console.log((await modelUseCost()).join('\n'));
    console.log(startupSection().join('\n'));
    await sweepSection();
    printFunctions(measureFunctions());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
