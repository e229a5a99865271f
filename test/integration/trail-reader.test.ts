/**
 * The trail reader, the deployed way an agent's ledger is complete from its first action: S3
 * and SQS answer through aws-sdk-client-mock with the documented shapes (GetObject, ListObjectsV2
 * with Delimiter and StartAfter, SendMessageBatch with Successful/Failed), the classifier and the
 * change feed are the deployed handlers on a real DynamoDB API (dynalite). The agent scenario
 * across two member accounts (test/fixtures/cloudtrail/documented/agents-org-*.json, built from
 * the documented shapes) goes through it in the order that needs the look-back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client, type ListObjectsV2CommandInput } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { stampOf } from '../../lambdas/core/trail';
import { createTrailReaderHandler, type TrailReaderHandler } from '../../lambdas/trail-reader/handler';
import { TRAIL_READER_SERVICE, type TrailReaderEnvironment } from '../../lambdas/trail-reader/environment';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { readWatched } from '../../lambdas/shared/watched';
import { ENTITY } from '../../lambdas/shared/items';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { localChangeFeed, localClassifierHandler } from '../../local/handlers';
import { scanTable } from '../../local/replay/report';
import { FIXTURES } from '../helpers';

const BUCKET = 'org-trail-logs';
const ORG = 'o-exampleorg1';
const A = '111122223333';
const B = '444455556666';
const AGENT_ROLE = `arn:aws:iam::${A}:role/ops-agent-role`;
const ASSUMED = `arn:aws:iam::${B}:role/ops-automation`;
const recordsOf = (account: string) => JSON.parse(readFileSync(join(FIXTURES, 'documented', `agents-org-${account}.json`), 'utf8')).Records as Array<Record<string, unknown>>;
const keyOf = (account: string, region: string, stamp: string, unique = 'EXAMPLEUNIQUE001') =>
  `ct/AWSLogs/${ORG}/${account}/CloudTrail/${region}/${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}/${account}_CloudTrail_${region}_${stamp}_${unique}.json.gz`;
const A_FILE = keyOf(A, 'us-east-1', '20261130T1005Z');

const ENV: TrailReaderEnvironment = {
  ...houseEnvironment(TRAIL_READER_SERVICE),
  TABLE_NAME: 'trail',
  CAPTURE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/999900001111/capture',
  TRAIL_BUCKET: BUCKET,
  TRAIL_PREFIX: 'ct',
  TRAIL_ORGANIZATION_ID: ORG,
  LOOK_BACK_MINUTES: '30',
  MAX_FILE_BYTES: String(64 * 1024 * 1024),
};
const context = { functionName: 'trail-reader', awsRequestId: 'req', invokedFunctionArn: 'arn:aws:lambda:us-east-1:999900001111:function:trail-reader', getRemainingTimeInMillis: () => 300_000 } as unknown as Context;

let sequence = 0;
const sqsEvent = (bodies: readonly string[]) =>
  ({ Records: bodies.map((body) => ({ messageId: `m-${++sequence}`, receiptHandle: 'h', body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:999900001111:trail-files', awsRegion: 'us-east-1' })) }) as unknown as SQSEvent;
/** An S3 event notification (S3 User Guide, "Event message structure"): keys URL-encoded. */
const s3Notification = (key: string, bucket = BUCKET) =>
  JSON.stringify({ Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: '2026-11-30T10:05:02.000Z', eventName: 'ObjectCreated:Put', s3: { s3SchemaVersion: '1.0', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 1024 } } }] });

/** A bucket in memory, answering GetObject and ListObjectsV2 as S3 does (keys in UTF-8 binary order). */
function bucket(objects: Map<string, Buffer>) {
  const s3 = mockClient(S3Client);
  s3.on(GetObjectCommand).callsFake(({ Bucket, Key }: { Bucket: string; Key: string }) => {
    const body = Bucket === BUCKET ? objects.get(Key) : undefined;
    if (!body) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    return { ContentLength: body.length, Body: { transformToByteArray: async () => new Uint8Array(body) } };
  });
  s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    const keys = [...objects.keys()].sort().filter((k) => k.startsWith(input.Prefix ?? '') && (!input.StartAfter || k > input.StartAfter));
    if (input.Delimiter) {
      const prefixes = [...new Set(keys.map((k) => k.slice(0, k.indexOf(input.Delimiter!, (input.Prefix ?? '').length) + 1)))];
      return { IsTruncated: false, KeyCount: prefixes.length, CommonPrefixes: prefixes.map((Prefix) => ({ Prefix })) };
    }
    // One key a page, to follow the continuation tokens.
    const from = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
    const page = keys.slice(from, from + 1);
    return { IsTruncated: from + 1 < keys.length, ...(from + 1 < keys.length ? { NextContinuationToken: String(from + 1) } : {}), KeyCount: page.length, Contents: page.map((Key) => ({ Key, Size: objects.get(Key)!.length })) };
  });
  return s3;
}

/** The capture queue: what the reader sent, optionally refusing some entries the first time. */
function captureQueue(refuseFirst = new Set<string>()) {
  const sent: string[] = [];
  const sqs = mockClient(SQSClient);
  sqs.on(SendMessageBatchCommand).callsFake(({ Entries }: { Entries: SendMessageBatchRequestEntry[] }) => {
    const failed = Entries.filter((e) => refuseFirst.delete(JSON.parse(e.MessageBody!).detail.eventID as string));
    const ok = Entries.filter((e) => !failed.includes(e));
    sent.push(...ok.map((e) => e.MessageBody!));
    return { Successful: ok.map((e) => ({ Id: e.Id!, MessageId: `q-${e.Id}`, MD5OfMessageBody: 'x' })), Failed: failed.map((e) => ({ Id: e.Id!, SenderFault: false, Code: 'InternalError' })) };
  });
  return { sqs, sent, eventIds: () => sent.map((b) => JSON.parse(b).detail.eventID as string) };
}

describe('the agent scenario across two member accounts, through the trail reader', () => {
  let db: LocalDynamoDb;
  beforeAll(async () => {
    db = await startLocalDynamoDb();
  });
  afterAll(async () => {
    await db.close();
  });

  it('puts every action in the ledger, the member account’s found by the look-back', async () => {
    await db.resetInventoryTable('trail');
    const feed = localChangeFeed(db, 'trail');
    try {
      const classifier = localClassifierHandler(db, 'trail');
      // Delivered a minute or two ago: the look-back's window is in real time (Principal Watched's changedAt).
      const [aFile, bFile] = [keyOf(A, 'us-east-1', stampOf(Date.now() - 60_000)), keyOf(B, 'us-west-2', stampOf(Date.now() - 120_000))];
      const objects = new Map([
        [aFile, gzipSync(JSON.stringify({ Records: recordsOf(A) }))],
        [bFile, gzipSync(JSON.stringify({ Records: recordsOf(B) }))],
      ]);
      const queue = captureQueue();
      const reader = createTrailReaderHandler(ENV, { s3: bucket(objects) as unknown as S3Client, sqs: queue.sqs as unknown as SQSClient, watched: () => readWatched(db.documents, 'trail') });
      const classify = async (bodies: readonly string[]) => expect(await classifier(sqsEvent(bodies), context)).toEqual({ batchItemFailures: [] });

      // The member's file arrives first: nobody is watched yet, nothing is kept.
      expect(await reader(sqsEvent([s3Notification(bFile)]), context)).toEqual({ batchItemFailures: [] });
      expect(queue.sent).toEqual([]);
      // CreateAgent reaches the classifier through EventBridge in seconds (a capture rule).
      await classify([JSON.stringify(toEnvelope(recordsOf(A).find((r) => r.eventName === 'CreateAgent')!))]);
      // The hub account's file: the agent's calls around CreateAgent, the snapshot logged before it included.
      await reader(sqsEvent([s3Notification(aFile)]), context);
      expect(queue.eventIds()).toEqual(['org-0002-CreateSnapshot', 'org-0003-AssumeRole']);
      await classify(queue.sent.splice(0));
      // The assumed role is now an agent: the change feed publishes Principal Watched, its rule queues it for the reader.
      await feed.drain();
      const watched = feed.bus.events.filter((e) => e['detail-type'] === 'Principal Watched' && (e.detail as { principal: string }).principal === ASSUMED);
      expect(watched).toHaveLength(1);
      await reader(sqsEvent([JSON.stringify(watched[0])]), context);
      expect(queue.eventIds()).toEqual(['org-0004-DescribeInstances', 'org-0005-StopInstances']);
      await classify(queue.sent.splice(0));

      const actions = (await scanTable(db.documents, 'trail')).filter((i) => i.entity === ENTITY.agentAction).map((i) => [i.principal ?? String(i.pk).replace(/^AGENT#/, ''), i.eventId]);
      expect(actions.sort()).toEqual([
        [AGENT_ROLE, 'org-0002-CreateSnapshot'],
        [AGENT_ROLE, 'org-0003-AssumeRole'],
        [ASSUMED, 'org-0004-DescribeInstances'],
        [ASSUMED, 'org-0005-StopInstances'],
      ]);
    } finally {
      feed.close();
    }
  });
});

describe('the trail reader on its own', () => {
  const agent = [{ principal: AGENT_ROLE, iamArn: `arn:aws:iam::${A}:role/service-role/ops-agent-role` }];
  const objects = () => new Map([[A_FILE, gzipSync(JSON.stringify({ Records: recordsOf(A) }))]]);
  const make = (queue: ReturnType<typeof captureQueue>, s3 = bucket(objects())): TrailReaderHandler =>
    createTrailReaderHandler(ENV, { s3: s3 as unknown as S3Client, sqs: queue.sqs as unknown as SQSClient, watched: async () => agent, now: () => Date.parse('2026-11-30T10:06:00Z') });

  it('sends the envelope a capture rule would deliver, and reads CloudTrail’s own SNS notification, raw or wrapped', async () => {
    const queue = captureQueue();
    const reader = make(queue);
    await reader(sqsEvent([JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: [A_FILE] })]), context);
    await reader(sqsEvent([JSON.stringify({ Type: 'Notification', MessageId: 'n-1', TopicArn: 'arn:aws:sns:us-east-1:999900001111:trail', Message: JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: [A_FILE] }) })]), context);
    expect(queue.eventIds()).toEqual(['org-0002-CreateSnapshot', 'org-0003-AssumeRole', 'org-0002-CreateSnapshot', 'org-0003-AssumeRole']);
    const snapshot = recordsOf(A).find((r) => r.eventID === 'org-0002-CreateSnapshot')!;
    expect(JSON.parse(queue.sent[0])).toEqual(toEnvelope(snapshot));
    expect(JSON.parse(queue.sent[0])).toMatchObject({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2', account: A, region: 'us-east-1' });
  });

  it('refuses, without retrying, what it must not or cannot read; ignores digest files and S3’s test event', async () => {
    const queue = captureQueue();
    const reader = make(queue);
    const digest = `ct/AWSLogs/${ORG}/${A}/CloudTrail-Digest/us-east-1/2026/11/30/${A}_CloudTrail-Digest_us-east-1_trail_us-east-1_20261130T1005Z.json.gz`;
    const bodies = [
      s3Notification(A_FILE, 'someone-elses-bucket'),
      s3Notification(keyOf(A, 'us-east-1', '20261130T1010Z', 'GONEGONEGONE0001')),
      s3Notification(digest),
      JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-11-30T10:00:00.000Z', Bucket: BUCKET }),
      'not json',
      JSON.stringify({ source: 'ai-visibility', 'detail-type': 'Principal Watched', detail: { principal: AGENT_ROLE, reason: 'candidate', changedAt: '2026-11-30T10:00:01Z' } }),
    ];
    expect(await reader(sqsEvent(bodies), context)).toEqual({ batchItemFailures: [] });
    expect(queue.sent).toEqual([]);
  });

  it('fails only the message whose file it could not read, and sends again what the queue refused once', async () => {
    const s3 = bucket(objects());
    s3.on(GetObjectCommand, { Key: keyOf(A, 'us-east-1', '20261130T1010Z', 'DENIEDDENIED0001') }).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    const queue = captureQueue(new Set(['org-0003-AssumeRole']));
    const reader = make(queue, s3);
    const event = sqsEvent([s3Notification(keyOf(A, 'us-east-1', '20261130T1010Z', 'DENIEDDENIED0001')), s3Notification(A_FILE)]);
    expect(await reader(event, context)).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] });
    expect(queue.eventIds()).toEqual(['org-0002-CreateSnapshot', 'org-0003-AssumeRole']);
  });

  it('looks back only over the window, in every region the account has files in, following continuation tokens', async () => {
    const store = objects();
    const b = (region: string, stamp: string, unique: string) => keyOf(A, region, stamp, unique);
    store.set(b('eu-west-1', '20261130T0925Z', 'TOOEARLY00000001'), gzipSync(JSON.stringify({ Records: recordsOf(A) })));
    store.set(b('eu-west-1', '20261130T0940Z', 'INWINDOW00000001'), gzipSync(JSON.stringify({ Records: recordsOf(A).map((r) => ({ ...r, eventID: `eu-${r.eventID as string}`, awsRegion: 'eu-west-1' })) })));
    const s3 = bucket(store);
    const queue = captureQueue();
    const reader = make(queue, s3);
    await reader(sqsEvent([JSON.stringify({ source: 'ai-visibility', 'detail-type': 'Principal Watched', detail: { principal: AGENT_ROLE, iamArn: agent[0].iamArn, reason: 'agent', changedAt: '2026-11-30T10:00:05Z' } })]), context);
    expect(queue.eventIds().sort()).toEqual(['eu-org-0002-CreateSnapshot', 'eu-org-0003-AssumeRole', 'org-0002-CreateSnapshot', 'org-0003-AssumeRole']);
    const listings = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(listings[0]).toMatchObject({ Prefix: `ct/AWSLogs/${ORG}/${A}/CloudTrail/`, Delimiter: '/' });
    expect(listings.find((l) => l.Prefix === `ct/AWSLogs/${ORG}/${A}/CloudTrail/eu-west-1/2026/11/30/`)).toMatchObject({ StartAfter: `ct/AWSLogs/${ORG}/${A}/CloudTrail/eu-west-1/2026/11/30/${A}_CloudTrail_eu-west-1_20261130T0930Z` });
  });
});
