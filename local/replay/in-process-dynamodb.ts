/**
 * dynalite in the replay's own process: the same DynamoDB implementation the embedded server
 * runs (its request validation, expression parsers, condition checks, update rules and indexes),
 * called with the DynamoDB API's own request and response documents, without the HTTP round
 * trip. Over loopback, each request costs the SDK's serialization, signing and retry middleware
 * and dynalite's HTTP parsing, about 0.3 ms of SDK time alone per call (the replay makes about
 * nine calls a captured event): docs/performance.md measures it.
 *
 * Under dynalite, its LevelDB's calls are answered from a SortedStore (sorted-store.ts): the
 * same keys, in the same order, with the same JSON values, without a promise, a thread-pool trip
 * and a setImmediate per call. With `path`, the store is loaded from dynalite's LevelDB there
 * when it starts and what changed is written back in one batch when it closes, so the HTTP
 * transport and the `agent` command read the same directory as before. Each expression text is
 * parsed once (expression-cache.ts): a hit answers what dynalite's parser would.
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
import { Readable } from 'node:stream';
import * as ddb from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall, type marshallOptions } from '@aws-sdk/util-dynamodb';
import { OWN_DOCUMENT_CLIENT } from '../../lambdas/shared/dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../names';
import { fastCheckTypes } from './check-types';
import { expressionCache } from './expression-cache';
import { compareKeys, SortedStore, type RangeOptions } from './sorted-store';
import { unopenableStore } from './store-files';

type Json = Record<string, unknown>;
type Callback = (error: (Error & { statusCode?: number; body?: { __type?: string; message?: string } }) | null, data?: Json) => void;
type Done = (error: Error | null, value?: unknown) => void;
/** dynalite's main LevelDB, as its db/index.js calls it (callbacks, and streams for ranges). */
interface DynaliteLevel {
  put(key: string, value: unknown, cb: Done): void;
  get(key: string, cb: Done): void;
  del(key: string, cb: Done): void;
  batch(operations: ReadonlyArray<{ type: 'put' | 'del'; key: string; value?: unknown }>, cb: Done): void;
  createKeyStream(options?: RangeOptions): Readable;
  createValueStream(options?: RangeOptions): Readable;
  close(cb: (error?: Error) => void): void;
}
type TableCallback = (error: Error | null, table?: Json) => void;
interface DynaliteStore {
  db: DynaliteLevel;
  getTable(name: string, checkStatus: boolean | TableCallback, cb?: TableCallback): void;
}

// dynalite ships no types; its modules are CommonJS (the same ones its HTTP server runs).
const DYNALITE = dirname(require.resolve('dynalite'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynaliteDb = require(join(DYNALITE, 'db')) as {
  create(options: Json): DynaliteStore;
  compare(op: 'GT', x: unknown, y: unknown): boolean;
  updateIndexes(store: unknown, table: { TableName: string }, existing: Json | null | undefined, item: Json | null | undefined, cb: Done): void;
  checkConditional(data: Json, existing: Json | undefined): (Error & { body?: Json }) | null | undefined;
};

/**
 * Writes counted by the index partition they may change (`partitionChanges`). dynalite's put,
 * update and delete actions (and batch writes, through them) call `db.updateIndexes` through the
 * module's exports with the item before and after, so each write of an item that is, or was, in
 * an index partition passes here. Counted by table name: a same-named table of another store
 * counts too, which only means a read that was not needed.
 */
const partitionWatchers = new Set<{ readonly table: string; readonly attribute: string; readonly value: string; count: number }>();
const updateIndexes = dynaliteDb.updateIndexes;
dynaliteDb.updateIndexes = function (store, table, existing, item, cb) {
  for (const w of partitionWatchers) {
    if (w.table !== table.TableName) continue;
    if ((existing?.[w.attribute] as { S?: unknown } | undefined)?.S === w.value || (item?.[w.attribute] as { S?: unknown } | undefined)?.S === w.value) w.count++;
  }
  return updateIndexes.call(this, store, table, existing, item, cb);
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validations = require(join(DYNALITE, 'validations')) as {
  checkTypes(data: Json, types: unknown): Json;
  checkValidations(data: Json, types: unknown, custom: unknown, store: DynaliteStore): void;
  validateExpressions(data: Json): string | undefined;
  validateAttributeValue(value: unknown): string | undefined;
};

// Expressions parsed once per text (expression-cache.ts), for in-process calls only: each
// operation's validation calls validations.validateExpressions through the module's exports,
// and dynalite's HTTP server in the same process (--store-transport http, the tests) keeps
// parsing every request, as it always did.
const parseEveryTime = validations.validateExpressions;
/** Its request type check, with a fast path for well-typed requests (check-types.ts). */
const checkTypes = fastCheckTypes(validations.checkTypes);
const parseOnce = expressionCache(parseEveryTime, validations.validateAttributeValue, dynaliteDb.compare);
let validatingInProcess = false;
/** How often the in-process store reused a parse, and parsed (for tests). */
export const expressionCacheStats = (): { hits: number; misses: number } => ({ ...parseOnce.stats });
validations.validateExpressions = (data) => (validatingInProcess ? parseOnce.validateExpressions(data) : parseEveryTime(data));

const OPERATIONS = ['BatchGetItem', 'BatchWriteItem', 'CreateTable', 'DeleteItem', 'DeleteTable', 'DescribeTable', 'GetItem', 'ListTables', 'PutItem', 'Query', 'Scan', 'UpdateItem'] as const;
type Operation = (typeof OPERATIONS)[number];
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const actions = new Map<Operation, { run: (store: DynaliteStore, data: Json, cb: Callback) => void; types: unknown; custom: unknown }>();
/**
 * The writes that take `ReturnValuesOnConditionCheckFailure` (DynamoDB API Reference, PutItem,
 * UpdateItem and DeleteItem: with ALL_OLD, a write whose condition fails returns the item as it
 * stood in its ConditionalCheckFailedException, "No read capacity units are consumed"). dynalite
 * does not know the member (architect/dynalite#182) and drops it with the rest it does not know;
 * in process it is typed as DynamoDB types it, and a failed condition carries the item.
 */
const RETURNS_ITEM_ON_FAILURE = new Set<Operation>(['PutItem', 'UpdateItem', 'DeleteItem']);
const RETURN_ON_FAILURE_TYPE = { ReturnValuesOnConditionCheckFailure: { type: 'String', enum: ['ALL_OLD', 'NONE'] } };
const checkConditional = dynaliteDb.checkConditional;
dynaliteDb.checkConditional = function (data, existing) {
  const error = checkConditional.call(this, data, existing);
  // Only in-process requests keep the member (dynalite's HTTP server drops it): its answer is unchanged.
  if (error?.body && existing && data.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') error.body.Item = existing;
  return error;
};

function actionOf(operation: Operation) {
  let action = actions.get(operation);
  if (!action) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const validation = require(join(DYNALITE, 'validations', lowerFirst(operation))) as { types: Json; custom?: unknown };
    const types = RETURNS_ITEM_ON_FAILURE.has(operation) ? { ...validation.types, ...RETURN_ON_FAILURE_TYPE } : validation.types;
    action = { run: require(join(DYNALITE, 'actions', lowerFirst(operation))), types, custom: validation.custom };
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
function sdkError(body: { __type?: string; message?: string; Item?: unknown } | undefined, fallback: Error): Error {
  const name = (body?.__type ?? '').split('#').pop() || 'InternalServerError';
  const message = body?.message ?? fallback.message ?? name;
  const Exception = (ddb as unknown as Record<string, unknown>)[name];
  if (typeof Exception === 'function' && (Exception as { prototype: unknown }).prototype instanceof ddb.DynamoDBServiceException) {
    // The item a failed condition returns (ReturnValuesOnConditionCheckFailure), as the SDK's
    // deserializer leaves it: marshalled, by the document client too (aws/aws-sdk-js-v3#6723).
    return new (Exception as new (o: Json) => Error)({ message, $metadata: {}, ...(body?.Item ? { Item: body.Item } : {}) });
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
  /**
   * How many writes so far had an item, before or after, whose string `attribute` (an index's
   * partition key) is `value`: while the count stands, a query of that index partition answers
   * as it did. Counted until the store closes.
   */
  partitionChanges(tableName: string, attribute: string, value: string): () => number;
  close(): Promise<void>;
}

/**
 * A stream of `count` items as dynalite's LevelDB streams hand them (object mode, in order), each
 * made when it is read: dynalite stops reading a query's values at its Limit (or 1 MB), so a
 * value past it is never parsed.
 */
function streamOf(count: number, item: (i: number) => unknown): Readable {
  let i = 0;
  return new Readable({
    objectMode: true,
    read() {
      while (i < count) if (!this.push(item(i++))) return;
      this.push(null);
    },
  });
}

/**
 * Answer dynalite's LevelDB calls from `sorted`: callbacks on the next tick (a LevelDB call is
 * never synchronous), a missing key read as undefined (abstract-level 3), ranges read at once
 * (a LevelDB iterator reads a snapshot). The main database's own methods are replaced: every
 * table, item and index database of dynalite's is a prefixed view of it.
 */
function answerFrom(level: DynaliteLevel, sorted: SortedStore): void {
  level.put = (key, value, cb) => {
    sorted.put(key, value);
    process.nextTick(cb, null);
  };
  level.get = (key, cb) => process.nextTick(cb, null, sorted.get(key));
  level.del = (key, cb) => {
    sorted.del(key);
    process.nextTick(cb, null);
  };
  level.batch = (operations, cb) => {
    for (const op of operations) if (op.type === 'put') sorted.put(op.key, op.value);
    else sorted.del(op.key);
    process.nextTick(cb, null);
  };
  level.createKeyStream = (o = {}) => {
    const keys = sorted.rangeKeys(o);
    return streamOf(keys.length, (i) => keys[i]);
  };
  level.createValueStream = (o = {}) => {
    // The values' texts as they are now (a LevelDB iterator reads a snapshot), parsed when read.
    const texts = sorted.rangeTexts(o);
    return streamOf(texts.length, (i) => JSON.parse(texts[i]));
  };
}

/** The operations that read their table's description and never change it (dynalite's actions for them). */
const ITEM_OPERATIONS = new Set<Operation>(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem']);

/**
 * dynalite reads its table's description (about 3 KB of JSON with the inventory table's indexes)
 * for every request, and BatchGetItem and BatchWriteItem once more for each of their items: on
 * the AI-dense corpus, 28,330 reads, 80 MB of JSON parsed. For the item operations
 * (ITEM_OPERATIONS: their actions only read it) it is parsed once per version of its text and
 * the same object handed to each; anything else (creating, describing, updating, deleting a
 * table; a table not found, or not active) goes to dynalite's own getTable. Returns the store the
 * item operations' actions run against: dynalite's, with this getTable, so that the reads their
 * actions make later (a batch's items, after the batch's own read) share it too.
 */
function shareTableDescriptions(store: DynaliteStore, sorted: SortedStore): DynaliteStore {
  const original = store.getTable.bind(store);
  const parsed = new Map<string, { text: string; table: Json }>();
  const shared = Object.create(store) as DynaliteStore;
  shared.getTable = (name, checkStatus, cb) => {
    const text = sorted.getText(`table~${name}`);
    if (text === undefined) return original(name, checkStatus, cb);
    let entry = parsed.get(name);
    if (entry?.text !== text) {
      entry = { text, table: JSON.parse(text) as Json };
      parsed.set(name, entry);
    }
    if (entry.table.TableStatus !== 'ACTIVE') return original(name, checkStatus, cb);
    process.nextTick((typeof checkStatus === 'function' ? checkStatus : cb)!, null, entry.table);
  };
  return shared;
}

/** dynalite's LevelDB directory (level is its dependency), opened with its keys and values as text. */
interface TextLevel {
  open(): Promise<void>;
  close(): Promise<void>;
  iterator(range?: KeyRange): AsyncIterable<[string, string]>;
  clear(range: KeyRange): Promise<void>;
  batch(operations: Array<{ type: 'put' | 'del'; key: string; value?: string }>): Promise<void>;
}
interface KeyRange {
  readonly gte?: string;
  readonly lt?: string;
}
function textLevel(path: string): TextLevel {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Level } = require(require.resolve('level', { paths: [DYNALITE] })) as { Level: new (p: string, o: Json) => TextLevel };
  // dynalite writes JSON values (valueEncoding 'json'): as text they are the same bytes.
  return new Level(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
}

/**
 * The keys of one table's entries in dynalite's LevelDB, as ranges in key order: its description
 * (`table~NAME`) and its item, index and tag databases (db/index.js getSubDb: `item-NAME~...`,
 * `index-global~NAME~...`, `index-local~NAME~...`, `tag-NAME~...`). A table name never holds `~`
 * (DynamoDB allows [a-zA-Z0-9_.-]), so no other table's key falls in them; `~` is 0x7E, so a
 * prefix's keys all sort below the prefix with 0x7F in its place.
 */
export function tableKeyRanges(table: string): Array<Required<KeyRange>> {
  const prefixes = [`index-global~${table}~`, `index-local~${table}~`, `item-${table}~`, `tag-${table}~`];
  return [...prefixes.map((p) => ({ gte: p, lt: `${p.slice(0, -1)}\x7f` })), { gte: `table~${table}`, lt: `table~${table}\x00` }].sort((a, b) => compareKeys(a.gte, b.gte));
}

/** The ranges between `ranges` (sorted, apart): everything else. */
function rangesBetween(ranges: ReadonlyArray<Required<KeyRange>>): KeyRange[] {
  const out: KeyRange[] = [];
  let from: string | undefined;
  for (const r of ranges) {
    out.push({ ...(from !== undefined ? { gte: from } : {}), lt: r.gte });
    from = r.lt;
  }
  out.push(from !== undefined ? { gte: from } : {});
  return out;
}

/** The LevelDB directory at `path`, into a SortedStore; the entries of `without` (a table) are left out. */
async function loadStore(path: string, without?: string): Promise<SortedStore> {
  const sorted = new SortedStore();
  const level = textLevel(path);
  await level.open();
  try {
    for (const range of without ? rangesBetween(tableKeyRanges(without)) : [{}]) {
      for await (const [key, text] of level.iterator(range)) sorted.putText(key, text);
    }
  } finally {
    await level.close();
  }
  sorted.markClean();
  return sorted;
}

/**
 * Write what changed in `sorted` since it was loaded back to the LevelDB directory at `path`,
 * in one batch; first, with `dropped`, clear that table's entries left out at the load.
 */
async function saveStore(path: string, sorted: SortedStore, dropped?: string): Promise<void> {
  const changes = sorted.changes();
  if (changes.length === 0 && !dropped) return;
  const level = textLevel(path);
  await level.open();
  try {
    if (dropped) for (const range of tableKeyRanges(dropped)) await level.clear(range);
    await level.batch(changes.map(([key, value]) => (value === undefined ? { type: 'del', key } : { type: 'put', key, value })));
  } finally {
    await level.close();
  }
  sorted.markClean();
}

/**
 * Start dynalite in this process, over a store in memory (loaded from, and saved to, the LevelDB
 * directory `path`). With `dropTable`, that table starts absent, as if deleted: its entries are
 * not loaded (a replay empties its table anyway: loading it only to delete it cost more than the
 * rest of the start on a large store) and are cleared from the directory when the store closes.
 */
export async function startInProcessDynamoDb(options: { path?: string; dropTable?: string } = {}): Promise<InProcessDynamoDb> {
  let sorted: SortedStore;
  try {
    sorted = options.path ? await loadStore(options.path, options.dropTable) : new SortedStore();
  } catch (error) {
    throw unopenableStore(options.path!, error);
  }
  const store = dynaliteDb.create({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  answerFrom(store.db, sorted);
  const itemStore = shareTableDescriptions(store, sorted);
  const wrappers: WriteWrapper[] = [];
  const watchers: Array<typeof partitionWatchers extends Set<infer W> ? W : never> = [];

  const raw = (operation: Operation, input: Json): Promise<Json> =>
    new Promise((resolve, reject) => {
      const action = actionOf(operation);
      // The request as it would arrive over the wire: members left undefined are absent.
      const data: Json = {};
      for (const [k, v] of Object.entries(input)) if (v !== undefined) data[k] = v;
      let checked: Json;
      try {
        checked = checkTypes(data, action.types);
        validatingInProcess = true;
        validations.checkValidations(checked, action.types, action.custom, store);
      } catch (error) {
        const e = error as Error & { statusCode?: number; body?: { __type?: string; message?: string } };
        return reject(e.statusCode ? sdkError(e.body, e) : e);
      } finally {
        validatingInProcess = false;
      }
      action.run(ITEM_OPERATIONS.has(operation) ? itemStore : store, checked, (error, out) => {
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
    partitionChanges(tableName, attribute, value) {
      const watcher = { table: tableName, attribute, value, count: 0 };
      partitionWatchers.add(watcher);
      watchers.push(watcher);
      return () => watcher.count;
    },
    async close() {
      for (const w of watchers) partitionWatchers.delete(w);
      client.destroy();
      await new Promise<void>((resolve, reject) => store.db.close((error) => (error ? reject(error) : resolve())));
      if (options.path) await saveStore(options.path, sorted, options.dropTable);
    },
  };
}
