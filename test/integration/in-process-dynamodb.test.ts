/**
 * The replay's in-process transport to dynalite (local/replay/in-process-dynamodb.ts) against
 * the HTTP one through the AWS SDK: the same requests get the same answers and the same errors,
 * and the replay reports the same on every bundled fixture, each file alone and all together,
 * in both agent capture modes.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, GetCommand, NumberValue, paginateQuery, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lambdas/shared/dynamodb';
import { expressionCacheStats } from '../../local/replay/in-process-dynamodb';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { replay, type ReplayOptions } from '../../local/replay/replay';
import { BUNDLED_SAMPLES } from '../../bin/cli';
import { cliRunner, comparableReport as comparable, useTempDirs } from '../support';
import { seededRandom } from '../helpers';

const TABLE = 'transports';
const temp = useTempDirs();


/** A scripted session against one store: every answer, or the error's class, name and message. */
async function session(db: LocalDynamoDb): Promise<unknown[]> {
  const documents = documentClient(db.client);
  const answers: unknown[] = [];
  const step = async (work: () => Promise<unknown>) => {
    try {
      const out = (await work()) as Record<string, unknown> | undefined;
      const { $metadata: _m, ...rest } = out ?? {};
      answers.push(rest);
    } catch (error) {
      const e = error as Error;
      answers.push({ error: e.name, message: e.message, conditional: error instanceof ConditionalCheckFailedException });
    }
  };
  const key = { pk: 'RESOURCE#arn:aws:bedrock:us-east-1::foundation-model/x', sk: 'META' };
  await step(() => documents.send(new PutCommand({ TableName: TABLE, Item: { ...key, entity: 'resource', kind: 'model', gsi1pk: 'KIND#model', gsi1sk: 'b', notProjected: 'x', tags: new Set(['a']), n: 1 }, ConditionExpression: 'attribute_not_exists(pk)', ReturnConsumedCapacity: 'TOTAL' })));
  await step(() => documents.send(new PutCommand({ TableName: TABLE, Item: { ...key, entity: 'resource' }, ConditionExpression: 'attribute_not_exists(pk)' })));
  await step(() =>
    documents.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: key,
        UpdateExpression: 'SET #a = :a, #b = if_not_exists(#b, :b), #l = list_append(if_not_exists(#l, :empty), :l) ADD #t :t, n :one REMOVE notThere',
        ConditionExpression: 'attribute_exists(pk) AND n < :two AND begins_with(kind, :m) AND size(tags) <= :two',
        ExpressionAttributeNames: { '#a': 'status', '#b': 'firstSeen', '#t': 'tags', '#l': 'history' },
        ExpressionAttributeValues: { ':a': 'active', ':b': '2025-01-01T00:00:00Z', ':t': new Set(['b', 'c']), ':one': 1, ':two': 2, ':m': 'mo', ':l': [{ at: 1 }], ':empty': [] },
        ReturnValues: 'ALL_NEW',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    ),
  );
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :wrong', ExpressionAttributeValues: { ':n': 5, ':wrong': 99 } })));
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': 5, ':unused': 1 } })));
  await step(() => documents.send(new PutCommand({ TableName: TABLE, Item: { pk: 'P', sk: 'big', blob: 'x'.repeat(410 * 1024) } })));
  await step(() => documents.send(new PutCommand({ TableName: TABLE, Item: { pk: 'P', sk: 'empty-set', s: new Set() } })));
  const items = Array.from({ length: 30 }, (_, i) => ({ PutRequest: { Item: { pk: 'P', sk: `S#${String(i).padStart(2, '0')}`, i, entity: 'finding', gsi1pk: 'KIND#model', gsi1sk: `a${i % 3}`, rule: `r${i}` } } }));
  await step(() => documents.send(new BatchWriteCommand({ RequestItems: { [TABLE]: items.slice(0, 25) } })));
  await step(() => documents.send(new BatchWriteCommand({ RequestItems: { [TABLE]: items.slice(25) } })));
  await step(() => documents.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true })));
  await step(() => documents.send(new GetCommand({ TableName: TABLE, Key: { pk: 'none', sk: 'none' } })));
  await step(() => documents.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':pk': 'P', ':a': 'S#05', ':b': 'S#20' }, ScanIndexForward: false, Limit: 4 })));
  await step(() => documents.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', FilterExpression: 'i > :i', ExpressionAttributeValues: { ':pk': 'P', ':p': 'S#1', ':i': 14 } })));
  const pages: unknown[] = [];
  for await (const page of paginateQuery({ client: documents, pageSize: 7 }, { TableName: TABLE, IndexName: 'byKind', KeyConditionExpression: 'gsi1pk = :k', ExpressionAttributeValues: { ':k': 'KIND#model' } })) pages.push(page.Items);
  answers.push(pages);
  // BatchGetItem returns items in no set order ("the order of the items in the response is not
  // guaranteed": DynamoDB API Reference, BatchGetItem), and dynalite's differs run to run: by key.
  await step(async () => {
    const out = await documents.send(new BatchGetCommand({ RequestItems: { [TABLE]: { Keys: [key, { pk: 'P', sk: 'S#03' }, { pk: 'P', sk: 'missing' }], ConsistentRead: true } } }));
    const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => `${a.pk} ${a.sk}`.localeCompare(`${b.pk} ${b.sk}`);
    return { ...out, Responses: { [TABLE]: [...(out.Responses?.[TABLE] ?? [])].sort(byKey) } };
  });
  // The same expressions again with other values: the in-process store parses an expression
  // once (expression-cache.ts), so these are its cache's answers, which must be the parser's.
  await step(() => documents.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':pk': 'P', ':a': 'S#21', ':b': 'S#29' }, ScanIndexForward: false, Limit: 4 })));
  await step(() => documents.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':pk': 'P', ':a': 'S#20', ':b': 'S#05' }, ScanIndexForward: false, Limit: 4 })));
  await step(() => documents.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':pk': 'P', ':a': 1, ':b': 2 }, ScanIndexForward: false, Limit: 4 })));
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :wrong', ExpressionAttributeValues: { ':n': 6, ':wrong': 3 }, ReturnValues: 'ALL_NEW' })));
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :wrong', ExpressionAttributeValues: { ':n': NumberValue.from('1e200'), ':wrong': 6 } })));
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :wrong', ExpressionAttributeValues: { ':n': NumberValue.from('007.50'), ':wrong': 6 }, ReturnValues: 'ALL_NEW' })));
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET n = :n', ConditionExpression: 'n = :wrong', ExpressionAttributeValues: { ':n': 'text', ':wrong': 7.5 }, ReturnValues: 'UPDATED_NEW' })));
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET #l = list_append(#l, :l)', ExpressionAttributeNames: { '#l': 'history' }, ExpressionAttributeValues: { ':l': [{ at: 2 }] }, ReturnValues: 'ALL_NEW' })));
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET #l = list_append(#l, :l)', ExpressionAttributeNames: { '#l': 'history' }, ExpressionAttributeValues: { ':l': [{ at: 3 }, 'x'] }, ReturnValues: 'ALL_NEW' })));
  await step(() => documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET #l = list_append(#l, :l)', ExpressionAttributeNames: { '#l': 'history' }, ExpressionAttributeValues: { ':l': 'not a list' } })));
  for (const type of ['S', 'N', 'SS', 'NOPE']) {
    await step(() => documents.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', FilterExpression: 'attribute_type(kind, :t)', ExpressionAttributeValues: { ':pk': key.pk, ':t': type } })));
  }
  await step(() => documents.send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'P', sk: 'S#00' }, ReturnValues: 'ALL_OLD' })));
  await step(() => documents.send(new ScanCommand({ TableName: TABLE })));
  await step(() => documents.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk AND nope(sk)', ExpressionAttributeValues: { ':pk': 'P' } })));
  return answers;
}

describe('dynalite in process', () => {
  it('answers every request as dynalite over HTTP does, errors included', async () => {
    const results: unknown[][] = [];
    const hitsBefore = expressionCacheStats().hits;
    for (const transport of ['http', 'in-process'] as const) {
      const db = await startLocalDynamoDb({ transport });
      try {
        await db.createInventoryTable(TABLE);
        results.push(await session(db));
      } finally {
        await db.close();
      }
    }
    const [http, inProcess] = results;
    expect(inProcess).toEqual(http);
    // The in-process answers came from parses reused, not only from parsing.
    expect(expressionCacheStats().hits).toBeGreaterThan(hitsBefore);
    // The session meant something: a failed condition as the SDK's class, a validation error, items read back.
    expect(http).toContainEqual(expect.objectContaining({ error: 'ConditionalCheckFailedException', conditional: true }));
    expect(http).toContainEqual(expect.objectContaining({ error: 'ValidationException' }));
    expect(JSON.stringify(http)).toContain('"status":"active"');
  }, 60_000);

  it('keeps its table in a store directory, as the HTTP server does', async () => {
    const path = temp.dir('ai-visibility-in-process-store-');
    const writer = await startLocalDynamoDb({ path, transport: 'in-process' });
    await writer.createInventoryTable(TABLE);
    await documentClient(writer.client).send(new PutCommand({ TableName: TABLE, Item: { pk: 'K', sk: 'S', v: 1 } }));
    await writer.close();
    const reader = await startLocalDynamoDb({ path });
    try {
      expect((await reader.documents.send(new GetCommand({ TableName: TABLE, Key: { pk: 'K', sk: 'S' } }))).Item).toEqual({ pk: 'K', sk: 'S', v: 1 });
    } finally {
      await reader.close();
    }
  });
});

describe('partitionChanges', () => {
  it('counts every write that may change an index partition: while the count stands, the query answers as before', async () => {
    const db = await startLocalDynamoDb({ transport: 'in-process' });
    try {
      await db.createInventoryTable(TABLE);
      const documents = documentClient(db.client);
      const changes = db.partitionChanges!(TABLE, 'gsi1pk', 'WATCH');
      const otherTable = db.partitionChanges!('another-table', 'gsi1pk', 'WATCH');
      const query = async () =>
        JSON.stringify(
          (await documents.send(new QueryCommand({ TableName: TABLE, IndexName: 'byKind', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': 'WATCH' } }))).Items,
        );
      // Random writes over a few items, in and out of the partition, by every kind of write.
      const next = seededRandom(4242);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
      const partitions = ['WATCH', 'KIND#model', undefined];
      let before = await query();
      let counted = changes();
      let standing = 0;
      const kinds = new Set<string>();
      for (let i = 0; i < 400; i++) {
        const key = { pk: `K${Math.floor(next() * 4)}`, sk: 'STATE' };
        const gsi1pk = pick(partitions);
        const kind = pick(['put', 'update-set', 'update-remove', 'update-other', 'delete', 'batch-put', 'batch-delete', 'conditional-fail']);
        kinds.add(kind);
        const item = { ...key, v: i, ...(gsi1pk ? { gsi1pk, gsi1sk: `s${i % 5}` } : {}) };
        try {
          if (kind === 'put') await documents.send(new PutCommand({ TableName: TABLE, Item: item }));
          else if (kind === 'update-set' && gsi1pk) await documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET gsi1pk = :p, gsi1sk = :s', ExpressionAttributeValues: { ':p': gsi1pk, ':s': `s${i % 5}` } }));
          else if (kind === 'update-remove') await documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'REMOVE gsi1pk' }));
          else if (kind === 'update-other') await documents.send(new UpdateCommand({ TableName: TABLE, Key: key, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': i } }));
          else if (kind === 'delete') await documents.send(new DeleteCommand({ TableName: TABLE, Key: key }));
          else if (kind === 'batch-put') await documents.send(new BatchWriteCommand({ RequestItems: { [TABLE]: [{ PutRequest: { Item: item } }] } }));
          else if (kind === 'batch-delete') await documents.send(new BatchWriteCommand({ RequestItems: { [TABLE]: [{ DeleteRequest: { Key: key } }] } }));
          else if (kind === 'conditional-fail') await documents.send(new PutCommand({ TableName: TABLE, Item: item, ConditionExpression: 'attribute_not_exists(pk) AND attribute_exists(pk)' }));
        } catch (error) {
          expect(error).toBeInstanceOf(ConditionalCheckFailedException);
        }
        const after = await query();
        const count = changes();
        if (count === counted) {
          standing++;
          expect(after).toBe(before);
        }
        before = after;
        counted = count;
      }
      // Both happened: writes that could not change the partition, and writes that did.
      expect(standing).toBeGreaterThan(50);
      expect(counted).toBeGreaterThan(50);
      expect(kinds.size).toBe(8);
      // A same-named watcher of another table counts nothing here.
      expect(otherTable()).toBe(0);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('is not offered over HTTP (the replay reads the watched principals after every delivery there)', async () => {
    const db = await startLocalDynamoDb({ transport: 'http' });
    try {
      expect(db.partitionChanges).toBeUndefined();
    } finally {
      await db.close();
    }
  });
});

describe('the in-process store directory', () => {
  it('loads what the HTTP server wrote, and writes back what it changed, deletes included', async () => {
    const path = temp.dir('ai-visibility-in-process-load-');
    const query = { TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'K' } };
    const first = await startLocalDynamoDb({ path, transport: 'http' });
    await first.createInventoryTable(TABLE);
    await first.documents.send(new PutCommand({ TableName: TABLE, Item: { pk: 'K', sk: 'S1', v: 1 } }));
    await first.documents.send(new PutCommand({ TableName: TABLE, Item: { pk: 'K', sk: 'S2', v: 2, entity: 'resource', kind: 'model', gsi1pk: 'KIND#model', gsi1sk: 'x' } }));
    await first.close();
    const second = await startLocalDynamoDb({ path, transport: 'in-process' });
    const documents = documentClient(second.client);
    expect((await documents.send(new QueryCommand(query))).Items).toEqual([
      { pk: 'K', sk: 'S1', v: 1 },
      { pk: 'K', sk: 'S2', v: 2, entity: 'resource', kind: 'model', gsi1pk: 'KIND#model', gsi1sk: 'x' },
    ]);
    await documents.send(new UpdateCommand({ TableName: TABLE, Key: { pk: 'K', sk: 'S1' }, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 3 } }));
    await documents.send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'K', sk: 'S2' } }));
    await documents.send(new PutCommand({ TableName: TABLE, Item: { pk: 'K', sk: 'S3', v: 4 } }));
    await second.close();
    const third = await startLocalDynamoDb({ path, transport: 'http' });
    try {
      expect((await third.documents.send(new QueryCommand(query))).Items).toEqual([
        { pk: 'K', sk: 'S1', v: 3 },
        { pk: 'K', sk: 'S3', v: 4 },
      ]);
      // The deleted item left its index too.
      expect((await third.documents.send(new QueryCommand({ TableName: TABLE, IndexName: 'byKind', KeyConditionExpression: 'gsi1pk = :k', ExpressionAttributeValues: { ':k': 'KIND#model' } }))).Items).toEqual([]);
    } finally {
      await third.close();
    }
  });
});

describe('a table reset as the store starts', () => {
  it('starts the table empty over either transport, leaves other tables alone, and the directory agrees', async () => {
    const results: unknown[] = [];
    for (const transport of ['http', 'in-process'] as const) {
      const path = temp.dir(`ai-visibility-reset-${transport}-`);
      const first = await startLocalDynamoDb({ path, transport: 'http' });
      for (const table of [TABLE, 'other-table']) {
        await first.createInventoryTable(table);
        await first.documents.send(new PutCommand({ TableName: table, Item: { pk: 'K', sk: 'S', entity: 'resource', kind: 'model', gsi1pk: 'KIND#model', gsi1sk: 'x' } }));
      }
      await first.close();
      const reset = await startLocalDynamoDb({ path, transport, resetTable: TABLE });
      const inReset = (await reset.documents.send(new ScanCommand({ TableName: TABLE }))).Items;
      await reset.documents.send(new PutCommand({ TableName: TABLE, Item: { pk: 'K2', sk: 'S', v: 1 } }));
      await reset.close();
      // Read back over HTTP, from the directory alone.
      const after = await startLocalDynamoDb({ path, transport: 'http' });
      try {
        const read = async (table: string, index?: string) =>
          (await after.documents.send(new QueryCommand({ TableName: table, ...(index ? { IndexName: index, KeyConditionExpression: 'gsi1pk = :k', ExpressionAttributeValues: { ':k': 'KIND#model' } } : { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'K' } }) }))).Items;
        results.push({ inReset, reset: await read(TABLE), resetIndex: await read(TABLE, 'byKind'), added: (await after.documents.send(new GetCommand({ TableName: TABLE, Key: { pk: 'K2', sk: 'S' } }))).Item, other: await read('other-table'), otherIndex: await read('other-table', 'byKind') });
      } finally {
        await after.close();
      }
    }
    const [http, inProcess] = results;
    expect(inProcess).toEqual(http);
    expect(http).toEqual({ inReset: [], reset: [], resetIndex: [], added: { pk: 'K2', sk: 'S', v: 1 }, other: [expect.objectContaining({ pk: 'K' })], otherIndex: [expect.objectContaining({ pk: 'K' })] });
  });
});

describe('the replay over either transport', () => {
  const files = ['ai', 'documented', 'non-ai'].flatMap((dir) => readdirSync(join(BUNDLED_SAMPLES, dir)).filter((f) => /\.(json|ndjson|gz)$/.test(f)).map((f) => join(BUNDLED_SAMPLES, dir, f)));
  const runs: Array<[string, readonly string[], ReplayOptions]> = [
    ['all the fixtures', [BUNDLED_SAMPLES], {}],
    ['all the fixtures, agent capture rules', [BUNDLED_SAMPLES], { agentCapture: 'rules' }],
    ['all the fixtures, with the notifier, the digest and Security Hub', [BUNDLED_SAMPLES], { digest: true, notify: () => undefined, securityHubBatch: () => undefined }],
    ...files.map((f): [string, readonly string[], ReplayOptions] => [f.slice(BUNDLED_SAMPLES.length + 1), [f], {}]),
  ];
  it.each(runs)('%s: the same report', async (_name, paths, options) => {
    const http = await replay(paths, { ...options, transport: 'http' });
    const inProcess = await replay(paths, { ...options, transport: 'in-process' });
    expect(comparable(inProcess as never)).toEqual(comparable(http as never));
  }, 120_000);
});

describe('--store-transport', () => {
  it('http gives the report the default gives; anything else is a usage error', async () => {
    const cli = cliRunner({ store: temp.dir('ai-visibility-transport-store-') });
    const sample = join(BUNDLED_SAMPLES, 'ai', 'sumologic-documentation__InvokeModel.json');
    const byDefault = await cli('replay', '--json', sample);
    const overHttp = await cli('replay', '--json', '--store-transport', 'http', sample);
    expect(byDefault.code).toBe(0);
    expect(overHttp.code).toBe(0);
    expect(comparable(JSON.parse(overHttp.stdout))).toEqual(comparable(JSON.parse(byDefault.stdout)));
    expect((JSON.parse(byDefault.stdout) as { inventory: unknown[] }).inventory.length).toBeGreaterThan(0);
    const wrong = await cli('replay', '--store-transport', 'tcp', sample);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--store-transport must be in-process or http');
  }, 60_000);
});
