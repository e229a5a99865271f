/**
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD`: a write whose condition fails returns the item
 * as it stood (DynamoDB API Reference, PutItem, UpdateItem, DeleteItem). The inventory store's
 * slow path (an older event, a write that lost a race) merges into that item instead of reading
 * it again; where the answer carries no item (none exists, or dynalite over HTTP, which does not
 * know the member) it reads, as before. Both give the same items.
 */
import { ConditionalCheckFailedException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lambdas/shared/dynamodb';
import { createInventoryStore, type EntityWrite } from '../../lambdas/shared/inventory-store';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';

const TABLE = 'condition-failure-item';

async function withStore<T>(transport: 'http' | 'in-process', work: (db: LocalDynamoDb) => Promise<T>): Promise<T> {
  const db = await startLocalDynamoDb({ transport });
  try {
    await db.createInventoryTable(TABLE);
    return await work(db);
  } finally {
    await db.close();
  }
}

/** The error a write raises, or undefined when it succeeds. */
async function failure(send: () => Promise<unknown>): Promise<(Error & { Item?: unknown }) | undefined> {
  try {
    await send();
    return undefined;
  } catch (error) {
    return error as Error & { Item?: unknown };
  }
}

const key = { pk: 'RESOURCE#arn:aws:bedrock:us-east-1:111122223333:guardrail/g1', sk: 'META' };
const stored = { ...key, entity: 'resource', kind: 'guardrail', rev: 3, tags: new Set(['a', 'b']), nested: { list: [1, 'x'] } };

describe('a failed condition in process', () => {
  it('carries the item as it stood, marshalled as the SDK leaves it, for puts, updates and deletes', async () => {
    await withStore('in-process', async (db) => {
      const documents = documentClient(db.client);
      await documents.send(new PutCommand({ TableName: TABLE, Item: stored }));
      const asStored = (await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key.pk }, sk: { S: key.sk } }, ConsistentRead: true }))).Item;
      expect(asStored?.tags).toEqual({ SS: ['a', 'b'] });
      const refused = { ConditionExpression: 'rev = :old', ExpressionAttributeValues: { ':old': 2 }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const };
      const errors = [
        await failure(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET kind = :k', ...refused, ExpressionAttributeValues: { ':old': 2, ':k': 'model' } }))),
        await failure(() => documents.send(new PutCommand({ TableName: TABLE, Item: { ...key, kind: 'model' }, ...refused }))),
        await failure(() => documents.send(new DeleteCommand({ TableName: TABLE, Key: key, ...refused }))),
      ];
      for (const error of errors) {
        expect(error).toBeInstanceOf(ConditionalCheckFailedException);
        expect(error?.message).toBe('The conditional request failed');
        expect(error?.Item).toEqual(asStored);
      }
      // Nothing was written by the refused writes.
      expect((await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key.pk }, sk: { S: key.sk } } }))).Item).toEqual(asStored);
    });
  });

  it('carries no item when none was asked for, when none exists, or when the write succeeds', async () => {
    await withStore('in-process', async (db) => {
      const documents = documentClient(db.client);
      await documents.send(new PutCommand({ TableName: TABLE, Item: stored }));
      const notAsked = await failure(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET kind = :k', ConditionExpression: 'rev = :old', ExpressionAttributeValues: { ':old': 2, ':k': 'x' } })));
      const none = await failure(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET kind = :k', ConditionExpression: 'rev = :old', ExpressionAttributeValues: { ':old': 2, ':k': 'x' }, ReturnValuesOnConditionCheckFailure: 'NONE' })));
      const absent = await failure(() =>
        documents.send(new UpdateCommand({ TableName: TABLE, Key: { pk: 'RESOURCE#absent', sk: 'META' }, UpdateExpression: 'SET kind = :k', ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeValues: { ':k': 'x' }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' })),
      );
      for (const error of [notAsked, none, absent]) {
        expect(error).toBeInstanceOf(ConditionalCheckFailedException);
        expect(error?.Item).toBeUndefined();
      }
      const ok = await documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET kind = :k', ConditionExpression: 'rev = :rev', ExpressionAttributeValues: { ':rev': 3, ':k': 'y' }, ReturnValues: 'UPDATED_NEW', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
      expect(ok.Attributes).toEqual({ kind: 'y' });
    });
  });

  it('refuses a value DynamoDB does not take, as DynamoDB words it', async () => {
    await withStore('in-process', async (db) => {
      const documents = documentClient(db.client);
      const error = await failure(() =>
        documents.send(new PutCommand({ TableName: TABLE, Item: stored, ReturnValuesOnConditionCheckFailure: 'ALL_NEW' as never })),
      );
      expect(error?.name).toBe('ValidationException');
      expect(error?.message).toBe("1 validation error detected: Value 'ALL_NEW' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]");
    });
  });

  it('over HTTP, dynalite drops the member: the refusal carries no item', async () => {
    await withStore('http', async (db) => {
      const documents = documentClient(db.client);
      await documents.send(new PutCommand({ TableName: TABLE, Item: stored }));
      const error = await failure(() => documents.send(new PutCommand({ TableName: TABLE, Item: stored, ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' })));
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error?.Item).toBeUndefined();
    });
  });
});

const order = (time: string, eventId: string) => ({ time, eventId, contentHash: `hash-${eventId}` });
function entityWrite(time: string, eventId: string, status: string, account: string): EntityWrite {
  const at = order(time, eventId);
  return {
    key,
    head: at,
    first: at,
    latest: { entity: 'resource', status },
    attributes: { guardrailVersion: { value: eventId, at: `${time}#${eventId}#hash-${eventId}` } },
    earliest: { firstEventName: eventId },
    fill: { kind: 'guardrail' },
    sticky: {},
    addToSet: { accounts: [account] },
    onlyIfKnown: false,
  };
}

/**
 * A document client whose first guarded merge write (`rev = :v`) loses a race: another writer
 * changes the item just before it.
 */
function racing(documents: DynamoDBDocumentClient): DynamoDBDocumentClient {
  let raced = false;
  const send = documents.send.bind(documents) as (command: unknown) => Promise<unknown>;
  return new Proxy(documents, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: { input?: { ConditionExpression?: string } }) => {
        if (!raced && command instanceof UpdateCommand && /^rev = /.test(command.input.ConditionExpression ?? '')) {
          raced = true;
          await send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET rival = :o ADD rev :one', ExpressionAttributeValues: { ':o': 'the other writer', ':one': 1 } }));
        }
        return send(command);
      };
    },
  });
}

describe('the inventory store on a refused write', () => {
  /** Newer, then older (the slow path), then an older one racing another writer. */
  async function history(transport: 'http' | 'in-process') {
    return withStore(transport, async (db) => {
      const store = createInventoryStore(racing(documentClient(db.client)), TABLE);
      const outcomes = [await store.writeEntity(entityWrite('2026-11-30T10:00:00Z', 'e2', 'active', '111122223333'))];
      const before = { ...store.stats };
      outcomes.push(await store.writeEntity(entityWrite('2026-11-30T09:00:00Z', 'e1', 'creating', '444455556666')));
      outcomes.push(await store.writeEntity(entityWrite('2026-11-30T08:00:00Z', 'e0', 'creating', '777788889999')));
      const slowPath = { readUnits: store.stats.readUnits - before.readUnits, conditionalFailures: store.stats.conditionalFailures - before.conditionalFailures };
      const item = (await db.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key.pk }, sk: { S: key.sk } }, ConsistentRead: true }))).Item;
      return { outcomes, slowPath, item };
    });
  }

  it('merges into the item the refusal carries, with no read, and ends where reading ends', async () => {
    const inProcess = await history('in-process');
    const http = await history('http');
    expect(inProcess.outcomes).toEqual(['created', 'merged', 'merged']);
    expect(inProcess.item).toEqual(http.item);
    expect(inProcess.item).toMatchObject({
      status: { S: 'active' },
      firstEventName: { S: 'e0' },
      rival: { S: 'the other writer' },
      accounts: { SS: expect.arrayContaining(['111122223333', '444455556666', '777788889999']) },
    });
    // Three refusals: two older events' fast paths and the merge write that lost the race.
    expect(inProcess.slowPath.conditionalFailures).toBe(3);
    expect(http.slowPath.conditionalFailures).toBe(3);
    // In process each refusal carried the item; over HTTP each took a consistent read.
    expect(inProcess.slowPath.readUnits).toBe(0);
    expect(http.slowPath.readUnits).toBeGreaterThanOrEqual(3);
  });
});
