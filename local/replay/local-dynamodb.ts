/**
 * An embedded DynamoDB for the replay and the tests: dynalite (a DynamoDB API server backed by
 * an in-memory LevelDB), with the inventory table created from the same key design the CDK
 * construct deploys (lambdas/shared/table-schema.ts). Two transports to the same dynalite:
 * - `http` (the default): its server on loopback, reached through the AWS SDK as a deployed
 *   function reaches DynamoDB (the tests run the SDK's whole path);
 * - `in-process`: its validation and actions called in this process with the API's request
 *   documents (in-process-dynamodb.ts), no HTTP round trip: the replay's transport.
 */
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { BatchGetItemCommand, CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INDEXES, PARTITION_KEY, PROJECTED_ATTRIBUTES, SORT_KEY } from '../../lambdas/shared/table-schema';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../names';
import type { WriteWrapper } from './in-process-dynamodb';

export { LOCAL_CREDENTIALS, LOCAL_REGION };

export interface LocalDynamoDb {
  /** The HTTP endpoint (`in-process` for the in-process transport, which has none). */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  createInventoryTable(tableName: string): Promise<void>;
  /** Drop the table if it exists and create it empty. */
  resetInventoryTable(tableName: string): Promise<void>;
  hasTable(tableName: string): Promise<boolean>;
  /** Consistent reads by key (marshalled), as BatchGetItem returns them: the local stream's images. */
  readImages(tableName: string, keys: ReadonlyArray<Record<string, AttributeValue>>): Promise<Array<Record<string, AttributeValue>>>;
  /** Wrap every write the functions' clients make (PutItem, UpdateItem, DeleteItem, BatchWriteItem); returns the removal. */
  onWrite(wrapper: WriteWrapper): () => void;
  /**
   * In process only: a count of the writes that may have changed an index partition (items
   * whose `attribute` is `value`, before or after the write); while it stands, a query of the
   * partition answers as before (in-process-dynamodb.ts).
   */
  readonly partitionChanges?: (tableName: string, attribute: string, value: string) => () => number;
  close(): Promise<void>;
}

export type { WriteWrapper };
export type Transport = 'http' | 'in-process';

/** The parts of a store each transport makes its own way. */
interface Connection {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  onWrite(wrapper: WriteWrapper): () => void;
  partitionChanges?(tableName: string, attribute: string, value: string): () => number;
  close(): Promise<void>;
}

/** dynalite's server on a free loopback port, and an SDK client for it. */
async function overHttp(path: string | undefined): Promise<Connection> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  let wrappers = 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    client,
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    onWrite(wrapper) {
      const name = `localWrites:${wrappers++}`;
      client.middlewareStack.add(
        (next, context) => (args) => (WRITE_COMMANDS.has(context.commandName ?? '') ? wrapper(context.commandName ?? '', args.input as Record<string, unknown>, () => next(args)) : next(args)),
        // The build step sees the command's marshalled input (after the document client's marshalling).
        { step: 'build', name },
      );
      return () => void client.middlewareStack.remove(name);
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);

/**
 * Start dynalite, over loopback HTTP (the default) or in this process. With `path`, the data
 * lives in a LevelDB directory there and outlasts the process (the CLI's `agent` command reads
 * what `replay` wrote); without, in memory. With `resetTable`, that inventory table starts empty
 * (made, or emptied: over HTTP deleted and made again; in process its stored entries are not
 * loaded, and are cleared from the directory when the store closes).
 */
export async function startLocalDynamoDb(options: { path?: string; transport?: Transport; resetTable?: string } = {}): Promise<LocalDynamoDb> {
  // In process, the store's LevelDB is opened to load it (an error there is the same StoreError).
  const release = !options.path ? () => undefined : options.transport === 'in-process' ? lockStore(options.path) : await prepareStore(options.path);
  let connection: Connection;
  try {
    connection = options.transport === 'in-process' ? { endpoint: 'in-process', ...(await (await import('./in-process-dynamodb')).startInProcessDynamoDb({ path: options.path, dropTable: options.resetTable })) } : await overHttp(options.path);
  } catch (error) {
    release();
    throw error;
  }
  const { client, documents } = connection;
  const db: LocalDynamoDb = {
    endpoint: connection.endpoint,
    client,
    documents,
    onWrite: (wrapper) => connection.onWrite(wrapper),
    ...(connection.partitionChanges ? { partitionChanges: connection.partitionChanges.bind(connection) } : {}),
    async readImages(tableName, keys) {
      const found: Array<Record<string, AttributeValue>> = [];
      let pending = [...keys];
      while (pending.length > 0) {
        const out = await client.send(new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
        found.push(...(out.Responses?.[tableName] ?? []));
        pending = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
      }
      return found;
    },
    async createInventoryTable(tableName) {
      const indexes = Object.values(INDEXES);
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [PARTITION_KEY, SORT_KEY, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])].map((AttributeName) => ({
            AttributeName,
            AttributeType: 'S',
          })),
          KeySchema: [
            { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
            { AttributeName: SORT_KEY, KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: indexes.map((i) => ({
            IndexName: i.indexName,
            KeySchema: [
              { AttributeName: i.partitionKey, KeyType: 'HASH' },
              { AttributeName: i.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...PROJECTED_ATTRIBUTES] },
          })),
        }),
      );
      // Creation completes asynchronously, even in dynalite: wait for the table and its indexes.
      for (let i = 0; i < 500; i++) {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
        if (Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`table ${tableName} did not become active`);
    },
    async resetInventoryTable(tableName) {
      if (await db.hasTable(tableName)) {
        await client.send(new DeleteTableCommand({ TableName: tableName }));
        // Deletion completes asynchronously, even in dynalite.
        for (let i = 0; i < 200 && (await db.hasTable(tableName)); i++) await new Promise((r) => setTimeout(r, 10));
      }
      await db.createInventoryTable(tableName);
    },
    async hasTable(tableName) {
      return ((await client.send(new ListTablesCommand({}))).TableNames ?? []).includes(tableName);
    },
    async close() {
      try {
        await connection.close();
      } finally {
        release();
      }
    },
  };
  if (options.resetTable) {
    try {
      // In process the table was left out of the load (dropTable): it only needs making.
      if (options.transport === 'in-process') await db.createInventoryTable(options.resetTable);
      else await db.resetInventoryTable(options.resetTable);
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}

export { StoreError } from './store-files';
import { lockStore, unopenableStore } from './store-files';

/**
 * Make sure a store directory can be used, and hold it: it must be a directory (or be creatable
 * as one), no other command may be using it (a lock file with the holder's process id; a stale
 * one is taken over), and its LevelDB must open (dynalite opens it lazily and reports a
 * corrupt or locked database only as an uncaught error). Resolves to the lock's release.
 */
async function prepareStore(path: string): Promise<() => void> {
  const release = lockStore(path);
  try {
    // dynalite's own LevelDB, opened and closed once to see that it can be (level is its dependency).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Level } = require(require.resolve('level', { paths: [dirname(require.resolve('dynalite'))] })) as { Level: new (p: string) => { open(): Promise<void>; close(): Promise<void> } };
    const db = new Level(path);
    await db.open();
    await db.close();
  } catch (error) {
    release();
    throw unopenableStore(path, error);
  }
  return release;
}
