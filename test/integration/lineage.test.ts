/**
 * Lineage end to end, on a real DynamoDB API (dynalite): the classifier Lambda's handler records
 * edges and queues work, the lineage propagator Lambda's handler drains it (through the replay's
 * in-memory FIFO queue), and the tests read the table the way the `lineage` command does.
 *
 * Records come from fixtures/cloudtrail/documented, built from the API references' request and
 * response shapes (no public CloudTrail record of these calls exists; SOURCES.md), except the
 * SageMaker developer guide's real CreateEndpoint. Records changed here say "built from the
 * documented shape". AWS APIs with no local server (S3 GetBucketTagging, SQS) are mocked with
 * aws-sdk-client-mock, answering as the API references document.
 */
import { join } from 'node:path';
import { GetBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { createPropagatorHandler, s3TagLookup } from '../../lambdas/lineage-propagator/handler';
import { sqsLineageQueue } from '../../lambdas/shared/lineage-queue';
import { createPropagator } from '../../lambdas/lineage-propagator/propagate';
import { DEFAULT_CLASSIFICATION_ENVIRONMENT } from '../../lambdas/lineage-propagator/environment';
import { createInventoryStore, type InventoryStore } from '../../lambdas/shared/inventory-store';
import { DEFAULT_CLASSIFICATION, type LineageMessage } from '../../lambdas/core/lineage';
import { ENTITY, keys } from '../../lambdas/shared/items';
import { toEnvelope } from '../../local/replay/event-bus';
import { LocalLineageQueue } from '../../local/replay/lineage-queue';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { localPipeline } from '../../local/handlers';
import { scanTable, type ReplayReport } from '../../local/replay/report';
import { documentedRecord, FIXTURES, readJson } from '../helpers';
import { cliRunner, useTempDirs } from '../support';

const BUCKET = 'arn:aws:s3:::fraud-training-data';
const LOCATION = 'arn:aws:s3:::fraud-training-data/2025';
const JOB = 'arn:aws:sagemaker:us-east-1:111122223333:training-job/fraud-model-2025-06-01';
const ARTIFACT = 'arn:aws:s3:::fraud-model-artifacts/output/fraud-model-2025-06-01/output/model.tar.gz';
const MODEL = 'arn:aws:sagemaker:us-east-1:111122223333:model/fraud-model';
const CONFIG = 'arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/fraud-model-config';
const ENDPOINT = 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model';
const CHAIN = [BUCKET, LOCATION, JOB, ARTIFACT, MODEL, CONFIG, ENDPOINT];

const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
let sequence = 0;

/** The propagator Lambda's environment, and its SQS messages. */
const env = { TABLE_NAME: 'handler', LINEAGE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/lineage.fifo', POWERTOOLS_SERVICE_NAME: 'p', POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility', ...DEFAULT_CLASSIFICATION_ENVIRONMENT };
const message = (node: string, n: number) => ({ messageId: `lm-${n}`, body: JSON.stringify({ type: 'recompute', node, cause: { eventId: `e${n}`, time: '2025-07-01T00:00:00.000Z', account: '111122223333', region: 'us-east-1' } }) });
const batch = (records: Array<{ messageId: string; body: string }>) => ({ Records: records.map((r) => ({ ...r, attributes: {}, messageAttributes: {} })) }) as unknown as SQSEvent;

/** A CloudTrail record as the capture queue delivers it, or an EventBridge event as is. */
function sqsEvent(records: ReadonlyArray<Record<string, unknown>>): SQSEvent {
  return {
    Records: records.map((r) => ({
      messageId: `m-${++sequence}`,
      receiptHandle: 'h',
      body: JSON.stringify('detail-type' in r ? r : toEnvelope(r)),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1751356800000' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:capture',
      awsRegion: 'us-east-1',
    })),
  } as unknown as SQSEvent;
}

/** The local classifier and propagator on their own table. */
async function pipeline(db: LocalDynamoDb, table: string) {
  await db.createInventoryTable(table);
  const { handler, lineage } = localPipeline(db, table);
  return {
    async deliver(...records: Array<Record<string, unknown>>) {
      expect(await handler(sqsEvent(records), context)).toEqual({ batchItemFailures: [] });
      expect(await lineage.drain()).toEqual([]);
    },
    queue: lineage.queue,
    node: async (node: string) => (await db.documents.send(new (await import('@aws-sdk/lib-dynamodb')).GetCommand({ TableName: table, Key: keys.lineageNode(node) }))).Item,
    resource: async (arn: string) => (await db.documents.send(new (await import('@aws-sdk/lib-dynamodb')).GetCommand({ TableName: table, Key: keys.resource(arn) }))).Item,
    findings: async () =>
      (await scanTable(db.documents, table))
        .filter((i) => i.entity === ENTITY.finding && typeof i.rule === 'string' && /^(sensitive|prompts)/.test(i.rule as string))
        .map((i) => [i.rule, i.resource, i.eventId] as [string, string, string])
        .sort(),
    /** Every node's computed state, without its revision and cause (which record how it got there). */
    states: async () =>
      (await scanTable(db.documents, table))
        .filter((i) => i.entity === ENTITY.lineageNode)
        .map((i) => [i.node, i.sensitivity, i.sensitivityFrom, i.raised])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  };
}

const tag = (value: string | null, id: string, time: string, bucketName = 'fraud-training-data') => {
  const base = documentedRecord('PutBucketTagging');
  if (value === null) return { ...base, eventName: 'DeleteBucketTagging', eventID: id, eventTime: time, requestParameters: { bucketName, tagging: '' } };
  const record = structuredClone(base) as { requestParameters: { bucketName: string; Tagging: { TagSet: { Tag: Array<{ Key: string; Value: string }> } } } } & Record<string, unknown>;
  record.requestParameters.bucketName = bucketName;
  record.requestParameters.Tagging.TagSet.Tag = [{ Key: 'data-classification', Value: value }];
  return { ...record, eventID: id, eventTime: time };
};

const chainRecords = () => ['CreateTrainingJob', 'CreateModel', 'CreateEndpointConfig', 'CreateEndpoint'].map((name) => documentedRecord(name));

let db: LocalDynamoDb;
beforeAll(async () => {
  db = await startLocalDynamoDb();
});
afterAll(async () => {
  await db.close();
});

describe('a multi-hop SageMaker chain: bucket -> training job -> artifact -> model -> endpoint config -> endpoint', () => {
  it('carries the bucket classification to the endpoint, with the path, onto the inventory items, and raises the findings', async () => {
    const p = await pipeline(db, 'chain');
    await p.deliver(...chainRecords());
    // Nothing is classified yet: the bucket's tag arrives after the fact (2025-06-05, the chain ran 06-01).
    expect((await p.node(ENDPOINT))?.sensitivity ?? null).toBeNull();
    await p.deliver(documentedRecord('PutBucketTagging'));
    const endpoint = await p.node(ENDPOINT);
    expect(endpoint).toMatchObject({ kind: 'inference-endpoint', sensitivity: 'confidential', sensitivityFrom: { arn: BUCKET, tag: 'data-classification=confidential', path: CHAIN } });
    for (const [i, node] of CHAIN.entries()) expect((await p.node(node))?.sensitivityFrom?.path).toEqual(CHAIN.slice(0, i + 1));
    expect(await p.resource(ENDPOINT)).toMatchObject({ entity: 'resource', kind: 'inference-endpoint', sensitivity: 'confidential', sensitivityFrom: { arn: BUCKET, path: CHAIN } });
    expect(await p.resource(JOB)).toMatchObject({ sensitivity: 'confidential' });
    // The S3 location and the artifact are lineage nodes, not inventory resources: no stub items.
    expect(await p.resource(LOCATION)).toBeUndefined();
    expect(await p.findings()).toEqual([
      ['sensitive-data-in-training', JOB, 'doc-0023-PutBucketTagging'],
      ['sensitive-model-exposed', ENDPOINT, 'doc-0023-PutBucketTagging'],
    ]);
  });

  it('ends in the same state whatever order the events arrive in, one per batch or all in one', async () => {
    const records = [...chainRecords(), documentedRecord('PutBucketTagging')];
    const orders = [records, [...records].reverse(), [records[4], records[2], records[0], records[3], records[1]], [records[3], records[4], records[1], records[0], records[2]]];
    const results: unknown[] = [];
    for (const [i, order] of orders.entries()) {
      const p = await pipeline(db, `order-${i}`);
      for (const r of order) await p.deliver(r);
      results.push(await p.states());
    }
    const all = await pipeline(db, 'order-batch');
    await all.deliver(...records);
    results.push(await all.states());
    for (const r of results.slice(1)) expect(r).toEqual(results[0]);
    expect((results[0] as unknown[][]).find((s) => s[0] === ENDPOINT)?.[1]).toBe('confidential');
  });

  it('re-propagates a later tag change: up raises again, removal clears, a relapse raises again', async () => {
    const p = await pipeline(db, 'retag');
    await p.deliver(...chainRecords(), tag('confidential', 'tag-1', '2025-06-05T11:30:00Z'));
    await p.deliver(tag('restricted', 'tag-2', '2025-06-07T08:00:00Z'));
    for (const node of CHAIN) expect((await p.node(node))?.sensitivity).toBe('restricted');
    expect(await p.resource(ENDPOINT)).toMatchObject({ sensitivity: 'restricted' });
    await p.deliver(tag(null, 'tag-3', '2025-06-08T08:00:00Z'));
    for (const node of CHAIN) expect((await p.node(node))?.sensitivity ?? null).toBeNull();
    expect(await p.resource(ENDPOINT)).toMatchObject({ sensitivity: null, sensitivityFrom: null });
    // An older tag event arriving late does not overwrite the newer removal.
    await p.deliver(tag('restricted', 'tag-0-late', '2025-06-06T08:00:00Z'));
    expect((await p.node(ENDPOINT))?.sensitivity ?? null).toBeNull();
    await p.deliver(tag('confidential', 'tag-4', '2025-06-09T08:00:00Z'));
    expect((await p.node(ENDPOINT))?.sensitivity).toBe('confidential');
    expect(await p.findings()).toEqual([
      ['sensitive-data-in-training', JOB, 'tag-1'],
      ['sensitive-data-in-training', JOB, 'tag-2'],
      ['sensitive-data-in-training', JOB, 'tag-4'],
      ['sensitive-model-exposed', ENDPOINT, 'tag-1'],
      ['sensitive-model-exposed', ENDPOINT, 'tag-2'],
      ['sensitive-model-exposed', ENDPOINT, 'tag-4'],
    ]);
  });

  it('a redelivered batch changes nothing and raises nothing again', async () => {
    const p = await pipeline(db, 'redelivery');
    const records = [...chainRecords(), documentedRecord('PutBucketTagging')];
    await p.deliver(...records);
    const before = [await p.states(), await p.findings()];
    await p.deliver(...records);
    expect([await p.states(), await p.findings()]).toEqual(before);
  });
});

describe('a Bedrock customization chain (lineage-bedrock.json and the job state change event)', () => {
  const CUSTOM = 'arn:aws:bedrock:us-east-1:111122223333:custom-model/amazon.titan-text-express-v1:0:8k/s5t6u7v8w9x0';
  const PT = 'arn:aws:bedrock:us-east-1:111122223333:provisioned-model/q1w2e3r4t5y6';
  const AGENT = 'arn:aws:bedrock:us-east-1:111122223333:agent/AGENTSUPP01';
  const KB = 'arn:aws:bedrock:us-east-1:111122223333:knowledge-base/KBHRPOL001';
  const LOGS = 'arn:aws:s3:::bedrock-invocation-logs-111122223333';
  const records = readJson(join(FIXTURES, 'documented', 'lineage-bedrock.json')).Records as Array<Record<string, unknown>>;
  const stateChange = readJson(join(FIXTURES, 'documented', 'lineage-bedrock-job-state-change.json'));
  // Built from the documented shape: logging with text delivery on, to the bucket tagged internal.
  const logging = { ...documentedRecord('PutModelInvocationLoggingConfiguration'), eventID: 'logging-on', eventTime: '2025-07-01T17:00:00Z', requestParameters: { loggingConfig: { s3Config: { bucketName: 'bedrock-invocation-logs-111122223333' }, textDataDeliveryEnabled: true } } };

  it('carries restricted training data through the custom model to the throughput and the agent; the knowledge base gets its source', async () => {
    const p = await pipeline(db, 'bedrock');
    await p.deliver(...records.slice(0, 4));
    await p.deliver(stateChange);
    await p.deliver(...records.slice(4), logging);
    expect(await p.node(CUSTOM)).toMatchObject({ kind: 'custom-model', sensitivity: 'restricted', sensitivityFrom: { arn: 'arn:aws:s3:::support-transcripts', path: ['arn:aws:s3:::support-transcripts', 'arn:aws:s3:::support-transcripts/train/2025-06.jsonl', expect.stringContaining('model-customization-job/'), CUSTOM] } });
    expect(await p.resource(PT)).toMatchObject({ kind: 'provisioned-throughput', sensitivity: 'restricted' });
    // The agent gets restricted through its model and confidential through its knowledge base: the higher wins.
    expect(await p.node(AGENT)).toMatchObject({ sensitivity: 'restricted', sensitivityFrom: { path: expect.arrayContaining([CUSTOM, PT, AGENT]) } });
    expect(await p.node(KB)).toMatchObject({ sensitivity: 'confidential', sensitivityFrom: { arn: 'arn:aws:s3:::hr-policy-docs', tag: 'data-classification=Confidential' } });
    // Prompts of restricted models land in a bucket classified internal.
    expect(await p.node(LOGS)).toMatchObject({ own: { level: 'internal' }, sensitivity: 'restricted' });
    expect((await p.findings()).map(([rule, resource]) => [rule, resource])).toEqual([
      ['prompts-logged-to-weaker-store', LOGS],
      ['sensitive-data-in-knowledge-base', KB],
      ['sensitive-data-in-training', expect.stringContaining('model-customization-job/')],
      ['sensitive-model-exposed', AGENT],
      ['sensitive-model-exposed', PT],
    ]);
    // The log bucket is reclassified restricted (its effective sensitivity stays restricted):
    // the store is no longer weaker. Back to internal, it is weaker again: raised again.
    const retag = (value: string, id: string, time: string) => {
      const r = structuredClone(records[1]) as { requestParameters: { Tagging: { TagSet: { Tag: Array<{ Key: string; Value: string }> } } } } & Record<string, unknown>;
      r.requestParameters.Tagging.TagSet.Tag = [{ Key: 'data-classification', Value: value }];
      return { ...r, eventID: id, eventTime: time };
    };
    await p.deliver(retag('restricted', 'logs-up', '2025-07-02T00:00:00Z'));
    expect(await p.node(LOGS)).toMatchObject({ own: { level: 'restricted' }, sensitivity: 'restricted', raised: {} });
    await p.deliver(retag('internal', 'logs-down', '2025-07-03T00:00:00Z'));
    expect((await p.findings()).filter(([rule]) => rule === 'prompts-logged-to-weaker-store').map(([, , id]) => id)).toEqual(['logging-on', 'logs-down']);
  });
});

describe('a classification tag on a resource other than a bucket (a knowledge base over non-S3 data)', () => {
  const AGENT = 'arn:aws:bedrock:us-east-1:111122223333:agent/AGENTSUPP01';
  const KB = 'arn:aws:bedrock:us-east-1:111122223333:knowledge-base/KBHRPOL001';
  const records = readJson(join(FIXTURES, 'documented', 'lineage-bedrock.json')).Records as Array<Record<string, unknown>>;
  const named = (name: string) => structuredClone(records.find((r) => r.eventName === name)!);
  // Bedrock (bedrock-agent) TagResource/UntagResource, built from the API reference's request shape.
  const kbTag = (value: string | null, id: string, time: string) => ({
    ...named('AssociateAgentKnowledgeBase'),
    eventName: value === null ? 'UntagResource' : 'TagResource',
    eventID: id,
    eventTime: time,
    requestParameters: value === null ? { resourceArn: KB, tagKeys: ['data-classification'] } : { resourceArn: KB, tags: { 'data-classification': value } },
    responseElements: null,
  });
  const graph = () => [named('CreateAgent'), named('CreateKnowledgeBase'), named('AssociateAgentKnowledgeBase')];

  it('classifies the knowledge base by its own tag, carries it to the agent, raises the finding, and clears on removal', async () => {
    const p = await pipeline(db, 'kb-tag');
    await p.deliver(...graph());
    expect((await p.node(KB))?.sensitivity ?? null).toBeNull();
    await p.deliver(kbTag('restricted', 'kb-up', '2025-07-02T00:00:00Z'));
    expect(await p.node(KB)).toMatchObject({ own: { level: 'restricted', tag: 'data-classification=restricted', source: 'event', eventId: 'kb-up' }, sensitivity: 'restricted', sensitivityFrom: { arn: KB, path: [KB] } });
    expect(await p.node(AGENT)).toMatchObject({ sensitivity: 'restricted', sensitivityFrom: { arn: KB, tag: 'data-classification=restricted', path: [KB, AGENT] } });
    expect(await p.resource(KB)).toMatchObject({ sensitivity: 'restricted' });
    expect(await p.resource(AGENT)).toMatchObject({ sensitivity: 'restricted' });
    expect(await p.findings()).toEqual([['sensitive-data-in-knowledge-base', KB, 'kb-up']]);
    const finding = (await scanTable(db.documents, 'kb-tag')).find((i) => i.entity === ENTITY.finding && i.rule === 'sensitive-data-in-knowledge-base');
    expect(finding?.summary).toBe(`Knowledge base ${KB} holds restricted data (its own tag data-classification=restricted): it answers with it.`);
    await p.deliver(kbTag(null, 'kb-off', '2025-07-03T00:00:00Z'));
    expect(await p.node(KB)).toMatchObject({ own: null, sensitivity: null });
    expect(await p.node(AGENT)).toMatchObject({ sensitivity: null });
  });

  it('ends in the same state whatever order the tag calls arrive in: the newest call decides', async () => {
    const p = await pipeline(db, 'kb-tag-order');
    await p.deliver(kbTag(null, 'kb-off', '2025-07-03T00:00:00Z'));
    await p.deliver(kbTag('restricted', 'kb-up', '2025-07-02T00:00:00Z'));
    await p.deliver(...graph());
    expect(await p.node(KB)).toMatchObject({ own: null, sensitivity: null });
    expect(await p.node(AGENT)).toMatchObject({ sensitivity: null });
    expect(await p.findings()).toEqual([]);
    // Tagged again after the removal, the calls delivered newest first: tagged.
    const q = await pipeline(db, 'kb-tag-order-2');
    await q.deliver(...graph());
    await q.deliver(kbTag('confidential', 'kb-again', '2025-07-04T00:00:00Z'));
    await q.deliver(kbTag(null, 'kb-off', '2025-07-03T00:00:00Z'));
    expect(await q.node(AGENT)).toMatchObject({ sensitivity: 'confidential', sensitivityFrom: { arn: KB, path: [KB, AGENT] } });
  });

  it('deployed, looks up the tags of what was tagged before the deploy (cached), and a later removal event wins over the lookup', async () => {
    await db.createInventoryTable('kb-lookup');
    const asked: string[][] = [];
    const tagLookup = {
      async resourceTags(region: string, arns: readonly string[]) {
        asked.push([region, ...arns]);
        return new Map(arns.filter((a) => a === KB).map((a) => [a, { 'data-classification': 'Confidential', team: 'hr' }]));
      },
    };
    let now = Date.parse('2025-07-02T00:00:00Z');
    const queue = new LocalLineageQueue();
    const handler = createPropagatorHandler({ ...env, TABLE_NAME: 'kb-lookup', RESOURCE_TAG_LOOKUPS: 'true' }, { dynamodb: db.client, queue, lookupTags: null, tagLookup, logLevel: 'SILENT', now: () => now });
    const store = createInventoryStore(db.documents, 'kb-lookup');
    const node = async (n: string) => (await store.getItems([keys.lineageNode(n)])).values().next().value;
    expect((await handler(batch([message(KB, 40), message(AGENT, 41)]), context)).batchItemFailures).toEqual([]);
    expect(await node(KB)).toMatchObject({ own: { level: 'confidential', tag: 'data-classification=Confidential', source: 'lookup', at: '2025-07-02T00:00:00.000Z' }, sensitivity: 'confidential' });
    // The agent was looked up too, and has no classification tag: no own classification.
    expect(await node(AGENT)).toMatchObject({ own: null, sensitivity: null });
    expect(asked).toEqual([['us-east-1', KB], ['us-east-1', AGENT]]);
    // Within the TTL the cache answers.
    await handler(batch([message(KB, 42)]), context);
    expect(asked).toHaveLength(2);
    // An UntagResource after the lookup (the classifier wrote the node's tags): the event wins.
    const classifier = localPipeline(db, 'kb-lookup');
    expect(await classifier.handler(sqsEvent([kbTag(null, 'kb-off-late', '2025-07-02T06:00:00Z')]), context)).toEqual({ batchItemFailures: [] });
    now += 3600_000;
    await handler(batch([message(KB, 43)]), context);
    expect(await node(KB)).toMatchObject({ own: null, sensitivity: null });
  });
});

describe('the inventory item appears after the sensitivity', () => {
  it("a bucket tagged first and given its first model file later shows its classification in the inventory", async () => {
    const p = await pipeline(db, 'late-item');
    await p.deliver(tag('restricted', 'late-1', '2025-07-01T00:00:00Z', 'fraud-model-artifacts'));
    expect(await p.resource('arn:aws:s3:::fraud-model-artifacts')).toBeUndefined(); // not an AI resource yet
    await p.deliver({ ...documentedRecord('PutObject'), eventID: 'late-2', eventTime: '2025-07-02T00:00:00Z' });
    expect(await p.resource('arn:aws:s3:::fraud-model-artifacts')).toMatchObject({ kind: 'model-artifact-store', sensitivity: 'restricted', sensitivityFrom: { arn: 'arn:aws:s3:::fraud-model-artifacts' } });
  });
});

describe('cycles and unknown nodes', () => {
  // Built from the documented shape: a processing job that cleans a prefix in place, and a training job on it.
  const inPlace = { ...documentedRecord('CreateTrainingJob'), eventName: 'CreateProcessingJob', eventID: 'clean-1', requestParameters: { processingJobName: 'clean-in-place', processingInputs: [{ inputName: 'raw', s3Input: { s3Uri: 's3://fraud-training-data/2025/' } }], processingOutputConfig: { outputs: [{ outputName: 'clean', s3Output: { s3Uri: 's3://fraud-training-data/2025/' } }] } }, responseElements: null };

  it('a job that writes what it reads settles, and goes down when its source does, in bounded work', async () => {
    const p = await pipeline(db, 'cycle');
    const delivered = () => p.queue.delivered;
    await p.deliver(inPlace, documentedRecord('CreateTrainingJob'), tag('restricted', 'c-1', '2025-06-05T00:00:00Z'));
    const PROCESSING = 'arn:aws:sagemaker:us-east-1:111122223333:processing-job/clean-in-place';
    expect((await p.node(PROCESSING))?.sensitivity).toBe('restricted');
    expect((await p.node(LOCATION))?.sensitivityFrom?.path).toEqual([BUCKET, LOCATION]);
    const before = delivered();
    await p.deliver(tag('public', 'c-2', '2025-06-06T00:00:00Z'));
    for (const node of [LOCATION, PROCESSING, JOB]) expect((await p.node(node))?.sensitivity).toBe('public');
    // Each node recomputes a bounded number of times: no count to infinity around the loop.
    expect(delivered() - before).toBeLessThan(30);
  });

  it('an edge to a node never seen (the real CreateEndpoint names a config nobody created here) is recorded and harmless', async () => {
    const p = await pipeline(db, 'unknown');
    await p.deliver(readJson(join(FIXTURES, 'ai', 'awsdocs-sagemaker-developer-guide__CreateEndpoint.json')));
    const endpoint = 'arn:aws:sagemaker:us-west-2:123456789012:endpoint/exampleendpoint';
    expect(await p.node(endpoint)).toMatchObject({ kind: 'inference-endpoint', sensitivity: null });
    expect(await p.node('arn:aws:sagemaker:us-west-2:444455556666:endpoint-config/exampleendpointconfig')).toMatchObject({ kind: 'endpoint-config', sensitivity: null });
  });
});

describe('bounded work per message', () => {
  it('a tag change does not come back around as work: files stored in a bucket do not recompute the bucket', async () => {
    const p = await pipeline(db, 'echo');
    const files = Array.from({ length: 7 }, (_, i) => ({ ...documentedRecord('PutObject'), eventID: `echo-${i}`, requestParameters: { bucketName: 'fraud-model-artifacts', key: `exports/m${i}/model.safetensors` } }));
    await p.deliver(...files);
    const sent: LineageMessage[] = [];
    const send = p.queue.send.bind(p.queue);
    p.queue.send = async (m) => (sent.push(...m), send(m));
    await p.deliver(tag('restricted', 'echo-tag', '2025-07-01T00:00:00Z', 'fraud-model-artifacts'));
    for (let i = 0; i < 7; i++) expect((await p.node(`arn:aws:s3:::fraud-model-artifacts/exports/m${i}/model.safetensors`))?.sensitivity).toBe('restricted');
    // Once from the classifier; each file's change offers the bucket only a path through itself.
    expect(sent.filter((m) => m.type === 'recompute' && m.node === 'arn:aws:s3:::fraud-model-artifacts')).toHaveLength(1);
    expect(sent.filter((m) => m.type === 'recompute')).toHaveLength(8);
  });

  it('reads at most the in-edge bound per recomputation and fans out one page per message', async () => {
    const table = 'bounded';
    await db.createInventoryTable(table);
    const base = createInventoryStore(db.documents, table);
    const reads: number[] = [];
    const store: InventoryStore = {
      ...base,
      stats: base.stats,
      async queryRange(pk, from, to, options) {
        const items = await base.queryRange(pk, from, to, options);
        reads.push(items.length);
        return items;
      },
    };
    const sent: LineageMessage[] = [];
    const queue = new LocalLineageQueue();
    const spy = { send: async (m: readonly LineageMessage[]) => (sent.push(...m), queue.send(m)) };
    const { handler, lineage } = localPipeline(db, table);
    // Seven model files written to one bucket (built from the documented PutObject shape).
    const files = Array.from({ length: 7 }, (_, i) => ({ ...documentedRecord('PutObject'), eventID: `put-${i}`, requestParameters: { bucketName: 'fraud-model-artifacts', key: `exports/m${i}/model.safetensors` } }));
    await handler(sqsEvent(files), context);
    await lineage.drain();
    const propagator = createPropagator({ store, queue: spy, scheme: DEFAULT_CLASSIFICATION, limits: { inEdges: 5, fanoutPage: 3 } });
    const cause = { eventId: 'bounded-1', time: '2025-07-01T00:00:00.000Z', account: '111122223333', region: 'us-east-1' };
    // The bucket's own tags (as a tag event would leave them), then one recomputation of it.
    await base.putItems([{ ...keys.lineageTags('arn:aws:s3:::fraud-model-artifacts'), entity: ENTITY.lineageTags, tags: { 'data-classification': 'internal' }, 'tags@': '2025-07-01T00:00:00.000Z#t' }]);
    await propagator.handle({ type: 'recompute', node: 'arn:aws:s3:::fraud-model-artifacts', cause });
    expect(reads).toEqual([6]); // five edges and one more to know there are more
    expect(await base.getItems([keys.lineageNode('arn:aws:s3:::fraud-model-artifacts')])).toEqual(new Map([[expect.any(String), expect.objectContaining({ upstreamTruncated: true, sensitivity: 'internal' })]]));
    // The change fans out to seven locations three at a time, each page one message.
    let pages = 0;
    while (sent.length) {
      const m = sent.shift()!;
      if (m.type !== 'fanout') continue;
      pages++;
      reads.length = 0;
      await propagator.handle(m);
      expect(reads.every((n) => n <= 3 + 2)).toBe(true);
    }
    expect(pages).toBe(3);
  });
});

describe('the propagator Lambda', () => {

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    await db.createInventoryTable('handler');
  });

  it('hands back the failed message and every one after it (FIFO), and drops a malformed one', async () => {
    const base = createInventoryStore(db.documents, 'handler');
    const store: InventoryStore = {
      ...base,
      stats: base.stats,
      async queryRange(pk, ...rest) {
        if (pk.includes('broken')) throw new Error('ProvisionedThroughputExceededException');
        return base.queryRange(pk, ...rest);
      },
    };
    const handler = createPropagatorHandler(env, { store, queue: new LocalLineageQueue(), lookupTags: null, logLevel: 'SILENT' });
    const response = await handler(batch([message('arn:aws:s3:::ok-bucket', 1), { messageId: 'lm-bad', body: '{"type":"nope"}' }, message('arn:aws:s3:::broken-bucket', 2), message('arn:aws:s3:::ok-bucket-2', 3)]), context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'lm-2' }, { itemIdentifier: 'lm-3' }]);
  });

  it('reads bucket tags with GetBucketTagging, caches the answer, and records a refusal instead of failing', async () => {
    const s3 = mockClient(S3Client);
    const named = (name: string) => Object.assign(new Error(name), { name, $metadata: {} });
    s3.on(GetBucketTaggingCommand, { Bucket: 'tagged-bucket' }).resolves({ TagSet: [{ Key: 'data-classification', Value: 'restricted' }] });
    s3.on(GetBucketTaggingCommand, { Bucket: 'untagged-bucket' }).rejects(named('NoSuchTagSet'));
    s3.on(GetBucketTaggingCommand, { Bucket: 'other-account-bucket' }).rejects(named('AccessDenied'));
    s3.on(GetBucketTaggingCommand, { Bucket: 'busy-bucket' }).rejects(named('SlowDown'));
    let now = Date.parse('2025-07-01T00:00:00Z');
    const handler = createPropagatorHandler(env, { dynamodb: db.client, queue: new LocalLineageQueue(), lookupTags: s3TagLookup(new S3Client({ region: 'us-east-1' })), logLevel: 'SILENT', now: () => now });
    const node = async (bucket: string) => (await createInventoryStore(db.documents, 'handler').getItems([keys.lineageNode(bucket)])).values().next().value;
    const response = await handler(batch(['tagged-bucket', 'untagged-bucket', 'other-account-bucket'].map((b, i) => message(`arn:aws:s3:::${b}`, 10 + i))), context);
    expect(response.batchItemFailures).toEqual([]);
    expect(await node('arn:aws:s3:::tagged-bucket')).toMatchObject({ sensitivity: 'restricted', own: { level: 'restricted', source: 'lookup' } });
    expect(await node('arn:aws:s3:::untagged-bucket')).toMatchObject({ sensitivity: null, own: { level: null, source: 'lookup' } });
    expect(await node('arn:aws:s3:::other-account-bucket')).toMatchObject({ sensitivity: null, own: { level: null, problem: expect.stringContaining('AccessDenied') } });
    expect((await handler(batch([message('arn:aws:s3:::busy-bucket', 20)]), context)).batchItemFailures).toEqual([{ itemIdentifier: 'lm-20' }]);
    // Within the TTL the cached answer serves; after it, S3 is asked again.
    const calls = () => s3.commandCalls(GetBucketTaggingCommand, { Bucket: 'tagged-bucket' }).length;
    await handler(batch([message('arn:aws:s3:::tagged-bucket', 30)]), context);
    expect(calls()).toBe(1);
    now += 7 * 3600_000;
    await handler(batch([message('arn:aws:s3:::tagged-bucket', 31)]), context);
    expect(calls()).toBe(2);
    s3.restore();
  });
});

describe('the lineage queue on SQS', () => {
  it('sends by tens with a group per node and a deduplication id per message, retrying what SQS could not take', async () => {
    const sqs = mockClient(SQSClient);
    let first = true;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => {
      if (first) {
        first = false;
        return { Successful: input.Entries.slice(1).map((e) => ({ Id: e.Id, MessageId: 'x', MD5OfMessageBody: 'y' })), Failed: [{ Id: input.Entries[0].Id, Code: 'InternalError', SenderFault: false }] };
      }
      return { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'x', MD5OfMessageBody: 'y' })), Failed: [] };
    });
    const messages: LineageMessage[] = Array.from({ length: 23 }, (_, i) => ({ type: 'recompute', node: `arn:aws:s3:::b-${i % 4}x`, cause: { eventId: `e${i}`, time: 't', account: 'a', region: 'r' } }));
    await sqsLineageQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs.us-east-1.amazonaws.com/111122223333/lineage.fifo').send(messages);
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!);
    expect(calls.map((c) => c.length)).toEqual([10, 1, 10, 3]);
    const entries = calls.flat();
    expect(new Set(entries.filter((e) => JSON.parse(e.MessageBody!).node === 'arn:aws:s3:::b-0x').map((e) => e.MessageGroupId)).size).toBe(1);
    expect(new Set(entries.map((e) => e.MessageDeduplicationId)).size).toBe(23);
    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InvalidParameterValue', SenderFault: true, Message: 'too big' }] });
    await expect(sqsLineageQueue(new SQSClient({ region: 'us-east-1' }), 'https://q.fifo').send(messages.slice(0, 1))).rejects.toThrow(/SQS refused a lineage message: InvalidParameterValue/);
    sqs.restore();
  });
});

describe('ai-visibility lineage ARN, and the replay report', () => {
  const STORE = useTempDirs().dir('ai-visibility-lineage-');
  let report: ReplayReport;
  const cli = cliRunner();

  beforeAll(async () => {
    const replayed = await cli('replay', '--json', '--allow-quarantine', '--store', STORE, join(FIXTURES, 'documented'));
    report = JSON.parse(replayed.stdout) as ReplayReport;
  });

  it('the report lists every edge with the event that first showed it, and the inventory carries sensitivity', () => {
    expect(report.lineage).toContainEqual({ from: MODEL, to: CONFIG, relation: 'model-of', eventId: 'doc-0004-CreateEndpointConfig', time: '2025-06-01T12:05:00.000Z' });
    expect(report.lineage.every((e) => Object.keys(e).join() === 'from,to,relation,eventId,time')).toBe(true);
    expect(report.inventory.find((r) => r.arn === ENDPOINT)).toMatchObject({ sensitivity: 'confidential', sensitivityFrom: { arn: BUCKET, path: CHAIN } });
    expect(report.inventory.find((r) => r.arn === ENDPOINT)?.attributes).not.toHaveProperty('sensitivity');
  });

  it('walks upstream from an endpoint to the classified bucket, as JSON', async () => {
    const { code, stdout } = await cli('lineage', ENDPOINT, '--upstream', '--json', '--store', STORE);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.node).toMatchObject({ arn: ENDPOINT, kind: 'inference-endpoint', sensitivity: 'confidential' });
    expect(out.downstream).toBeUndefined();
    expect(out.upstream.map((e: { from: string; depth: number }) => [e.depth, e.from])).toEqual([
      [1, CONFIG],
      [2, MODEL],
      [3, ARTIFACT],
      [4, 'arn:aws:s3:::fraud-model-artifacts'],
      [4, JOB],
      // What is stored in the artifacts bucket flows into it (a model file written there)...
      [5, 'arn:aws:s3:::fraud-model-artifacts/exports/fraud-model/model-00001-of-00002.safetensors'],
      [5, LOCATION],
      // ...and the bucket contains the file: a cycle, listed once and not walked again.
      [6, 'arn:aws:s3:::fraud-model-artifacts'],
      [6, BUCKET],
    ]);
  });

  it('walks downstream from an S3 location given as s3://, in text', async () => {
    const { code, stdout } = await cli('lineage', 's3://fraud-training-data/2025/', '--downstream', '--store', STORE);
    expect(code).toBe(0);
    expect(stdout).toContain(`Lineage of ${LOCATION} (s3-location)`);
    expect(stdout).toContain(`-> input-of ${JOB} (training-job, confidential)`);
    expect(stdout).toContain(`-> config-of ${ENDPOINT} (inference-endpoint, confidential)`);
    expect(stdout).not.toContain('Upstream');
  });

  it('says so for an ARN with no lineage, and refuses contradictory or missing arguments', async () => {
    expect(await cli('lineage', 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/nobody', '--store', STORE)).toMatchObject({ code: 1, stdout: expect.stringContaining('No lineage is recorded for') });
    expect((await cli('lineage', ENDPOINT, '--upstream', '--downstream', '--store', STORE)).code).toBe(2);
    expect((await cli('lineage', '--store', STORE)).code).toBe(2);
    expect((await cli('lineage', ENDPOINT, '--table', 't')).code).toBe(2);
    expect(await cli('lineage', ENDPOINT, '--store', join(STORE, 'missing'))).toMatchObject({ code: 1, stderr: expect.stringContaining('no local store') });
  });
});
