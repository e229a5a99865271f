/**
 * The history import from the CloudTrail archive: the backfill worker on log objects served by an
 * in-memory bucket (aws-sdk-client-mock answering GetObject with the documented shapes, NoSuchKey
 * for a missing key) and SQS capturing what it sends; the synthesized Distributed Map run locally
 * (local/backfill/distributed-map.ts: aws-local-stepfunctions runs no Distributed Map, so the
 * emulation reads the synthesized ItemReader, ItemBatcher, concurrency and tolerated failures and
 * runs the synthesized ItemProcessor per batch); and the classifier on dynalite showing that a
 * backfill overlapping live capture, or run twice, changes nothing. Records:
 * fixtures/cloudtrail/documented/agents-org-111122223333.json (built from the documented shapes).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { createBackfillHandler, type BackfillResult } from '../../lambdas/trail-reader/backfill-handler';
import { TRAIL_READER_SERVICE, type TrailReaderEnvironment } from '../../lambdas/trail-reader/environment';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { ENTITY } from '../../lambdas/shared/items';
import { AiInventoryTable } from '../../lib/constructs/inventory-table';
import { HistoryImport } from '../../lib/constructs/history-import';
import { DEFAULT_CONFIG } from '../../lib/config';
import { distributedMapOf, MapRunFailed, runDistributedMap } from '../../local/backfill/distributed-map';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { classifyInto } from '../support/pipeline';
import { FIXTURES } from '../helpers';
import { useTempDirs } from '../support';

const temp = useTempDirs();
const BUCKET = 'org-trail-logs';
const ORG = 'o-exampleorg1';
const A = '111122223333';
const AGENT_ROLE = `arn:aws:iam::${A}:role/ops-agent-role`;
const RECORDS = JSON.parse(readFileSync(join(FIXTURES, 'documented', `agents-org-${A}.json`), 'utf8')).Records as Array<Record<string, unknown>>;
const FILE = gzipSync(JSON.stringify({ Records: RECORDS }));
const keyOf = (day: string, unique: string, kind = 'CloudTrail') =>
  `ct/AWSLogs/${ORG}/${A}/${kind}/us-east-1/${day.replace(/-/g, '/')}/${A}_${kind}_us-east-1_${day.replace(/-/g, '')}T1005Z_${unique}.json.gz`;

const ENV: TrailReaderEnvironment = {
  ...houseEnvironment(TRAIL_READER_SERVICE),
  TABLE_NAME: 'history',
  CAPTURE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/999900001111/capture',
  TRAIL_BUCKET: BUCKET,
  TRAIL_PREFIX: 'ct',
  TRAIL_ORGANIZATION_ID: ORG,
  LOOK_BACK_MINUTES: '30',
  MAX_FILE_BYTES: String(64 * 1024 * 1024),
};
const context = { functionName: 'backfill', awsRequestId: 'req', invokedFunctionArn: 'arn:aws:lambda:us-east-1:999900001111:function:backfill', getRemainingTimeInMillis: () => 300_000 } as unknown as Context;

/** An in-memory bucket answering GetObject as S3 does, and a queue keeping what is sent. */
function archive(objects: Map<string, Buffer>) {
  const s3 = mockClient(S3Client);
  s3.on(GetObjectCommand).callsFake(async (input: { Bucket: string; Key: string }) => {
    const body = input.Bucket === BUCKET ? objects.get(input.Key) : undefined;
    if (!body) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    return { ContentLength: body.length, Body: { transformToByteArray: async () => new Uint8Array(body) } };
  });
  const sent: string[] = [];
  const queue = mockClient(SQSClient);
  queue.on(SendMessageBatchCommand).callsFake(async (input: { Entries: SendMessageBatchRequestEntry[] }) => {
    for (const e of input.Entries) sent.push(e.MessageBody!);
    return { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })), Failed: [] };
  });
  return { s3, queue, sent, restore: () => (s3.restore(), queue.restore()) };
}

// Powertools reads the switch from the process environment.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const worker = (watched: Array<{ principal: string; iamArn?: string }> = []) => createBackfillHandler(ENV, { s3: new S3Client({}), sqs: new SQSClient({}), watched: async () => watched, logLevel: 'SILENT' });

/** The synthesized history import's state machine definition (its Lambda ARN a placeholder). */
function synthesizedDefinition(): Record<string, unknown> {
  const app = new App({ outdir: temp.dir(), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'History', { env: { account: '999900001111', region: 'us-east-1' } });
  const encryptionKey = new kms.Key(stack, 'Key');
  new HistoryImport(stack, 'HistoryImport', {
    inventory: new AiInventoryTable(stack, 'Inventory'),
    encryptionKey,
    captureQueue: new sqs.Queue(stack, 'Capture'),
    trail: { ...DEFAULT_CONFIG.agentTrail, bucketName: BUCKET, keyPrefix: 'ct' },
    organizationId: ORG,
    logRetentionDays: 1,
  });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const machine = Object.values(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
  const definition = machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
  const token = (p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p) === '{"Ref":"AWS::Partition"}' ? 'aws' : 'arn:aws:lambda:us-east-1:999900001111:function:backfill');
  return JSON.parse(definition['Fn::Join'][1].map(token).join(''));
}

describe('the backfill worker', () => {
  it('reads the log files delivered in the range, sends what the capture rules match, and counts what it skipped and why', async () => {
    const objects = new Map([[keyOf('2026-11-30', 'A'), FILE], [keyOf('2026-10-01', 'OLD'), FILE], [keyOf('2026-11-30', 'D', 'CloudTrail-Digest'), FILE]]);
    const bucket = archive(objects);
    try {
      const items = [...objects.keys(), keyOf('2026-11-30', 'GONE')].map((Key) => ({ Key, Size: 1 }));
      const result = await worker()({ Items: items, BatchInput: { from: '2026-11-30', to: '2026-11-30', runId: 'r1' } }, context);
      expect(result).toMatchObject({ objects: 1, skipped: 3, records: 3, matched: 1, bytes: FILE.length });
      expect(result.notes.map((n) => n.reason).sort()).toEqual(['delivered outside the range', 'no such key', 'not named like a CloudTrail log file']);
      // Only the Bedrock call: the capture rules take no EC2 snapshot nor STS call of a principal nobody watches.
      expect(bucket.sent.map((b) => JSON.parse(b).detail.eventID)).toEqual(['org-0001-CreateAgent']);
      expect(JSON.parse(bucket.sent[0])).toEqual(toEnvelope(RECORDS.find((r) => r.eventID === 'org-0001-CreateAgent')!));

      // A watched principal's every call is taken too, as the live reader takes it.
      bucket.sent.length = 0;
      const watched = await worker([{ principal: AGENT_ROLE, iamArn: `arn:aws:iam::${A}:role/service-role/ops-agent-role` }])({ Items: items, BatchInput: { from: '2026-11-30', to: '2026-11-30' } }, context);
      expect(watched.matched).toBe(3);
      expect(bucket.sent.map((b) => JSON.parse(b).detail.eventID).sort()).toEqual(['org-0001-CreateAgent', 'org-0002-CreateSnapshot', 'org-0003-AssumeRole']);
    } finally {
      bucket.restore();
    }
  });

  it('refuses a range that is not one', async () => {
    await expect(worker()({ Items: [], BatchInput: { from: '2026-12-01', to: '2026-11-01' } }, context)).rejects.toThrow('not a date range: 2026-12-01 to 2026-11-01');
    await expect(worker()({ Items: [], BatchInput: { from: 'yesterday', to: '2026-11-01' } }, context)).rejects.toThrow('from and to must be days (YYYY-MM-DD)');
  });
});

describe('the history import state machine, run locally through its synthesized definition', () => {
  const definition = synthesizedDefinition();
  let db: LocalDynamoDb;
  beforeAll(async () => {
    db = await startLocalDynamoDb();
  });
  afterAll(async () => db.close());

  it('is a Distributed Map over ListObjectsV2 of the prefix given at run time, 100 objects a batch, 10 at once, 5% of batches tolerated', () => {
    const { state } = distributedMapOf(definition);
    expect(state.ItemReader).toEqual({ Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: BUCKET, 'Prefix.$': '$.prefix' } });
    expect(state.ItemBatcher).toEqual({ MaxItemsPerBatch: 100, BatchInput: { 'from.$': '$.from', 'to.$': '$.to', 'runId.$': '$$.Execution.Name' } });
    expect(state).toMatchObject({ MaxConcurrency: 10, ToleratedFailurePercentage: 5, ResultPath: null, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' } } });
  });

  it('imports an archive: every batch through the worker, and, with live capture overlapping and a second run, the inventory is what one delivery makes', async () => {
    // 120 deliveries of the same calls (two batches), a digest, and a file of another month.
    const objects = new Map<string, Buffer>(Array.from({ length: 120 }, (_, i) => [keyOf('2026-11-30', `U${String(i).padStart(3, '0')}`), FILE] as [string, Buffer]));
    objects.set(keyOf('2026-11-30', 'D', 'CloudTrail-Digest'), FILE);
    objects.set(keyOf('2026-09-01', 'OLD'), FILE);
    const bucket = archive(objects);
    try {
      const backfill = worker();
      const run = () =>
        runDistributedMap({
          definition,
          input: { prefix: 'ct/AWSLogs/', from: '2026-11-30', to: '2026-11-30' },
          executionName: 'backfill-1',
          listObjects: async () => [...objects.entries()].map(([Key, body]) => ({ Key, Size: body.length })),
          handlers: { ReadLogObjects: (input) => backfill(input as never, context) },
        });
      const first = await run();
      expect(first).toMatchObject({ items: 122, batches: 2, failedBatches: 0 });
      const totals = (first.results as BackfillResult[]).reduce((t, r) => ({ objects: t.objects + r.objects, matched: t.matched + r.matched, skipped: t.skipped + r.skipped }), { objects: 0, matched: 0, skipped: 0 });
      expect(totals).toEqual({ objects: 120, matched: 120, skipped: 2 });

      // Live capture delivered the call once; the backfill sends it 120 times, then a second run 120 more.
      const once = await classified(db, 'history-once', [JSON.stringify(toEnvelope(RECORDS[1]))]);
      await run();
      expect(bucket.sent).toHaveLength(240);
      const overlapping = await classified(db, 'history-overlap', [JSON.stringify(toEnvelope(RECORDS[1])), ...bucket.sent]);
      expect(overlapping).toEqual(once);
      expect(once.some((i) => i.entity === ENTITY.resource)).toBe(true);
    } finally {
      bucket.restore();
    }
  });

  it('fails the run when more batches fail than it tolerates, as a Map Run does', async () => {
    const objects = new Map<string, Buffer>(Array.from({ length: 150 }, (_, i) => [keyOf('2026-11-30', `F${i}`), FILE] as [string, Buffer]));
    const attempts = new Map<string, number>();
    // The batch holding F0 fails every attempt; the other fails once, and its retry succeeds.
    const flaky = async (input: unknown) => {
      const first = (input as { Items: Array<{ Key: string }> }).Items[0].Key;
      attempts.set(first, (attempts.get(first) ?? 0) + 1);
      if ((input as { Items: Array<{ Key: string }> }).Items.some((i) => i.Key.includes('_F0.json')) || attempts.get(first) === 1) throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError' });
      return { objects: 50, skipped: 0, records: 0, matched: 0, bytes: 0, notes: [] };
    };
    const run = runDistributedMap({ definition, input: { prefix: 'ct/', from: '2026-11-30', to: '2026-11-30' }, executionName: 'x', listObjects: async () => [...objects.keys()].map((Key) => ({ Key, Size: 1 })), handlers: { ReadLogObjects: flaky } });
    const failure = await run.then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(MapRunFailed);
    expect((failure as MapRunFailed).run).toMatchObject({ batches: 2, failedBatches: 1 });
    // Each batch was retried by the synthesized Retry (three retries on any error).
    expect([...attempts.values()].sort()).toEqual([2, 4]);
  });
});

/** The table's items after the classifier took `bodies` (SQS messages) into a fresh table, without revisions. */
async function classified(db: LocalDynamoDb, table: string, bodies: readonly string[]) {
  return (await classifyInto(db, table, bodies)).map(({ rev: _rev, ...rest }) => rest).sort((a, b) => `${String(a.pk)}${String(a.sk)}`.localeCompare(`${String(b.pk)}${String(b.sk)}`));
}
