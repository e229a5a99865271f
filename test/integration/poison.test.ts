/**
 * One bad record never hides good ones: the classifier's real handler against dynalite, fed
 * bursts of real records (the real InvokeModel and DeleteGuardrail records, copied with fresh
 * ids and callers) with one poison record among them, the kinds an attacker with stolen keys
 * can send: a 1 MB modelId, a 2,100-character caller ARN, a 1,100-character eventID. Each poison
 * is recorded with its values bounded (and a signal saying so) or fails alone; every good
 * record is recorded. A coalesced write that fails is isolated to the message that makes it fail.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { createClassifierHandler } from '../../lambdas/classifier/handler';
import { createInventoryStore, MAX_SET_MEMBERS, type InventoryStore } from '../../lambdas/shared/inventory-store';
import { keys, readFinding, readPrincipal, readResource } from '../../lambdas/shared/items';
import { localClassifierEnvironment, localClassifierHandler } from '../../local/handlers';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { scanTable } from '../../local/replay/report';
import { aiFixture } from '../helpers';

const context = { functionName: 'classifier', awsRequestId: 'r', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
let db: LocalDynamoDb;
let tables = 0;
beforeAll(async () => {
  db = await startLocalDynamoDb();
});
afterAll(async () => {
  await db.close();
});

async function freshTable(): Promise<string> {
  const table = `poison-${++tables}`;
  await db.createInventoryTable(table);
  return table;
}

const sqs = (records: Array<Record<string, unknown>>): SQSEvent => ({
  Records: records.map(
    (r, i): SQSRecord => ({
      messageId: `m-${i}`,
      receiptHandle: '',
      body: JSON.stringify(toEnvelope(r)),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1727783557000', SenderId: 'events', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:956882123456:capture',
      awsRegion: 'us-east-1',
    }),
  ),
});

/** The real InvokeModel record, called by `principals` different users, `count` times, a second apart. */
function invocations(count: number, principals: number): Array<Record<string, unknown>> {
  const base = aiFixture('InvokeModel');
  return Array.from({ length: count }, (_, i) => {
    const r = structuredClone(base) as Record<string, unknown> & { userIdentity: Record<string, unknown> };
    const user = `app-${i % principals}`;
    r.eventID = `invoke-${String(i).padStart(5, '0')}`;
    r.eventTime = new Date(Date.parse('2024-10-01T11:00:00Z') + i * 1000).toISOString();
    r.userIdentity = { ...r.userIdentity, arn: `arn:aws:iam::956882123456:user/${user}`, userName: user };
    return r;
  });
}

async function state(table: string) {
  const items = await scanTable(db.documents, table);
  return {
    principals: items.flatMap((i) => (readPrincipal(i) ? [readPrincipal(i)!] : [])),
    resources: items.flatMap((i) => (readResource(i) ? [readResource(i)!] : [])),
    findings: items.flatMap((i) => (readFinding(i) ? [readFinding(i)!] : [])),
  };
}

describe('poison records an attacker can send, among good ones', () => {
  it('50 good InvokeModel calls and one with a 1 MB modelId: all 51 recorded, the poison bounded and marked', async () => {
    const table = await freshTable();
    const good = invocations(50, 50);
    const poison = { ...structuredClone(good[0]), eventID: 'poison-model', requestParameters: { modelId: `anthropic.${'x'.repeat(1024 * 1024)}` } };
    const response = await localClassifierHandler(db, table)(sqs([...good, poison]), context);
    expect(response).toEqual({ batchItemFailures: [] });
    const { principals, resources } = await state(table);
    expect(principals.filter((p) => p.role === 'ai-application')).toHaveLength(50);
    const bounded = resources.find((r) => r.arn.includes('xxxx'))!;
    expect(Buffer.byteLength(keys.resource(bounded.arn).pk)).toBeLessThanOrEqual(2048);
    expect(bounded.signals).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'input', value: `requestParameters.modelId: ${'anthropic.'.length + 1024 * 1024} characters, cut to 4096` })]));
  });

  it('50 good calls by 50 principals and one caller ARN of 2,100 characters: all 51 callers recorded, the long one under its key limit', async () => {
    const table = await freshTable();
    const good = invocations(50, 50);
    const long = `arn:aws:iam::956882123456:user/${'u'.repeat(2_100)}`;
    const poison = { ...structuredClone(good[0]), eventID: 'poison-caller', userIdentity: { type: 'IAMUser', arn: long, accountId: '956882123456', userName: 'u' } };
    const response = await localClassifierHandler(db, table)(sqs([...good, poison]), context);
    expect(response).toEqual({ batchItemFailures: [] });
    const { principals } = await state(table);
    expect(principals).toHaveLength(51);
    expect(principals.find((p) => p.arn.startsWith('arn:aws:iam::956882123456:user/uuu'))).toBeDefined();
  });

  it('5 good DeleteGuardrail calls and one with a 1,100-character eventID: every guardrail-deleted finding recorded', async () => {
    const table = await freshTable();
    const base = aiFixture('DeleteGuardrail');
    const good = Array.from({ length: 5 }, (_, i) => ({ ...structuredClone(base), eventID: `delete-${i}`, eventTime: `2025-01-21T18:1${i}:33Z` }));
    const poison = { ...structuredClone(base), eventID: 'e'.repeat(1_100), eventTime: '2025-01-21T18:20:33Z' };
    const response = await localClassifierHandler(db, table)(sqs([...good, poison]), context);
    expect(response).toEqual({ batchItemFailures: [] });
    const { findings } = await state(table);
    const deleted = findings.filter((f) => f.rule === 'guardrail-deleted');
    expect(deleted.map((f) => f.eventId).filter((id) => id.startsWith('delete-')).sort()).toEqual(['delete-0', 'delete-1', 'delete-2', 'delete-3', 'delete-4']);
    expect(deleted.find((f) => f.eventId.startsWith('hashed:sha256:'))).toBeDefined();
  });
});

describe('the goal: a batch of 1,000 good records with one poison of each kind', () => {
  it('records the 1,000, and each poison is recorded bounded or set aside: nothing dead-lettered', async () => {
    const table = await freshTable();
    const good = invocations(1_000, 50);
    const model = { ...structuredClone(good[0]), eventID: 'poison-model', requestParameters: { modelId: `anthropic.${'m'.repeat(1024 * 1024)}` } };
    const caller = { ...structuredClone(good[1]), eventID: 'poison-caller', userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::956882123456:user/${'u'.repeat(2_100)}`, accountId: '956882123456' } };
    const id = { ...structuredClone(good[2]), eventID: 'i'.repeat(1_100) };
    const future = { ...structuredClone(good[3]), eventID: 'poison-future', eventTime: '9999-01-01T00:00:00Z' };
    const response = await localClassifierHandler(db, table)(sqs([...good.slice(0, 500), model, caller, id, future, ...good.slice(500)]), context);
    expect(response).toEqual({ batchItemFailures: [] });
    const items = await scanTable(db.documents, table);
    const { principals } = await state(table);
    expect(principals.filter((p) => /user\/app-\d+$/.test(p.arn))).toHaveLength(50);
    const model0 = items.find((i) => i.kind === 'foundation-model' && String(i.arn).endsWith('claude-3-5-sonnet-20240620-v1:0'))!;
    // Every good call is on the model's item: the newest is the last good one.
    expect(model0.lastEventId).toBe('invoke-00999');
    expect(items.filter((i) => i.entity === 'quarantine').map((i) => i.reason)).toEqual(['eventTime 9999-01-01T00:00:00.000Z is more than 24 hours in the future']);
  });
});

describe('isolating a coalesced write that fails', () => {
  it('1,000 good calls and one whose write the table refuses: 1,000 recorded, only the poison reported', async () => {
    const table = await freshTable();
    const base = createInventoryStore(db.documents, table);
    // The table refuses any write that carries the poison's event (it is the newest: every write it shares carries it).
    const store: InventoryStore = {
      ...base,
      stats: base.stats,
      writeEntity: async (w) => {
        if (JSON.stringify(w).includes('poison-refused')) throw new Error('ValidationException: refused by the test');
        return base.writeEntity(w);
      },
    };
    const handler = createClassifierHandler(localClassifierEnvironment(table), { store, lineageQueue: { send: async () => undefined }, logLevel: 'SILENT' });
    const good = invocations(1_000, 50);
    const poison = { ...structuredClone(good[999]), eventID: 'poison-refused', eventTime: '2024-10-02T00:00:00Z' };
    const response = await handler(sqs([...good, poison]), context);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1000' }] });
    const { principals, resources } = await state(table);
    expect(principals).toHaveLength(50);
    expect(resources.find((r) => r.kind === 'foundation-model')).toMatchObject({ lastEventId: 'invoke-00999' });
  });

  it('stops isolating when the invocation runs short of time, and reports what is left', async () => {
    const table = await freshTable();
    const base = createInventoryStore(db.documents, table);
    const store: InventoryStore = { ...base, stats: base.stats, writeEntity: async () => Promise.reject(new Error('table unavailable')) };
    const handler = createClassifierHandler(localClassifierEnvironment(table), { store, lineageQueue: { send: async () => undefined }, logLevel: 'SILENT' });
    const short = { ...context, getRemainingTimeInMillis: () => 5_000 } as Context;
    const response = await handler(sqs(invocations(20, 5)), short);
    expect(response.batchItemFailures).toHaveLength(20);
  });
});

describe('sets that only grow are bounded', () => {
  it(`a foundation model used by more accounts than ${MAX_SET_MEMBERS}: the set stops there, says so, and later events still write`, async () => {
    const table = await freshTable();
    const handler = localClassifierHandler(db, table);
    const accounts = Array.from({ length: MAX_SET_MEMBERS + 200 }, (_, i) => String(100000000000 + i));
    const calls = accounts.map((account, i) => {
      const r = invocations(1, 1)[0] as Record<string, unknown> & { userIdentity: Record<string, unknown> };
      return { ...r, eventID: `acct-${i}`, eventTime: new Date(Date.parse('2024-10-01T12:00:00Z') + i * 1000).toISOString(), recipientAccountId: account, userIdentity: { ...r.userIdentity, accountId: account, arn: `arn:aws:iam::${account}:user/app` } };
    });
    for (let i = 0; i < calls.length; i += 300) expect(await handler(sqs(calls.slice(i, i + 300)), context)).toEqual({ batchItemFailures: [] });
    const model = (await scanTable(db.documents, table)).find((i) => i.kind === 'foundation-model')!;
    expect((model.usedByAccounts as Set<string>).size).toBe(MAX_SET_MEMBERS);
    expect(model.usedByAccountsTruncated).toBe(true);
    const later = { ...calls[0], eventID: 'later', eventTime: '2024-10-03T00:00:00Z' };
    expect(await handler(sqs([later]), context)).toEqual({ batchItemFailures: [] });
  });
});

describe('two different records with one eventID', () => {
  it('end in the same state whichever arrives first, in one batch or two', async () => {
    const base = (await import('../helpers')).documentedRecord('CreateEndpoint');
    const other = { ...structuredClone(base), requestParameters: { ...(base.requestParameters as object), endpointConfigName: 'another-config' } };
    const states: unknown[] = [];
    for (const deliveries of [[[base], [other]], [[other], [base]], [[base, other]], [[other, base]]]) {
      const table = await freshTable();
      const handler = localClassifierHandler(db, table);
      for (const batch of deliveries) expect(await handler(sqs(batch), context)).toEqual({ batchItemFailures: [] });
      const endpoint = (await scanTable(db.documents, table)).find((i) => i.kind === 'inference-endpoint')!;
      const { rev: _writes, ...rest } = endpoint;
      states.push(rest);
    }
    expect(states[1]).toEqual(states[0]);
    expect(states[2]).toEqual(states[0]);
    expect(states[3]).toEqual(states[0]);
  });
});
