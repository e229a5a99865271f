/**
 * Writes to the inventory table: idempotent, order-tolerant and conditional.
 *
 * An entity (resource or principal) is written with ordered conditional updates instead of
 * read-modify-write. Order is (event time, eventId), written as one comparable string.
 * - U1 applies the newest event of the batch if it is newer than what is stored
 *   (`lastSeen`/`lastEventId`): a redelivered event is not newer, so it changes nothing, and an
 *   older event never overwrites newer state.
 * - Configuration attributes are ordered one by one (each has an `<name>@` version), because
 *   the newest event rarely carries all of them: a DeleteEndpoint names no endpoint config, the
 *   CreateEndpoint before it does. An older event may set an attribute only where the stored
 *   value is older still.
 * - When the stored state is newer, the batch may still hold the entity's oldest event:
 *   `firstSeen` and the fields of the first sighting (`earliest`) move back to it.
 * Other merge modes: `fill` (set only where the item lacks it), `sticky` (always set: a
 * principal that invoked a model stays an AI application) and `addToSet`.
 *
 * Findings and quarantine records are immutable facts with deterministic keys, so plain
 * BatchWriteItem puts are idempotent: writing one twice leaves the same item.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export type Key = { pk: string; sk: string };
export type StoredValue = string | number | boolean | readonly unknown[] | Record<string, unknown> | ReadonlySet<string>;

export interface EventOrder {
  readonly time: string;
  readonly eventId: string;
}

/** The order of an event as one string: ISO times have a fixed width, so strings compare in time order. */
export function orderKey(o: EventOrder): string {
  return `${o.time}#${o.eventId}`;
}

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

export type EntityOutcome = 'applied' | 'older' | 'unknown-skipped';

export interface WriteStats {
  /** Capacity units DynamoDB reported for the base table (GSI writes are not included). */
  writeUnits: number;
  requests: number;
  conditionalFailures: number;
}

export interface InventoryStore {
  writeEntity(write: EntityWrite): Promise<EntityOutcome>;
  /** Put immutable items; resolves to the keys that could not be written after retries. */
  putItems(items: ReadonlyArray<Record<string, unknown> & Key>): Promise<Key[]>;
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

  setRaw(clause: string): void {
    this.sets.push(clause);
  }

  setIfAbsent(attribute: string, v: unknown): void {
    const n = this.name(attribute);
    this.sets.push(`${n} = if_not_exists(${n}, ${this.value(v)})`);
  }

  add(attribute: string, v: ReadonlySet<string>): void {
    this.adds.push(`${this.name(attribute)} ${this.value(v)}`);
  }

  get empty(): boolean {
    return this.sets.length === 0 && this.adds.length === 0;
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
const MAX_BATCH_RETRIES = 6;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createInventoryStore(client: DynamoDBDocumentClient, tableName: string): InventoryStore {
  const stats: WriteStats = { writeUnits: 0, requests: 0, conditionalFailures: 0 };

  async function update(key: Key, expression: Expression, condition: string, returnOld = false): Promise<Record<string, unknown> | undefined | false> {
    stats.requests++;
    try {
      const out = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          ...expression.build(condition),
          ReturnValues: returnOld ? 'ALL_OLD' : 'NONE',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      stats.writeUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
      return out.Attributes ?? undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException') {
        // A failed condition still costs a write unit (DynamoDB developer guide, "Condition expressions").
        stats.conditionalFailures++;
        stats.writeUnits += 1;
        return false;
      }
      throw error;
    }
  }

  const exists = 'attribute_exists(pk)';

  /** Fields an event that is not the newest may still contribute: only where the item lacks them. */
  function addFills(expr: Expression, w: EntityWrite): void {
    for (const [k, v] of Object.entries(w.latest)) expr.setIfAbsent(k, v);
    for (const [k, v] of Object.entries(w.fill)) if (!(k in w.latest)) expr.setIfAbsent(k, v);
    for (const [k, v] of Object.entries(w.sticky)) expr.set(k, v);
    for (const [k, v] of Object.entries(w.addToSet)) if (v.length) expr.add(k, new Set(v));
  }

  function firstIsLater(old: Record<string, unknown>, w: EntityWrite): boolean {
    const f = old.firstSeen as string | undefined;
    return f === undefined || orderKey({ time: f, eventId: (old.firstEventId as string | undefined) ?? '' }) > orderKey(w.first);
  }

  /** The batch holds an event older than the stored first one: it becomes the first. */
  async function moveFirstBack(w: EntityWrite, expr: Expression): Promise<boolean> {
    expr.set('firstSeen', w.first.time);
    expr.set('firstEventId', w.first.eventId);
    for (const [k, v] of Object.entries(w.earliest)) expr.set(k, v);
    const ft = expr.value(w.first.time);
    const fid = expr.value(w.first.eventId);
    return (await update(w.key, expr, `${exists} AND (firstSeen > ${ft} OR (firstSeen = ${ft} AND firstEventId > ${fid}))`)) !== false;
  }

  /** Set attributes whose stored version is older than (or missing next to) the given one. */
  async function setNewerAttributes(key: Key, attributes: ReadonlyArray<[string, VersionedValue]>): Promise<void> {
    const attempt = async (subset: ReadonlyArray<[string, VersionedValue]>) => {
      const expr = new Expression();
      const conditions = subset.map(([name, { value, at }]) => {
        expr.set(name, value);
        const version = expr.name(versionOf(name));
        const v = expr.value(at);
        expr.setRaw(`${version} = ${v}`);
        return `(attribute_not_exists(${version}) OR ${version} < ${v})`;
      });
      return (await update(key, expr, [exists, ...conditions].join(' AND '))) !== false;
    };
    if (attributes.length === 0 || (await attempt(attributes)) || attributes.length === 1) return;
    // Some stored attribute is newer: settle them one by one.
    for (const attribute of attributes) await attempt([attribute]);
  }

  return {
    stats,

    async writeEntity(w) {
      const head = orderKey(w.head);
      const attributes = Object.entries(w.attributes);
      // U1: apply the newest event if it is newer than the stored state.
      const u1 = new Expression();
      for (const [k, v] of Object.entries(w.latest)) u1.set(k, v);
      for (const [name, { value, at }] of attributes) {
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
      for (const [k, v] of Object.entries(w.addToSet)) if (v.length) u1.add(k, new Set(v));
      u1.set('lastSeen', w.head.time);
      u1.set('lastEventId', w.head.eventId);
      u1.setIfAbsent('firstSeen', w.first.time);
      u1.setIfAbsent('firstEventId', w.first.eventId);
      const t = u1.value(w.head.time);
      const id = u1.value(w.head.eventId);
      const ordered = `(lastSeen < ${t} OR (lastSeen = ${t} AND lastEventId < ${id}))`;
      const old = await update(w.key, u1, w.onlyIfKnown ? `${exists} AND ${ordered}` : `attribute_not_exists(pk) OR ${ordered}`, true);

      if (old !== false) {
        if (old) {
          // The item existed: older attributes of this batch were only filled in where absent;
          // those the item holds in an even older version still need setting.
          if (firstIsLater(old, w)) await moveFirstBack(w, new Expression());
          const stale = attributes.filter(([name, { at }]) => at !== head && typeof old[versionOf(name)] === 'string' && (old[versionOf(name)] as string) < at);
          await setNewerAttributes(w.key, stale);
        }
        return 'applied';
      }

      // The stored state is newer (or this is the same event again).
      const u2 = new Expression();
      addFills(u2, w);
      if (!(await moveFirstBack(w, u2))) {
        const u3 = new Expression();
        addFills(u3, w);
        if ((await update(w.key, u3, exists)) === false) return 'unknown-skipped';
      }
      await setNewerAttributes(w.key, attributes);
      return 'older';
    },

    async putItems(items) {
      const failed: Key[] = [];
      for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) {
        let pending = items.slice(i, i + BATCH_WRITE_LIMIT).map((Item) => ({ PutRequest: { Item } }));
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
      }
      return failed;
    },
  };
}
