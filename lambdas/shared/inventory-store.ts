/**
 * Writes to the inventory table: idempotent, order-tolerant and conditional.
 *
 * An entity (resource or principal) is merged under fixed rules; order is (event time, eventId),
 * written as one comparable string:
 * - the newest event's fields (`latest`) win: a redelivered event is not newer, so it changes
 *   nothing, and an older event never overwrites newer state;
 * - configuration attributes are ordered one by one (each has an `<name>@` version), because
 *   the newest event rarely carries all of them: a DeleteEndpoint names no endpoint config, the
 *   CreateEndpoint before it does;
 * - `firstSeen` and the first sighting's fields (`earliest`) follow the oldest event;
 * - `fill` sets only what the item lacks, `sticky` always holds (a principal that invoked a
 *   model stays an AI application), `addToSet` only grows.
 * The common case, an event newer than the stored state, is one conditional UpdateItem with no
 * read. An older or repeated event takes the slow path: the stored item, the merge in memory
 * (`changesFor`), and a write of only what changes, guarded by the item's revision (`rev`);
 * usually there is nothing to write at all. The stored item comes with the failed condition
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, no read capacity), or from a consistent read
 * where the answer carries none (the item is absent, or a local DynamoDB lacks the feature).
 *
 * Findings and quarantine records are immutable facts with deterministic keys, so plain
 * BatchWriteItem puts are idempotent: writing one twice leaves the same item.
 */
import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { keyString, type Key, type StoredValue } from './items';
import { pool } from './pool';

export { keyString, type Key, type StoredValue };

export interface EventOrder {
  readonly time: string;
  readonly eventId: string;
  /**
   * A hash of the event's content: two different records with one eventID (a replayed file can
   * hold them) are ordered by it, so whatever order they arrive in, the same one wins. Always
   * named (undefined where there is no record, a sweep): an event passed as its own order would
   * silently drop it (the hash is computed apart, normalize.ts contentHashOf).
   */
  readonly contentHash: string | undefined;
}

/** The order of an event as one string: ISO times have a fixed width, so strings compare in time order. */
export function orderKey(o: EventOrder): string {
  return o.contentHash ? `${o.time}#${o.eventId}#${o.contentHash}` : `${o.time}#${o.eventId}`;
}

/**
 * The stored order of an item's newest and oldest events (`lastOrder`, `firstOrder`: orderKey
 * strings), so the fast path's condition is one comparison. Items written before these existed
 * have only `lastSeen`/`lastEventId`: their fast path condition fails and the slow path, which
 * reads them, merges correctly and adds the orders.
 */
const storedOrder = (item: Record<string, unknown>, which: 'last' | 'first'): string | undefined => {
  const order = item[`${which}Order`];
  if (typeof order === 'string') return order;
  const time = item[`${which}Seen`];
  return typeof time === 'string' ? orderKey({ time, eventId: String(item[`${which}EventId`] ?? ''), contentHash: undefined }) : undefined;
};

/** The attribute that holds the version of a configuration attribute. */
export const versionOf = (attribute: string) => `${attribute}@`;

export interface VersionedValue {
  readonly value: StoredValue;
  /** `orderKey` of the event that showed this value. */
  readonly at: string;
}

export interface EntityWrite {
  readonly key: Key;
  /** The newest and the oldest event of the batch for this entity. */
  readonly head: EventOrder;
  readonly first: EventOrder;
  /** Fields of the newest event: identity, status, evidence, index keys. */
  readonly latest: Readonly<Record<string, StoredValue>>;
  /** Configuration, ordered attribute by attribute. */
  readonly attributes: Readonly<Record<string, VersionedValue>>;
  /** Fields of the oldest event (who first revealed it). */
  readonly earliest: Readonly<Record<string, StoredValue>>;
  readonly fill: Readonly<Record<string, StoredValue>>;
  readonly sticky: Readonly<Record<string, StoredValue>>;
  readonly addToSet: Readonly<Record<string, readonly string[]>>;
  /** Only update an item that already exists (the event alone does not prove it is AI). */
  readonly onlyIfKnown: boolean;
}

/**
 * `created`: this write made the item (an `applied` write to an item that did not exist);
 * `merged`: an older event changed the item (an earlier first sighting, an attribute it alone
 * carried); `older`: an older event that changed nothing.
 */
export type EntityOutcome = 'created' | 'applied' | 'merged' | 'older' | 'unknown-skipped';


export interface WriteStats {
  /** Capacity units DynamoDB reported for the base table (GSI writes are not included). */
  writeUnits: number;
  readUnits: number;
  requests: number;
  conditionalFailures: number;
}

export interface InventoryStore {
  writeEntity(write: EntityWrite): Promise<EntityOutcome>;
  /** Put immutable items; resolves to the keys that could not be written after retries. */
  putItems(items: ReadonlyArray<Record<string, unknown> & Key>): Promise<Key[]>;
  /** Read items by key (strongly consistent); missing items are absent from the result. */
  getItems(keys: readonly Key[]): Promise<Map<string, Record<string, unknown>>>;
  /**
   * Items of one partition whose sort key lies between `from` and `to` (inclusive), in sort-key
   * order (or the reverse), at most `limit` of them.
   */
  queryRange(pk: string, from: string, to: string, options?: { descending?: boolean; limit?: number }): Promise<Record<string, unknown>[]>;
  /**
   * Put one item if the stored one is still at revision `rev` (absent when `rev` is undefined);
   * false when someone wrote it in between.
   */
  putIfRevision(item: Record<string, unknown> & Key, rev: number | undefined): Promise<boolean>;
  /**
   * Set fields on an item that exists, whose `field` equals `value` and (with `absent`) that lacks
   * that attribute; false when there is no such item.
   */
  setFieldsIf(key: Key, fields: Record<string, unknown>, where: { field: string; value: string; absent?: string }): Promise<boolean>;
  /**
   * Make `order` the item's `order` and set `fields`, unless the stored item has an earlier
   * order: the earliest event wins whatever the order of arrival, and the same event again
   * writes the same item (a redelivery). Other attributes (a flag set later) are kept. False
   * when an earlier event holds the item.
   */
  putIfEarlier(key: Key, order: string, fields: Record<string, unknown>): Promise<boolean>;
  readonly stats: WriteStats;
}

class Expression {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};
  private readonly sets: string[] = [];
  private readonly adds: string[] = [];
  private n = 0;

  name(attribute: string): string {
    const placeholder = `#n${this.n++}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  value(v: unknown): string {
    const placeholder = `:v${this.n++}`;
    this.values[placeholder] = v;
    return placeholder;
  }

  set(attribute: string, v: unknown): void {
    this.sets.push(`${this.name(attribute)} = ${this.value(v)}`);
  }

  setIfAbsent(attribute: string, v: unknown): void {
    const n = this.name(attribute);
    this.sets.push(`${n} = if_not_exists(${n}, ${this.value(v)})`);
  }

  add(attribute: string, v: ReadonlySet<string> | number): void {
    this.adds.push(`${this.name(attribute)} ${this.value(v)}`);
  }

  build(condition: string) {
    const parts = [];
    if (this.sets.length) parts.push(`SET ${this.sets.join(', ')}`);
    if (this.adds.length) parts.push(`ADD ${this.adds.join(', ')}`);
    return {
      UpdateExpression: parts.join(' '),
      ConditionExpression: condition,
      ExpressionAttributeNames: this.names,
      ExpressionAttributeValues: this.values,
    };
  }
}

const BATCH_WRITE_LIMIT = 25;
const BATCH_GET_LIMIT = 100;
const PARALLEL_BATCH_WRITES = 4;
const MAX_BATCH_RETRIES = 6;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Structural equality for stored values (lists, maps, sets as the document client returns them). */
function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown => (v instanceof Set ? [...v].sort() : v);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

export interface Changes {
  readonly set: Record<string, StoredValue>;
  readonly add: Record<string, string[]>;
}

/**
 * What `w` changes in a stored item, under the merge rules. Pure: the slow path and the
 * clean-up after the fast path both use it, so both follow one definition of the merge.
 */
export function changesFor(item: Record<string, unknown>, w: EntityWrite): Changes {
  const set: Record<string, StoredValue> = {};
  const add: Record<string, string[]> = {};
  const stored = (k: string) => item[k];
  const last = storedOrder(item, 'last') ?? '';
  const first = storedOrder(item, 'first');

  if (orderKey(w.head) > last) {
    Object.assign(set, w.latest);
    set.lastSeen = w.head.time;
    set.lastEventId = w.head.eventId;
    set.lastOrder = orderKey(w.head);
  } else {
    for (const [k, v] of Object.entries(w.latest)) if (stored(k) === undefined) set[k] = v;
  }
  if (first === undefined || orderKey(w.first) < first) {
    set.firstSeen = w.first.time;
    set.firstEventId = w.first.eventId;
    set.firstOrder = orderKey(w.first);
    Object.assign(set, w.earliest);
  } else {
    for (const [k, v] of Object.entries(w.earliest)) if (stored(k) === undefined) set[k] = v;
  }
  for (const [name, { value, at }] of Object.entries(w.attributes)) {
    const version = stored(versionOf(name));
    if (typeof version !== 'string' || version < at) {
      set[name] = value;
      set[versionOf(name)] = at;
    }
  }
  for (const [k, v] of Object.entries(w.fill)) if (stored(k) === undefined && !(k in set)) set[k] = v;
  for (const [k, v] of Object.entries(w.sticky)) if (!same(stored(k), v)) set[k] = v;
  for (const [k, values] of Object.entries(w.addToSet)) {
    const have = stored(k);
    const missing = values.filter((v) => !(have instanceof Set && have.has(v)));
    const room = Math.max(0, MAX_SET_MEMBERS - (have instanceof Set ? have.size : 0));
    if (missing.length > room && stored(truncatedMark(k)) !== true) set[truncatedMark(k)] = true;
    if (missing.length && room) add[k] = missing.slice(0, room);
  }
  return { set, add };
}

/**
 * Most members a set that only grows may hold (the accounts using a foundation model, the
 * services an agent touched): an item must stay under DynamoDB's 400 KB, or every later write
 * to it fails. Past it, new members are dropped and `<set>Truncated` says so.
 */
export const MAX_SET_MEMBERS = 1_000;
export const truncatedMark = (attribute: string) => `${attribute}Truncated`;

/**
 * A conditional write DynamoDB refused, with the item as it stood when the answer carried it
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`; DynamoDB API Reference, UpdateItem: "No read
 * capacity units are consumed"). The document client leaves that item marshalled
 * (aws/aws-sdk-js-v3#6723), so it is unmarshalled here as a GetItem's would be. Absent when no
 * item exists, and where a local DynamoDB does not return it: then the slow path reads.
 */
class Refused {
  constructor(readonly stored: Record<string, unknown> | undefined) {}
}
const refusal = (item: Record<string, AttributeValue> | undefined) => new Refused(item ? unmarshall(item) : undefined);
const isRefused = (v: unknown): v is Refused => v instanceof Refused;

/** Optimistic retries of the read-merge-write path before the message is handed back to SQS. */
const MAX_MERGE_ATTEMPTS = 8;

export function createInventoryStore(client: DynamoDBDocumentClient, tableName: string): InventoryStore {
  const stats: WriteStats = { writeUnits: 0, readUnits: 0, requests: 0, conditionalFailures: 0 };

  /** A conditional write: its result, or a refusal (with the stored item, where the answer carried it). */
  async function conditionalWrite<T extends { ConsumedCapacity?: { CapacityUnits?: number } }>(send: () => Promise<T>): Promise<T | Refused> {
    stats.requests++;
    try {
      const out = await send();
      stats.writeUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
      return out;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException') {
        // A failed condition still costs a write unit (DynamoDB developer guide, "Condition expressions").
        stats.conditionalFailures++;
        stats.writeUnits += 1;
        return refusal((error as { Item?: Record<string, AttributeValue> }).Item);
      }
      throw error;
    }
  }

  /** A conditional write: its result, or false when the condition failed. */
  async function conditional<T extends { ConsumedCapacity?: { CapacityUnits?: number } }>(send: () => Promise<T>): Promise<T | false> {
    const out = await conditionalWrite(send);
    return isRefused(out) ? false : out;
  }

  /**
   * An update: the item after it (with `returnNew`), or a refusal carrying the item as it stood
   * (ReturnValuesOnConditionCheckFailure: the slow path then needs no read).
   */
  async function update(key: Key, expression: Expression, condition: string, returnNew = false): Promise<Record<string, unknown> | undefined | Refused> {
    const out = await conditionalWrite(() =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          ...expression.build(condition),
          ReturnValues: returnNew ? 'ALL_NEW' : 'NONE',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return isRefused(out) ? out : (out.Attributes ?? undefined);
  }

  async function read(key: Key): Promise<Record<string, unknown> | undefined> {
    stats.requests++;
    const out = await client.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }));
    stats.readUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    return out.Item;
  }

  /** Write `changes` if the item is still at revision `rev`; a refusal if someone wrote in between. */
  async function writeChanges(key: Key, changes: Changes, rev: unknown): Promise<true | Refused> {
    const expr = new Expression();
    for (const [k, v] of Object.entries(changes.set)) expr.set(k, v);
    for (const [k, v] of Object.entries(changes.add)) expr.add(k, new Set(v));
    expr.add('rev', 1);
    const condition = typeof rev === 'number' ? `rev = ${expr.value(rev)}` : 'attribute_exists(pk) AND attribute_not_exists(rev)';
    const out = await update(key, expr, condition);
    return isRefused(out) ? out : true;
  }

  const isEmpty = (c: Changes) => Object.keys(c.set).length === 0 && Object.keys(c.add).length === 0;

  /**
   * Slow path: the stored item (from the refused write, else read), merged in memory, and only
   * what changes written, guarded by the item's revision.
   */
  async function mergeIntoStored(w: EntityWrite, refused: Refused): Promise<EntityOutcome> {
    let stored = refused.stored;
    for (let attempt = 0; attempt < MAX_MERGE_ATTEMPTS; attempt++) {
      const item = stored ?? (await read(w.key));
      if (!item) return w.onlyIfKnown ? 'unknown-skipped' : writeEntity(w);
      const changes = changesFor(item, w);
      if (isEmpty(changes)) return 'older';
      const written = await writeChanges(w.key, changes, item.rev);
      if (written === true) return 'merged';
      stored = written.stored;
    }
    throw new Error(`${w.key.pk}: still contended after ${MAX_MERGE_ATTEMPTS} attempts`);
  }

  async function writeEntity(w: EntityWrite): Promise<EntityOutcome> {
    const head = orderKey(w.head);
    // Fast path: one update applies the newest event if it is newer than the stored state.
    // Older sightings of the batch only fill what is absent here; the clean-up below settles
    // the rest with the same merge function as the slow path.
    const u1 = new Expression();
    for (const [k, v] of Object.entries(w.latest)) u1.set(k, v);
    for (const [name, { value, at }] of Object.entries(w.attributes)) {
      if (at === head) {
        u1.set(name, value);
        u1.set(versionOf(name), at);
      } else {
        u1.setIfAbsent(name, value);
        u1.setIfAbsent(versionOf(name), at);
      }
    }
    for (const [k, v] of Object.entries(w.earliest)) if (!(k in w.latest)) u1.setIfAbsent(k, v);
    for (const [k, v] of Object.entries(w.fill)) if (!(k in w.latest) && !(k in w.earliest)) u1.setIfAbsent(k, v);
    for (const [k, v] of Object.entries(w.sticky)) u1.set(k, v);
    const sizeGuards: string[] = [];
    for (const [k, v] of Object.entries(w.addToSet)) {
      if (!v.length) continue;
      const values = v.slice(0, MAX_SET_MEMBERS);
      if (values.length < v.length) u1.set(truncatedMark(k), true);
      u1.add(k, new Set(values));
      // Only while the set has room for all of them; else the slow path adds what fits.
      const n = u1.name(k);
      sizeGuards.push(`(attribute_not_exists(${n}) OR size(${n}) <= ${u1.value(MAX_SET_MEMBERS - values.length)})`);
    }
    u1.set('lastSeen', w.head.time);
    u1.set('lastEventId', w.head.eventId);
    u1.setIfAbsent('firstSeen', w.first.time);
    u1.setIfAbsent('firstEventId', w.first.eventId);
    u1.set('lastOrder', orderKey(w.head));
    u1.setIfAbsent('firstOrder', orderKey(w.first));
    u1.add('rev', 1);
    // Newer: a greater order (time, then eventID, then content hash), one comparison; the slow
    // path settles everything else (an older event, an item without a stored order).
    const ordered = `lastOrder < ${u1.value(orderKey(w.head))}`;
    const base = w.onlyIfKnown ? `attribute_exists(pk) AND ${ordered}` : `(attribute_not_exists(pk) OR ${ordered})`;
    const after = await update(w.key, u1, [base, ...sizeGuards].join(' AND '), true);
    if (isRefused(after)) return mergeIntoStored(w, after);
    if (after) {
      const rest = changesFor(after, w);
      if (!isEmpty(rest)) {
        const written = await writeChanges(w.key, rest, after.rev);
        if (written !== true) await mergeIntoStored(w, written);
      }
    }
    // The revision counts writes: 1 means this one made the item.
    return after?.rev === 1 ? 'created' : 'applied';
  }

  return {
    stats,
    writeEntity,

    async getItems(keys) {
      const found = new Map<string, Record<string, unknown>>();
      const unique = [...new Map(keys.map((k) => [keyString(k), { pk: k.pk, sk: k.sk }])).values()];
      for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
        let pending: Key[] = unique.slice(i, i + BATCH_GET_LIMIT);
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > MAX_BATCH_RETRIES) throw new Error(`BatchGetItem: ${pending.length} keys still unprocessed`);
          if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2));
          stats.requests++;
          const out = await client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } }, ReturnConsumedCapacity: 'TOTAL' }));
          stats.readUnits += (out.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
          for (const item of out.Responses?.[tableName] ?? []) found.set(keyString(item as Key), item);
          pending = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as Key[];
        }
      }
      return found;
    },

    async queryRange(pk, from, to, options = {}) {
      const items: Record<string, unknown>[] = [];
      const limit = options.limit ?? Infinity;
      let start: Record<string, unknown> | undefined;
      do {
        stats.requests++;
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
            ConsistentRead: true,
            ScanIndexForward: !options.descending,
            ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
            ExclusiveStartKey: start,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        stats.readUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
        items.push(...((out.Items ?? []) as Record<string, unknown>[]));
        start = out.LastEvaluatedKey;
      } while (start && items.length < limit);
      return items;
    },

    async putIfRevision(item, rev) {
      const out = await conditional(() =>
        client.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ...(rev === undefined ? { ConditionExpression: 'attribute_not_exists(pk)' } : { ConditionExpression: 'rev = :rev', ExpressionAttributeValues: { ':rev': rev } }),
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      return out !== false;
    },

    async setFieldsIf(key, fields, where) {
      const expr = new Expression();
      for (const [k, v] of Object.entries(fields)) expr.set(k, v);
      // Every write counts in the revision: the change feed names an item's changes by it.
      expr.add('rev', 1);
      const condition = `attribute_exists(pk) AND ${expr.name(where.field)} = ${expr.value(where.value)}${where.absent ? ` AND attribute_not_exists(${expr.name(where.absent)})` : ''}`;
      return !isRefused(await update(key, expr, condition));
    },

    async putIfEarlier(key, order, fields) {
      const expr = new Expression();
      for (const [k, v] of Object.entries(fields)) expr.set(k, v);
      expr.set('order', order);
      return !isRefused(await update(key, expr, `attribute_not_exists(pk) OR ${expr.name('order')} >= ${expr.value(order)}`));
    },

    async putItems(items) {
      const failed: Key[] = [];
      const chunks: Array<ReadonlyArray<Record<string, unknown> & Key>> = [];
      for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) chunks.push(items.slice(i, i + BATCH_WRITE_LIMIT));
      await pool(chunks, PARALLEL_BATCH_WRITES, async (chunk) => {
        let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > MAX_BATCH_RETRIES) {
            failed.push(...pending.map((r) => ({ pk: r.PutRequest.Item.pk, sk: r.PutRequest.Item.sk })));
            break;
          }
          if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2));
          stats.requests++;
          const out = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending }, ReturnConsumedCapacity: 'TOTAL' }));
          stats.writeUnits += (out.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
          pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        }
      });
      return failed;
    },
  };
}
