/**
 * dynalite in the replay's own process: the same DynamoDB implementation the embedded server
 * runs (its request validation, expression parsers, condition checks, update rules, indexes and
 * LevelDB store), called with the DynamoDB API's own request and response documents, without
 * the HTTP round trip. Over loopback, each request costs the SDK's serialization, signing and
 * retry middleware and dynalite's HTTP parsing, about 0.3 ms of SDK time alone per call (the
 * replay makes about nine calls a captured event): docs/performance.md measures it.
 *
 * The functions reach it through the document client `documentClient()` hands them
 * (lambdas/shared/dynamodb.ts, OWN_DOCUMENT_CLIENT): a real DynamoDBDocumentClient whose `send`
 * marshals the command's input exactly as lib-dynamodb does (the command's own key nodes, the
 * same util-dynamodb functions and options), runs dynalite's validation and action for it, and
 * unmarshals the answer the same way. DynamoDB errors come back as the SDK's exception classes
 * (ConditionalCheckFailedException and the rest), so the handlers' error handling is the
 * deployed one. `test/integration/in-process-dynamodb.test.ts` holds the two transports to the
 * same answers, and the replay's `--json` to the same report.
 */
import { dirname, join } from 'node:path';
import * as ddb from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall, type marshallOptions } from '@aws-sdk/util-dynamodb';
import { OWN_DOCUMENT_CLIENT } from '../../lambdas/shared/dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../names';

type Json = Record<string, unknown>;
type Callback = (error: (Error & { statusCode?: number; body?: { __type?: string; message?: string } }) | null, data?: Json) => void;
interface DynaliteStore {
  db: { close(cb: (error?: Error) => void): void };
}

// dynalite ships no types; its modules are CommonJS (the same ones its HTTP server runs).
const DYNALITE = dirname(require.resolve('dynalite'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynaliteDb = require(join(DYNALITE, 'db')) as { create(options: Json): DynaliteStore };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validations = require(join(DYNALITE, 'validations')) as { checkTypes(data: Json, types: unknown): Json; checkValidations(data: Json, types: unknown, custom: unknown, store: DynaliteStore): void };

const OPERATIONS = ['BatchGetItem', 'BatchWriteItem', 'CreateTable', 'DeleteItem', 'DeleteTable', 'DescribeTable', 'GetItem', 'ListTables', 'PutItem', 'Query', 'Scan', 'UpdateItem'] as const;
type Operation = (typeof OPERATIONS)[number];
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const actions = new Map<Operation, { run: (store: DynaliteStore, data: Json, cb: Callback) => void; types: unknown; custom: unknown }>();
function actionOf(operation: Operation) {
  let action = actions.get(operation);
  if (!action) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const validation = require(join(DYNALITE, 'validations', lowerFirst(operation))) as { types: unknown; custom?: unknown };
    action = { run: require(join(DYNALITE, 'actions', lowerFirst(operation))), types: validation.types, custom: validation.custom };
    /* eslint-enable @typescript-eslint/no-require-imports */
    actions.set(operation, action);
  }
  return action;
}

/** The document commands the functions send, and the operation each is. */
const DOCUMENT_OPERATIONS = new Map<unknown, Operation>([
  [GetCommand, 'GetItem'],
  [PutCommand, 'PutItem'],
  [UpdateCommand, 'UpdateItem'],
  [DeleteCommand, 'DeleteItem'],
  [QueryCommand, 'Query'],
  [ScanCommand, 'Scan'],
  [BatchGetCommand, 'BatchGetItem'],
  [BatchWriteCommand, 'BatchWriteItem'],
]);
const LOW_LEVEL_OPERATIONS = new Map<unknown, Operation>([
  [ddb.GetItemCommand, 'GetItem'],
  [ddb.PutItemCommand, 'PutItem'],
  [ddb.UpdateItemCommand, 'UpdateItem'],
  [ddb.DeleteItemCommand, 'DeleteItem'],
  [ddb.QueryCommand, 'Query'],
  [ddb.ScanCommand, 'Scan'],
  [ddb.BatchGetItemCommand, 'BatchGetItem'],
  [ddb.BatchWriteItemCommand, 'BatchWriteItem'],
  [ddb.CreateTableCommand, 'CreateTable'],
  [ddb.DeleteTableCommand, 'DeleteTable'],
  [ddb.DescribeTableCommand, 'DescribeTable'],
  [ddb.ListTablesCommand, 'ListTables'],
]);
/** The SDK command name of each operation, as a middleware's context names it. */
export const commandNameOf = (operation: string) => `${operation}Command`;

// lib-dynamodb's traversal of a command's key nodes (dist-cjs/index.js processObj and friends),
// the same walk: only the members the command names are marshalled, the rest pass through.
type KeyNodes = Record<string, unknown> | null;
const NEXT_LEVEL = '*';
function processObj(obj: unknown, fn: (v: unknown) => unknown, keyNodes: KeyNodes | undefined): unknown {
  if (obj === undefined) return undefined;
  if (keyNodes == null) return fn(obj);
  const keys = Object.keys(keyNodes);
  if (keys.length === 1 && keys[0] === NEXT_LEVEL) {
    const acc: Record<string, unknown> | unknown[] = Array.isArray(obj) ? [] : {};
    for (const [k, v] of Object.entries(obj ?? {})) if (typeof v !== 'function') (acc as Record<string, unknown>)[k] = processObj(v, fn, keyNodes[NEXT_LEVEL] as KeyNodes);
    return acc;
  }
  if (keys.length === 0) return processAll(obj, fn);
  return processKeys(obj as Json, fn, keyNodes);
}
function processKeys(obj: Json, fn: (v: unknown) => unknown, keyNodes: Record<string, unknown>): Json {
  const acc: Json = Array.isArray(obj) ? (obj.filter((i) => typeof i !== 'function') as unknown as Json) : {};
  if (!Array.isArray(obj)) for (const [k, v] of Object.entries(obj)) if (typeof v !== 'function') acc[k] = v;
  for (const [key, nodes] of Object.entries(keyNodes)) {
    if (typeof obj[key] === 'function') continue;
    const value = processObj(obj[key], fn, nodes as KeyNodes);
    if (value !== undefined && typeof value !== 'function') acc[key] = value;
  }
  return acc;
}
function processAll(obj: unknown, fn: (v: unknown) => unknown): unknown {
  if (Array.isArray(obj)) return obj.filter((i) => typeof i !== 'function').map((i) => processObj(i, fn, null));
  const acc: Json = {};
  for (const [k, v] of Object.entries(obj as Json)) {
    if (typeof v === 'function') continue;
    const value = processObj(v, fn, null);
    if (value !== undefined && typeof value !== 'function') acc[k] = value;
  }
  return acc;
}

/** A DynamoDB error as the SDK raises it from the service's answer. */
function sdkError(body: { __type?: string; message?: string } | undefined, fallback: Error): Error {
  const name = (body?.__type ?? '').split('#').pop() || 'InternalServerError';
  const message = body?.message ?? fallback.message ?? name;
  const Exception = (ddb as unknown as Record<string, unknown>)[name];
  if (typeof Exception === 'function' && (Exception as { prototype: unknown }).prototype instanceof ddb.DynamoDBServiceException) {
    return new (Exception as new (o: Json) => Error)({ message, $metadata: {} });
  }
  return new ddb.DynamoDBServiceException({ name, $fault: 'client', $metadata: {}, message });
}

/** Wraps each write (PutItem, UpdateItem, DeleteItem, BatchWriteItem) the table takes: the local stream reads around it. */
export type WriteWrapper = <T>(commandName: string, input: Json, write: () => Promise<T>) => Promise<T>;
const WRITES = new Set<Operation>(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

export interface InProcessDynamoDb {
  /** The DynamoDB API, in process: the operation's request document in, its response document out. */
  call(operation: Operation, input: Json): Promise<Json>;
  /** A DynamoDBClient for the functions: `documentClient()` hands them `documents` for it. */
  readonly client: ddb.DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  /** Add a wrapper around every write; returns its removal. */
  onWrite(wrapper: WriteWrapper): () => void;
  close(): Promise<void>;
}

/** Start dynalite's store in this process (in memory, or in the LevelDB directory `path`). */
export function startInProcessDynamoDb(options: { path?: string } = {}): InProcessDynamoDb {
  const store = dynaliteDb.create({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  const wrappers: WriteWrapper[] = [];

  const raw = (operation: Operation, input: Json): Promise<Json> =>
    new Promise((resolve, reject) => {
      const action = actionOf(operation);
      // The request as it would arrive over the wire: members left undefined are absent.
      const data: Json = {};
      for (const [k, v] of Object.entries(input)) if (v !== undefined) data[k] = v;
      let checked: Json;
      try {
        checked = validations.checkTypes(data, action.types);
        validations.checkValidations(checked, action.types, action.custom, store);
      } catch (error) {
        const e = error as Error & { statusCode?: number; body?: { __type?: string; message?: string } };
        return reject(e.statusCode ? sdkError(e.body, e) : e);
      }
      action.run(store, checked, (error, out) => {
        if (error) return reject(error.statusCode ? sdkError(error.body, error) : error);
        resolve(out ?? {});
      });
    });

  const call = (operation: Operation, input: Json): Promise<Json> => {
    if (!WRITES.has(operation) || wrappers.length === 0) return raw(operation, input);
    let run = () => raw(operation, input);
    for (const wrap of wrappers) {
      const inner = run;
      run = () => wrap(commandNameOf(operation), input, inner);
    }
    return run();
  };

  const client = new ddb.DynamoDBClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: 'http://in-process.invalid' });
  const marshallOpts: marshallOptions = { removeUndefinedValues: true, convertTopLevelContainer: true };
  const unmarshallOpts = { convertWithoutMapWrapper: true };
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const sendDocument = async (command: { input: Json; inputKeyNodes: KeyNodes; outputKeyNodes: KeyNodes; constructor: unknown }) => {
    const operation = DOCUMENT_OPERATIONS.get(command.constructor);
    if (!operation) throw new Error(`the in-process DynamoDB does not serve ${(command.constructor as { name?: string }).name ?? 'this command'}`);
    const input = processKeys(command.input, (v) => marshall(v as Json, marshallOpts), command.inputKeyNodes ?? {});
    const output = await call(operation, input);
    return { ...processKeys(output, (v) => unmarshall(v as Record<string, ddb.AttributeValue>, unmarshallOpts), command.outputKeyNodes ?? {}), $metadata: {} };
  };
  const sendLowLevel = async (command: { input: Json; constructor: unknown }) => {
    const operation = LOW_LEVEL_OPERATIONS.get(command.constructor);
    if (!operation) throw new Error(`the in-process DynamoDB does not serve ${(command.constructor as { name?: string }).name ?? 'this command'}`);
    return { ...(await call(operation, command.input)), $metadata: {} };
  };
  // Real client instances (the paginators check the class), answering in process.
  (documents as unknown as { send: unknown }).send = sendDocument;
  (client as unknown as { send: unknown }).send = sendLowLevel;
  (client as unknown as Record<symbol, unknown>)[OWN_DOCUMENT_CLIENT] = documents;

  return {
    call,
    client,
    documents,
    onWrite(wrapper) {
      wrappers.push(wrapper);
      return () => {
        const i = wrappers.indexOf(wrapper);
        if (i >= 0) wrappers.splice(i, 1);
      };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        client.destroy();
        store.db.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
