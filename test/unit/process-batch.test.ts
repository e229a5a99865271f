/**
 * processMessages with a scripted store: how a batch maps to writes and how failed writes map
 * back to exactly the messages that contributed to them. (Against a real DynamoDB API:
 * test/integration/handler.test.ts.) Records are real ones, or built from the documented shapes.
 */
import { toEnvelope } from '../../local/replay/event-bus';
import { planWrites } from '../../lambdas/classifier/plan';
import { DEADLINE_RESERVE_MS, processMessages, type InboundMessage } from '../../lambdas/classifier/process-batch';
import { classify } from '../../lambdas/classifier/classify';
import { contentHashOf } from '../../lambdas/classifier/normalize';
import type { EntityWrite, InventoryStore, Key } from '../../lambdas/shared/inventory-store';
import { aiFixture, documentedRecord, normalized } from '../helpers';
import type { LineageMessage } from '../../lambdas/core/lineage';

function msg(id: string, record: Record<string, unknown>): InboundMessage {
  return { messageId: id, body: JSON.stringify(toEnvelope(record)), receivedAt: '2025-06-05T00:00:00.000Z', source: `sqs:${id}` };
}

function scriptedStore(fail: (key: Key) => boolean): InventoryStore & { entities: EntityWrite[]; puts: Key[] } {
  const entities: EntityWrite[] = [];
  const puts: Key[] = [];
  return {
    entities,
    puts,
    stats: { writeUnits: 0, readUnits: 0, requests: 0, conditionalFailures: 0 },
    async writeEntity(w) {
      if (fail(w.key)) throw new Error('ProvisionedThroughputExceededException');
      entities.push(w);
      // A key written before in this test already existed; the first write creates it.
      return entities.filter((e) => e.key.pk === w.key.pk && e.key.sk === w.key.sk).length > 1 ? 'applied' : 'created';
    },
    async putItems(items) {
      const failed = items.filter((i) => fail(i));
      puts.push(...items.filter((i) => !fail(i)));
      return failed.map(({ pk, sk }) => ({ pk, sk }));
    },
    getItems: async () => new Map(),
    queryRange: async () => [],
    putIfRevision: async () => true,
    setFieldsIf: async () => true,
    putIfEarlier: async () => true,
  };
}

describe('coalescing', () => {
  it('writes each principal and resource once per batch, however many events name them', async () => {
    const invokes = Array.from({ length: 25 }, (_, i) => ({ ...aiFixture('InvokeModel'), eventID: `invoke-${i}`, eventTime: `2024-10-01T11:52:${String(i).padStart(2, '0')}Z` }));
    const store = scriptedStore(() => false);
    const outcome = await processMessages(invokes.map((r, i) => msg(`m${i}`, r)), { store });
    expect(outcome.stats).toMatchObject({ received: 25, classified: 25, resourceWrites: 1, principalWrites: 1, failed: 0 });
    const model = store.entities.find((e) => e.key.pk.includes('foundation-model'))!;
    expect(model.head).toMatchObject({ time: '2024-10-01T11:52:24.000Z', eventId: 'invoke-24' });
    expect(model.first).toMatchObject({ time: '2024-10-01T11:52:00.000Z', eventId: 'invoke-0' });
  });

  it('keeps each attribute from the newest event that carried it', () => {
    const create = normalized(documentedRecord('CreateEndpoint'));
    const remove = normalized(documentedRecord('DeleteEndpoint'));
    const plan = planWrites([
      { messageId: 'b', event: remove, classification: classify(remove) },
      { messageId: 'a', event: create, classification: classify(create) },
    ]);
    const endpoint = plan.entities.find((e) => e.write.key.pk.includes(':endpoint/'))!;
    expect(endpoint.messageIds).toEqual(new Set(['a', 'b']));
    expect(endpoint.write.latest).toMatchObject({ status: 'deleted', lastEventName: 'DeleteEndpoint' });
    // Ordered by the create event (its time, id and content hash).
    expect(endpoint.write.attributes.endpointConfigName).toEqual({ value: 'fraud-model-config', at: `${create.time}#${create.eventId}#${contentHashOf(create)}` });
    expect(endpoint.write.earliest).toEqual({ discoveredBy: 'arn:aws:iam::111122223333:role/ml-pipeline', gsi3pk: 'PRINCIPAL#arn:aws:iam::111122223333:role/ml-pipeline', gsi3sk: 'RESOURCE#arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model' });
  });
});

describe('failures map back to the messages behind them', () => {
  it('fails every message that fed a failed entity write, and only those', async () => {
    // m1 and m2 both name the foundation model; m3 is about a guardrail.
    const m1 = msg('m1', aiFixture('InvokeModel'));
    const m2 = msg('m2', { ...aiFixture('InvokeModel'), eventID: 'second-invoke', userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::956882123456:user/other', accountId: '956882123456' } });
    const m3 = msg('m3', aiFixture('DeleteGuardrail'));
    const store = scriptedStore((key) => key.pk.includes('foundation-model'));
    const outcome = await processMessages([m1, m2, m3], { store });
    expect(outcome.failedMessageIds.sort()).toEqual(['m1', 'm2']);
    expect(outcome.stats).toMatchObject({ received: 3, classified: 1, failed: 2 });
    expect(store.entities.map((e) => e.key.pk)).toEqual(expect.arrayContaining(['RESOURCE#arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo', 'PRINCIPAL#arn:aws:iam::956882123456:user/himan']));
  });

  it('fails the message whose finding could not be put', async () => {
    const store = scriptedStore((key) => key.sk.startsWith('FINDING#'));
    const outcome = await processMessages([msg('g', aiFixture('DeleteGuardrail')), msg('i', aiFixture('InvokeModel'))], { store });
    expect(outcome.failedMessageIds).toEqual(['g']);
  });

  it('fails a malformed message only if its quarantine record cannot be written', async () => {
    const bad: InboundMessage = { messageId: 'q', body: 'nope', receivedAt: '2025-06-05T00:00:00.000Z', source: 'sqs:q' };
    expect((await processMessages([bad], { store: scriptedStore(() => false) })).stats).toMatchObject({ quarantined: 1, failed: 0 });
    const outcome = await processMessages([bad], { store: scriptedStore((key) => key.pk.startsWith('QUARANTINE#')) });
    expect(outcome).toMatchObject({ failedMessageIds: ['q'], stats: { quarantined: 0, failed: 1 } });
  });

  it('counts matched events that are not AI activity as ignored, with the reason', async () => {
    const tiny = aiFixture('Successful-Unusual-EC2.json');
    (tiny.requestParameters as Record<string, unknown>).instanceType = 't3.micro';
    ((tiny.responseElements as { instancesSet: { items: Array<Record<string, unknown>> } }).instancesSet.items[0]).instanceType = 't3.micro';
    const outcome = await processMessages([msg('t', tiny)], { store: scriptedStore(() => false) });
    expect(outcome.stats).toMatchObject({ ignored: 1, classified: 0 });
    expect(outcome.ignoredReasons).toEqual({ 'not a GPU/accelerator instance type': 1 });
  });
});

describe('the deadline guard', () => {
  // 40 calls of 40 models by 40 callers: 80 entity writes, one at a time.
  const invokes = Array.from({ length: 40 }, (_, i) => {
    const r = aiFixture('InvokeModel') as Record<string, unknown> & { requestParameters: Record<string, unknown>; userIdentity: Record<string, unknown> };
    return { ...r, eventID: `deadline-${i}`, requestParameters: { ...r.requestParameters, modelId: `anthropic.claude-model-${i}` }, userIdentity: { ...r.userIdentity, arn: `arn:aws:iam::111122223333:user/caller-${i}`, principalId: `AIDA${i}` } };
  });
  const messages = invokes.map((r, i) => msg(`m${i}`, r));

  it('starts no write once the time left is short, and hands back exactly the messages it did not finish', async () => {
    const store = scriptedStore(() => false);
    // The clock: 30 s left, one second gone with every write.
    const timeLeftMs = () => 30_000 - store.entities.length * 1_000;
    const outcome = await processMessages(messages, { store, concurrency: 1, timeLeftMs });
    expect(store.entities.length).toBe(30_000 / 1_000 - DEADLINE_RESERVE_MS / 1_000 + 1);
    expect(outcome.deferred).toBeGreaterThan(0);
    expect(outcome.failedMessageIds).toHaveLength(outcome.deferred);
    expect(outcome.stats.classified + outcome.stats.failed).toBe(40);
    expect(outcome.isolationRuns).toBe(0); // no time to isolate: nothing failed for its content

    // Redelivered with time to spare, the handed-back messages complete the work: nothing is lost.
    const again = await processMessages(messages.filter((m) => outcome.failedMessageIds.includes(m.messageId)), { store, timeLeftMs: () => 60_000 });
    expect(again.failedMessageIds).toEqual([]);
    const full = scriptedStore(() => false);
    await processMessages(messages, { store: full });
    const keysOf = (s: typeof store) => new Set(s.entities.map((e) => `${e.key.pk}|${e.key.sk}`));
    expect(keysOf(store)).toEqual(keysOf(full));
  });

  it('hands back the whole batch when there is no time to begin', async () => {
    const store = scriptedStore(() => false);
    const outcome = await processMessages(messages, { store, timeLeftMs: () => DEADLINE_RESERVE_MS - 1 });
    expect(outcome).toMatchObject({ deferred: 40, stats: { failed: 40, classified: 0 } });
    expect(store.entities).toEqual([]);
    expect(store.puts).toEqual([]);
  });
});

describe('the lineage step', () => {
  const queue = (fail = false) => {
    const sent: LineageMessage[][] = [];
    return {
      sent,
      async send(messages: readonly LineageMessage[]) {
        if (fail) throw new Error('AWS.SimpleQueueService.NonExistentQueue');
        sent.push([...messages]);
      },
    };
  };

  it('writes each edge under both nodes, then queues every node it touched once, caused by the newest event that touched it', async () => {
    const store = scriptedStore(() => false);
    const q = queue();
    const outcome = await processMessages([msg('a', documentedRecord('CreateTrainingJob')), msg('b', documentedRecord('CreateModel'))], { store, lineage: { queue: q } });
    // Six edges from the training job, two from the model; the bucket contains the artifact in both: seven.
    expect(outcome.stats).toMatchObject({ failed: 0, lineageEdges: 7 });
    const lineageKeys = store.entities.filter((e) => e.key.pk.startsWith('LINEAGE#')).map((e) => e.key.sk.split('#')[0]);
    expect(lineageKeys.filter((k) => k === 'IN')).toHaveLength(7);
    expect(lineageKeys.filter((k) => k === 'OUT')).toHaveLength(7);
    expect(q.sent).toHaveLength(1);
    const artifact = q.sent[0].find((m) => m.node.endsWith('output/model.tar.gz'));
    expect(artifact).toEqual({ type: 'recompute', node: 'arn:aws:s3:::fraud-model-artifacts/output/fraud-model-2025-06-01/output/model.tar.gz', cause: expect.objectContaining({ eventId: 'doc-0003-CreateModel' }) });
    expect(new Set(q.sent[0].map((m) => m.node)).size).toBe(q.sent[0].length);
  });

  it('sends no work for edges that already existed, unless the message is a redelivery (whose first delivery may not have sent it)', async () => {
    const store = scriptedStore(() => false);
    const q = queue();
    await processMessages([msg('a', documentedRecord('CreateEndpoint'))], { store, lineage: { queue: q } });
    await processMessages([msg('b', { ...documentedRecord('CreateEndpoint'), eventID: 'again' })], { store, lineage: { queue: q } });
    expect(q.sent).toHaveLength(1);
    await processMessages([{ ...msg('a', documentedRecord('CreateEndpoint')), deliveries: 2 }], { store, lineage: { queue: q } });
    expect(q.sent).toHaveLength(2);
    expect(q.sent[1].map((m) => m.node).sort()).toEqual(q.sent[0].map((m) => m.node).sort());
  });

  it('fails the messages behind work the queue would not take, so SQS brings them back to send it again', async () => {
    const outcome = await processMessages([msg('a', documentedRecord('CreateTrainingJob')), msg('c', aiFixture('DeleteGuardrail'))], { store: scriptedStore(() => false), lineage: { queue: queue(true) } });
    expect(outcome.failedMessageIds).toEqual(['a']);
  });

  it('queues nothing for a message whose edge write failed (it comes back and queues then)', async () => {
    const q = queue();
    const outcome = await processMessages([msg('a', documentedRecord('CreateTrainingJob')), msg('b', documentedRecord('CreateEndpoint'))], { store: scriptedStore((k) => k.sk.startsWith('OUT#input-of')), lineage: { queue: q } });
    expect(outcome.failedMessageIds).toEqual(['a']);
    expect(q.sent[0].map((m) => m.node).sort()).toEqual(['arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/fraud-model-config', 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model']);
  });
});

describe('every ordered attribute carries the content hash', () => {
  it("so two different records with one eventID order a bucket's tags the same way as everything else", async () => {
    const { planLineageWrites } = await import('../../lambdas/classifier/plan');
    const { lineageOf } = await import('../../lambdas/classifier/lineage/extract');
    const event = normalized(documentedRecord('PutBucketTagging'));
    const [entity] = planLineageWrites([{ messageId: 'm', event, facts: lineageOf(event) }]);
    expect(entity.write.attributes.tags.at).toBe(`${event.time}#${event.eventId}#${contentHashOf(event)}`);
    expect(entity.write.head).toEqual({ time: event.time, eventId: event.eventId, contentHash: contentHashOf(event) });
  });
});
