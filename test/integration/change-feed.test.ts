/**
 * The change feed end to end: the table's changes as the local stream records them (real
 * CloudTrail records and the documented scenarios through the real classifier and propagator,
 * the real H200 sweep through the synthesized state machine), read by the deployed entry point
 * of the change-feed Lambda against a mocked EventBridge. Every finding of each of the three
 * producers becomes exactly one `Finding Recorded`; a redelivered batch adds no record; a
 * failed PutEvents entry makes the stream resume at its record.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { domainEventsOf } from '../../lambdas/change-feed/domain-events';
import { handler as deployedEntryPoint, itemChangeOf } from '../../lambdas/change-feed/handler';
import { DETAIL_TYPES } from '../../lambdas/core/events';
import { findingId, readFinding } from '../../lambdas/shared/items';
import { localPipeline } from '../../local/handlers';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { LocalTableStream } from '../../local/replay/local-stream';
import { readJson, FIXTURES } from '../helpers';
import { readInventory, readMetrics, recordedMetricReader, runSweepStateMachine } from '../../local/sweep/local-sweep';
import { scanTable } from '../../local/replay/report';
import { cliRunner, useTempDirs } from '../support';

const context = { functionName: 'change-feed', awsRequestId: 'r', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:change-feed' } as Context;
const BUS = 'ai-visibility-domain-events';
const EXCLUSIONS_TABLE = 'exclusions-none';
const eventbridge = mockClient(EventBridgeClient);

let db: LocalDynamoDb;
const savedEnv = { ...process.env };
beforeAll(async () => {
  db = await startLocalDynamoDb();
  // The deployed entry point reads exclusions from TABLE_NAME with the default client: here, an
  // empty inventory table on the local DynamoDB (nothing is excluded; the exclusions have their own test).
  await db.createInventoryTable(EXCLUSIONS_TABLE);
  Object.assign(process.env, {
    EVENT_BUS_NAME: BUS,
    TABLE_NAME: EXCLUSIONS_TABLE,
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    // Tag lookups (Tagging API, IAM) have no local server: they fail at once, and the events alone decide.
    AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_IAM: 'http://127.0.0.1:9',
    AWS_MAX_ATTEMPTS: '1',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_SERVICE_NAME: 'ai-visibility-change-feed',
    POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
});
afterAll(async () => {
  eventbridge.restore();
  await db.close();
  // The variables this file set do not reach the next test file of this worker.
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});
beforeEach(() => {
  eventbridge.reset();
  eventbridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `e-${i}` })) }));
});

/** What a stream on `table` records while `work` writes it (the records, not yet read by anyone). */
async function recorded(table: string, work: () => Promise<void>): Promise<DynamoDBRecord[]> {
  const stream = new LocalTableStream(table, (keys) => db.readImages(table, keys));
  const detach = db.onWrite(stream.wrap);
  try {
    await work();
    const records: DynamoDBRecord[] = [];
    await stream.drain(async (event) => {
      records.push(...event.Records);
      return { batchItemFailures: [] };
    });
    return records;
  } finally {
    detach();
  }
}

/** Feed records to the deployed entry point, 100 at a time as the event source mapping does; the entries it put. */
async function published(records: readonly DynamoDBRecord[]): Promise<PutEventsRequestEntry[]> {
  for (let i = 0; i < records.length; i += 100) {
    const event: DynamoDBStreamEvent = { Records: records.slice(i, i + 100) };
    expect(await deployedEntryPoint(event, context)).toEqual({ batchItemFailures: [] });
  }
  return eventbridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
}

const detailOf = (e: PutEventsRequestEntry) => JSON.parse(e.Detail ?? '{}') as { id: string; finding?: { findingId: string; producer: string; rule: string } };
const sqsEvent = (records: Array<Record<string, unknown>>): SQSEvent => ({
  Records: records.map((r, i) => ({ messageId: `m-${i}`, receiptHandle: '', body: JSON.stringify(toEnvelope(r)), attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: '', ApproximateFirstReceiveTimestamp: '0' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: '', awsRegion: 'us-east-1' })),
});

/** Every finding in the table, with the events published for it. */
async function findingsAndEvents(table: string, entries: readonly PutEventsRequestEntry[]) {
  const findings = (await scanTable(db.documents, table)).flatMap((i) => {
    const f = readFinding(i);
    return f ? [f] : [];
  });
  const recordedEvents = entries.filter((e) => e.DetailType === DETAIL_TYPES.findingRecorded);
  return { findings, recordedEvents };
}

describe('Finding Recorded, from each of the three producers, through the deployed reader', () => {
  it('the classifier (real CloudTrail records) and the lineage propagator (the documented chains): one event per finding, with its id and producer', async () => {
    const table = 'feed-pipeline';
    await db.createInventoryTable(table);
    const { handler, lineage } = localPipeline(db, table);
    const records = [
      ...readdirSync(join(FIXTURES, 'ai')).map((f) => readJson(join(FIXTURES, 'ai', f))),
      ...(readJson(join(FIXTURES, 'documented', 'records-built-from-api-docs.json')).Records as Array<Record<string, unknown>>),
    ];
    const stream = await recorded(table, async () => {
      await handler(sqsEvent(records), context);
      expect(await lineage.drain()).toEqual([]);
    });
    const { findings, recordedEvents } = await findingsAndEvents(table, await published(stream));

    const producers = new Set(findings.map((f) => f.producer));
    expect(producers).toEqual(new Set(['classifier', 'lineage-propagator']));
    expect(recordedEvents).toHaveLength(findings.length);
    expect(recordedEvents.map((e) => detailOf(e).id).sort()).toEqual(findings.map((f) => f.findingId).sort());
    for (const f of findings) {
      const [event] = recordedEvents.filter((e) => detailOf(e).id === f.findingId);
      expect(event).toMatchObject({ Source: 'ai-visibility', EventBusName: BUS, Resources: [f.resource] });
      expect(detailOf(event).finding).toMatchObject({ findingId: findingId(f), producer: f.producer, rule: f.rule });
    }
    // The real records' own findings are among them.
    expect(recordedEvents.map((e) => detailOf(e).finding?.rule)).toEqual(expect.arrayContaining(['guardrail-deleted', 'invocation-logging-disabled', 'sensitive-data-in-training']));
  });

  it('the GPU sweep (the real H200 examples, through the synthesized state machine): one event per finding, producer gpu-sweep', async () => {
    const table = 'feed-sweep';
    await db.createInventoryTable(table);
    const examples = join(__dirname, '..', 'fixtures', 'sweep');
    const inventory = readInventory(join(examples, 'h200-inventory.json'));
    const metrics = readMetrics(join(examples, 'h200-metrics.json'));
    const stream = await recorded(table, async () => {
      await runSweepStateMachine({
        pairs: ['111122223333:us-east-1'],
        window: metrics.window,
        tableName: table,
        clients: {
          dynamodb: db.client,
          publish: async () => undefined,
          forTarget: () => ({ discovery: { discover: async () => inventory.resources.map((r) => ({ ...r, foundBy: ['discovery' as const] })) }, metrics: recordedMetricReader(metrics) }),
        },
      });
    });
    const { findings, recordedEvents } = await findingsAndEvents(table, await published(stream));
    expect(findings.length).toBeGreaterThan(0);
    expect(new Set(findings.map((f) => f.producer))).toEqual(new Set(['gpu-sweep']));
    expect(recordedEvents.map((e) => detailOf(e).id).sort()).toEqual(findings.map((f) => f.findingId).sort());
    expect(new Set(recordedEvents.map((e) => detailOf(e).finding?.producer))).toEqual(new Set(['gpu-sweep']));
    // The sweep's resources enter the inventory, once each.
    expect(eventbridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).filter((e) => e.DetailType === DETAIL_TYPES.resourceInventoried)).toHaveLength(inventory.resources.length);
  });
});

describe('the stream, as DynamoDB writes it', () => {
  it('a redelivered batch writes nothing new, so it makes no record and no event', async () => {
    const table = 'feed-redelivery';
    await db.createInventoryTable(table);
    const { handler } = localPipeline(db, table);
    const batch = sqsEvent([readJson(join(FIXTURES, 'ai', readdirSync(join(FIXTURES, 'ai')).find((f) => f.includes('DeleteGuardrail'))!))]);
    const first = await recorded(table, async () => void (await handler(batch, context)));
    expect(first.map((r) => r.eventName)).toContain('INSERT');
    const again = await recorded(table, async () => void (await handler(batch, context)));
    expect(again).toEqual([]);
  });

  it('a record whose events cannot be published is reported, and the stream resumes there (what came before is not repeated)', async () => {
    const table = 'feed-failure';
    await db.createInventoryTable(table);
    const { handler } = localPipeline(db, table);
    const records = readdirSync(join(FIXTURES, 'ai')).map((f) => readJson(join(FIXTURES, 'ai', f)));
    const stream = await recorded(table, async () => void (await handler(sqsEvent(records), context)));
    expect(stream.length).toBeGreaterThan(12);
    // EventBridge keeps refusing one event (the fourth it is sent), however often it is retried.
    const events = stream.flatMap((r) => domainEventsOf(itemChangeOf(r)!));
    const refused = JSON.stringify(events[3].detail);
    eventbridge.reset();
    eventbridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      const results = input.Entries.map((e, i) => (e.Detail === refused ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: `e-${i}` }));
      return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
    });
    const response = await deployedEntryPoint({ Records: stream }, context);
    expect(response.batchItemFailures).toHaveLength(1);
    const failedAt = stream.findIndex((r) => r.dynamodb?.SequenceNumber === response.batchItemFailures[0].itemIdentifier);
    // The stream resumes at the record the refused event came from: every record before it is done.
    const eventsBefore = stream.slice(0, failedAt).flatMap((r) => domainEventsOf(itemChangeOf(r)!)).length;
    expect(eventsBefore).toBeLessThanOrEqual(3);
    expect(stream.slice(0, failedAt + 1).flatMap((r) => domainEventsOf(itemChangeOf(r)!)).map((e) => JSON.stringify(e.detail))).toContain(refused);
    // The refused entry was retried before giving up.
    expect(eventbridge.commandCalls(PutEventsCommand).filter((c) => c.args[0].input.Entries?.some((e) => e.Detail === refused)).length).toBeGreaterThan(1);
  });
});

describe('the replay --json', () => {
  const cli = cliRunner({ store: useTempDirs().dir('ai-visibility-feed-store-') });

  it('shows the domain events it produced: a Finding Recorded per finding, a Resource Inventoried per resource', async () => {
    const { stdout } = await cli('replay', '--json', '--allow-quarantine', join(FIXTURES, 'ai'), join(FIXTURES, 'documented'));
    const report = JSON.parse(stdout) as { findings: Array<{ rule: string; resource: string; eventId: string; time: string }>; inventory: Array<{ arn: string }>; events: Array<{ source: string; 'detail-type': string; detail: { id: string; finding?: { findingId: string; producer: string } } }> };
    const of = (type: string) => report.events.filter((e) => e['detail-type'] === type);
    expect(report.events.every((e) => e.source === 'ai-visibility')).toBe(true);
    expect(of('Finding Recorded').map((e) => e.detail.id).sort()).toEqual(report.findings.map((f) => findingId(f)).sort());
    expect(new Set(of('Finding Recorded').map((e) => e.detail.finding?.producer))).toEqual(new Set(['classifier', 'lineage-propagator']));
    expect(of('Resource Inventoried')).toHaveLength(report.inventory.length);
    expect(of('Resource Changed').length).toBeGreaterThan(0); // sensitivity reached resources after they were inventoried
    expect(of('Agent Identified').length).toBeGreaterThan(0);
    expect(of('Principal Watched').length).toBeGreaterThan(0);
  });
});
