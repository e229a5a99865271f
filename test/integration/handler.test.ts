/**
 * The classifier Lambda through its real exported handler (middy, Powertools, SDK v3) against a
 * real DynamoDB API (dynalite): idempotency, out-of-order delivery, malformed input, partial
 * batch failure. Records: real ones from fixtures/cloudtrail/ai, and records built from the
 * documented API shapes (fixtures/cloudtrail/documented) where no real one exists.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { createClassifierHandler, handler as deployedEntryPoint, type ClassifierHandler } from '../../lambdas/classifier/handler';
import { createInventoryStore, type InventoryStore } from '../../lambdas/shared/inventory-store';
import { localClassifierEnvironment, localClassifierHandler } from '../../local/handlers';
import { scanTable } from '../../local/replay/report';
import { aiFixture, documentedRecord } from '../helpers';

const TABLE = 'inventory-under-test';
let db: LocalDynamoDb;
let handler: ClassifierHandler;

beforeAll(async () => {
  db = await startLocalDynamoDb();
  await db.createInventoryTable(TABLE);
  handler = localClassifierHandler(db, TABLE);
});

afterAll(async () => {
  await db.close();
});

async function resetTable(): Promise<void> {
  await db.client.send(new DeleteTableCommand({ TableName: TABLE }));
  await db.createInventoryTable(TABLE);
}

const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

let sequence = 0;
function message(body: unknown) {
  const id = `msg-${++sequence}`;
  return {
    messageId: id,
    receiptHandle: id,
    body: typeof body === 'string' ? body : JSON.stringify(toEnvelope(body as Record<string, unknown>)),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1749117600000', SenderId: 'events', ApproximateFirstReceiveTimestamp: '1749117600000' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:capture',
    awsRegion: 'us-east-1',
  };
}

async function deliver(messages: ReturnType<typeof message>[]): Promise<SQSBatchResponse> {
  return (await handler({ Records: messages } as SQSEvent, context)) as SQSBatchResponse;
}

async function items(): Promise<Record<string, unknown>[]> {
  const all = await scanTable(db.documents, TABLE);
  return all.sort((a, b) => `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`));
}

async function item(pk: string, sk = '#STATE'): Promise<Record<string, unknown> | undefined> {
  return (await items()).find((i) => i.pk === pk && i.sk === sk);
}

describe('classifying a batch', () => {
  beforeAll(resetTable);

  it('writes the resource, its finding and the principal, keyed for every access pattern (real records)', async () => {
    const response = await deliver([message(aiFixture('DeleteGuardrail')), message(aiFixture('InvokeModel'))]);
    expect(response).toEqual({ batchItemFailures: [] });

    const guardrail = await item('RESOURCE#arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo');
    expect(guardrail).toMatchObject({
      entity: 'resource',
      kind: 'guardrail',
      status: 'deleted',
      account: '123123123123',
      firstSeen: '2025-01-21T18:12:33.000Z',
      lastSeen: '2025-01-21T18:12:33.000Z',
      lastEventId: '3105145b-d0ca-41ab-a0fd-73f4f31ccbd1',
      discoveredBy: 'arn:aws:sts::123123123123:assumed-role/DevAdmin/dr.evil',
      gsi1pk: 'KIND#guardrail',
      gsi2pk: 'ACCOUNT#123123123123',
      gsi3pk: 'PRINCIPAL#arn:aws:sts::123123123123:assumed-role/DevAdmin/dr.evil',
    });
    const finding = (await items()).find((i) => i.entity === 'finding');
    expect(finding).toMatchObject({
      pk: 'RESOURCE#arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo',
      sk: 'FINDING#2025-01-21T18:12:33.000Z#3105145b-d0ca-41ab-a0fd-73f4f31ccbd1#guardrail-deleted',
      rule: 'guardrail-deleted',
      gsi1pk: 'SEVERITY#high',
      gsi1sk: '2025-01-21T18:12:33.000Z#3105145b-d0ca-41ab-a0fd-73f4f31ccbd1#guardrail-deleted',
    });
    expect(await item('PRINCIPAL#arn:aws:iam::956882123456:user/himan')).toMatchObject({ role: 'ai-application', gsi1pk: 'ROLE#ai-application' });
    const model = await item('RESOURCE#arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0');
    expect(model?.usedByAccounts).toEqual(new Set(['956882123456']));
  });
});

describe('the deployed entry point', () => {
  beforeAll(resetTable);
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads its environment contract at cold start and classifies like the factory-built handler', async () => {
    Object.assign(process.env, localClassifierEnvironment(TABLE), { AWS_ENDPOINT_URL_DYNAMODB: db.endpoint, POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });
    const response = await deployedEntryPoint({ Records: [message(aiFixture('InvokeModel'))] } as SQSEvent, context);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await item('PRINCIPAL#arn:aws:iam::956882123456:user/himan')).toMatchObject({ role: 'ai-application' });
  });
});

describe('idempotency on eventID', () => {
  beforeAll(resetTable);

  it('a redelivered or replayed batch changes nothing', async () => {
    const records = [aiFixture('DeleteGuardrail'), aiFixture('UpdateGuardrail'), documentedRecord('CreateTrainingJob'), documentedRecord('InvokeModel'), documentedRecord('RunInstances'), documentedRecord('CreateFleet')];
    await deliver(records.map(message));
    const first = await items();
    expect(first.length).toBeGreaterThan(8);

    await deliver(records.map(message)); // redelivery: same events, new SQS messages
    await deliver([...records].reverse().map(message)); // a replay, in another order
    for (const r of records) await deliver([message(r)]); // and one by one
    expect(await items()).toEqual(first);
  });
});

describe('out-of-order delivery', () => {
  // Three events about one endpoint and its caller, built from the documented shapes.
  const create = documentedRecord('CreateEndpoint');
  const update = { ...documentedRecord('CreateEndpoint'), eventName: 'UpdateEndpoint', eventID: 'doc-update-endpoint', eventTime: '2025-06-02T09:00:00Z', requestParameters: { endpointName: 'fraud-model', endpointConfigName: 'fraud-model-config-v2' } };
  const remove = documentedRecord('DeleteEndpoint');
  const ENDPOINT = 'RESOURCE#arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model';
  const permutations = [
    [create, update, remove],
    [create, remove, update],
    [update, create, remove],
    [update, remove, create],
    [remove, create, update],
    [remove, update, create],
  ];

  async function finalState(order: Record<string, unknown>[], oneAtATime: boolean): Promise<Record<string, unknown>[]> {
    await resetTable();
    if (oneAtATime) for (const r of order) await deliver([message(r)]);
    else await deliver(order.map(message));
    // rev counts the writes an item took, which legitimately depends on arrival order.
    return (await items()).map(({ rev: _writes, ...rest }) => rest);
  }

  it('reaches the same state in all six orders, one event per batch or all in one', async () => {
    const reference = await finalState(permutations[0], true);
    const endpoint = reference.find((i) => i.pk === ENDPOINT);
    expect(endpoint).toMatchObject({
      status: 'deleted',
      firstSeen: '2025-06-01T12:06:00.000Z',
      lastSeen: '2025-06-03T18:00:00.000Z',
      lastEventName: 'DeleteEndpoint',
      // The newest event carries no configuration: the older ones still contribute theirs.
      endpointConfigName: 'fraud-model-config-v2',
      endpointName: 'fraud-model',
    });
    for (const order of permutations) {
      expect(await finalState(order, true)).toEqual(reference);
      expect(await finalState(order, false)).toEqual(reference);
    }
  });

  it('never lets an older event overwrite newer state', async () => {
    await resetTable();
    await deliver([message(remove)]);
    await deliver([message(create)]);
    expect(await item(ENDPOINT)).toMatchObject({ status: 'deleted', lastEventName: 'DeleteEndpoint', firstSeen: '2025-06-01T12:06:00.000Z', firstEventId: create.eventID });
  });
});

describe('instances the events cannot classify alone', () => {
  beforeAll(resetTable);

  it('StopInstances updates the known GPU instance and leaves unknown instances out (built from the documented shapes)', async () => {
    await deliver([message(documentedRecord('RunInstances'))]);
    await deliver([message(documentedRecord('StopInstances'))]);
    expect(await item('RESOURCE#arn:aws:ec2:us-east-1:111122223333:instance/i-0gpu0000000000001')).toMatchObject({ instanceState: 'stopping', instanceType: 'g6.12xlarge', status: 'active' });
    expect(await item('RESOURCE#arn:aws:ec2:us-east-1:111122223333:instance/i-0web0000000000002')).toBeUndefined();
  });
});

describe('malformed input', () => {
  beforeAll(resetTable);

  it('is quarantined with its reason, kept, and never fails the batch or the valid messages beside it', async () => {
    const bad = [message('{not json'), message(JSON.stringify({ hello: 'world' })), message(JSON.stringify(toEnvelope(aiFixture('CreateModelCustomizationJob'))))];
    const good = message(aiFixture('DeleteGuardrail'));
    const response = await deliver([...bad, good]);
    expect(response).toEqual({ batchItemFailures: [] });

    const quarantined = (await items()).filter((i) => i.entity === 'quarantine');
    expect(quarantined.map((q) => [q.source, q.reason])).toEqual(
      expect.arrayContaining([
        [`sqs:${bad[0].messageId}`, expect.stringContaining('message body is not JSON')],
        [`sqs:${bad[1].messageId}`, expect.stringContaining('missing or malformed eventSource')],
        [`sqs:${bad[2].messageId}`, 'missing eventTime: the event cannot be ordered against others'],
      ]),
    );
    expect(quarantined).toHaveLength(3);
    expect(quarantined.find((q) => q.source === `sqs:${bad[0].messageId}`)).toMatchObject({ payload: '{not json', payloadTruncated: false, gsi1pk: 'QUARANTINE' });
    expect(await item('RESOURCE#arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo')).toBeDefined();

    await deliver(bad); // redelivered: still three records
    expect((await items()).filter((i) => i.entity === 'quarantine')).toHaveLength(3);
  });
});

describe('partial batch failure', () => {
  beforeAll(resetTable);

  it('reports exactly the messages whose writes failed, and the rest are written', async () => {
    // The table refuses one item (as DynamoDB would a throttled or invalid write): its message alone fails.
    const refused = 'RESOURCE#arn:aws:s3:::fraud-training-data';
    const store = createInventoryStore(db.documents, TABLE);
    const refusing: InventoryStore = {
      ...store,
      stats: store.stats,
      writeEntity: async (w) => {
        if (w.key.pk === refused) throw new Error('ValidationException: refused by the test');
        return store.writeEntity(w);
      },
    };
    const partial = createClassifierHandler(localClassifierEnvironment(TABLE), { store: refusing, lineageQueue: { send: async () => undefined }, logLevel: 'SILENT' });
    const failing = message(documentedRecord('PutBucketTagging'));
    const fine = [message(aiFixture('DeleteGuardrail')), message(documentedRecord('CreateAgent'))];
    const response = await partial({ Records: [fine[0], failing, fine[1]] } as SQSEvent, context);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: failing.messageId }] });
    expect(await item('RESOURCE#arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345')).toBeDefined();
    expect(await item(refused)).toBeUndefined();
  });

  it('writes a record whose values would overflow an item, with the values bounded and a signal that says so', async () => {
    // DynamoDB refuses items over 400 KB: 60 tags of 8,000 characters would be 480 KB.
    const oversized = documentedRecord('PutBucketTagging');
    (oversized.requestParameters as { Tagging: { TagSet: { Tag: unknown[] } } }).Tagging.TagSet.Tag.push(
      ...Array.from({ length: 60 }, (_, i) => ({ Key: `k${i}`, Value: 'v'.repeat(8_000) })),
    );
    const response = await deliver([message(oversized), message(aiFixture('DeleteGuardrail'))]);
    expect(response).toEqual({ batchItemFailures: [] });
    const bucket = await item('RESOURCE#arn:aws:s3:::fraud-training-data');
    expect(bucket).toBeDefined();
    const tags = bucket!.tags as Record<string, string>;
    expect(tags.k0.length).toBeLessThan(8_000);
    expect(tags.k0).toMatch(/…\[8000 characters, sha256:[0-9a-f]{16}\]$/);
    expect(bucket!.signals).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'input', value: expect.stringMatching(/^requestParameters\.Tagging\.TagSet\.Tag\.\d+\.Value: 8000 characters, cut to \d+$/) })]));
  });
});
