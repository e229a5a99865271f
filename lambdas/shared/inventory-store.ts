/**
 * Writes to the inventory table: idempotent, order-tolerant and conditional.
 *
 * An entity (resource or principal) is written with ordered updates instead of read-modify-write:
 * - U1 applies the newest event of the batch if it is newer than what is stored
 *   (`lastSeen`, tie-broken by `lastEventId`); a redelivered event is not newer, so it changes
 *   nothing, and an older event never overwrites newer state.
 * - If U1 finds newer state, U2 moves `firstSeen` back when the batch holds an older event, and
 *   U3 fills attributes the stored item lacks (`if_not_exists`), so an out-of-order create event
 *   still contributes the configuration it alone carried.
 * Fields have a merge mode: `latest` (newest event wins), `fill` (first value wins), `sticky`
 * (always set: a principal that invoked a model stays an AI application) and `addToSet`.
 *
 * Findings and quarantine records are immutable facts with deterministic keys, so plain
 * BatchWriteItem puts are idempotent: writing one twice leaves the same item.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export type Key = { pk: string; sk: string };
export type StoredValue = string | number | boolean | readonly unknown[] | Record<string, unknown>;

export interface EntityWrite {
  readonly key: Key;
  /** The newest event applied, and the oldest: ordering is by (time, eventId). */
  readonly head: { readonly time: string; readonly eventId: string };
  readonly first: { readonly time: string; readonly eventId: string };
  readonly latest: Readonly<Record<string, StoredValue>>;
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

  const newer = (prefix: 'last' | 'first') => (prefix === 'last' ? '(lastSeen < :t OR (lastSeen = :t AND lastEventId < :id))' : '');

  function fillsAndSticky(expr: Expression, w: EntityWrite, latestToo: boolean): void {
    if (latestToo) for (const [k, v] of Object.entries(w.latest)) expr.setIfAbsent(k, v);
    for (const [k, v] of Object.entries(w.fill)) if (!(latestToo && k in w.latest)) expr.setIfAbsent(k, v);
    for (const [k, v] of Object.entries(w.sticky)) expr.set(k, v);
    for (const [k, v] of Object.entries(w.addToSet)) if (v.length) expr.add(k, new Set(v));
  }

  function firstIsLater(old: Record<string, unknown>, w: EntityWrite): boolean {
    const f = old.firstSeen as string | undefined;
    const fid = old.firstEventId as string | undefined;
    return f === undefined || f > w.first.time || (f === w.first.time && (fid ?? '') > w.first.eventId);
  }

  async function moveFirstBack(w: EntityWrite, expr: Expression, extraCondition: string): Promise<boolean> {
    expr.set('firstSeen', w.first.time);
    expr.set('firstEventId', w.first.eventId);
    const ft = expr.value(w.first.time);
    const fid = expr.value(w.first.eventId);
    const result = await update(w.key, expr, `attribute_exists(pk) AND (firstSeen > ${ft} OR (firstSeen = ${ft} AND firstEventId > ${fid}))${extraCondition}`);
    return result !== false;
  }

  return {
    stats,

    async writeEntity(w) {
      // U1: apply the newest event if it is newer than the stored state.
      const u1 = new Expression();
      for (const [k, v] of Object.entries(w.latest)) u1.set(k, v);
      for (const [k, v] of Object.entries(w.fill)) if (!(k in w.latest)) u1.setIfAbsent(k, v);
      for (const [k, v] of Object.entries(w.sticky)) u1.set(k, v);
      for (const [k, v] of Object.entries(w.addToSet)) if (v.length) u1.add(k, new Set(v));
      u1.set('lastSeen', w.head.time);
      u1.set('lastEventId', w.head.eventId);
      u1.setIfAbsent('firstSeen', w.first.time);
      u1.setIfAbsent('firstEventId', w.first.eventId);
      const t = u1.value(w.head.time);
      const id = u1.value(w.head.eventId);
      const ordered = newer('last').replaceAll(':t', t).replaceAll(':id', id);
      const condition = w.onlyIfKnown ? `attribute_exists(pk) AND ${ordered}` : `attribute_not_exists(pk) OR ${ordered}`;
      const old = await update(w.key, u1, condition, true);
      if (old !== false) {
        // Applied. If the stored item began later than this batch's oldest event, move firstSeen back.
        if (old && firstIsLater(old, w)) await moveFirstBack(w, new Expression(), '');
        return 'applied';
      }
      // U2: stored state is newer (or the same event again). The batch may still hold the oldest event.
      const u2 = new Expression();
      fillsAndSticky(u2, w, true);
      if (await moveFirstBack(w, u2, '')) return 'older';
      // U3: fill what the stored item lacks; a redelivered event finds nothing to fill.
      const u3 = new Expression();
      fillsAndSticky(u3, w, true);
      if (u3.empty) return 'older';
      const filled = await update(w.key, u3, 'attribute_exists(pk)');
      return filled === false ? 'unknown-skipped' : 'older';
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
