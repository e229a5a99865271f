/**
 * An embedded DynamoDB for the replay and the tests: dynalite (a DynamoDB API server backed by
 * an in-memory LevelDB) listening on loopback, with the inventory table created from the same
 * key design the CDK construct deploys (lambdas/shared/table-schema.ts).
 */
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INDEXES, PARTITION_KEY, PROJECTED_ATTRIBUTES, SORT_KEY } from '../../lambdas/shared/table-schema';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../names';

export { LOCAL_CREDENTIALS, LOCAL_REGION };

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  createInventoryTable(tableName: string): Promise<void>;
  /** Drop the table if it exists and create it empty. */
  resetInventoryTable(tableName: string): Promise<void>;
  hasTable(tableName: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Start dynalite on a free loopback port. With `path`, the data lives in a LevelDB directory
 * there and outlasts the process (the CLI's `agent` command reads what `replay` wrote);
 * without, in memory.
 */
export async function startLocalDynamoDb(options: { path?: string } = {}): Promise<LocalDynamoDb> {
  const release = options.path ? await prepareStore(options.path) : () => undefined;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const db: LocalDynamoDb = {
    endpoint,
    client,
    documents,
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
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      release();
    },
  };
  return db;
}

export { StoreError } from './store-files';
import { lockStore, StoreError } from './store-files';

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
    const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new StoreError(`the store ${path} cannot be opened (${cause}): it is corrupt or in use; remove it to start afresh`);
  }
  return release;
}
