/**
 * The inventory table's stream, on a laptop. dynalite has no DynamoDB Streams, so this records
 * what a stream with NEW_AND_OLD_IMAGES would carry: a middleware on the local handlers'
 * DynamoDB client reads each written item before and after the write (per key, one write at a
 * time, so the images are exact) and keeps a stream record in the shape Lambda hands the
 * change feed. As DynamoDB does, a write that changes nothing makes no record ("If you perform a
 * PutItem or UpdateItem operation that does not change any data in an item, DynamoDB Streams
 * does not write a stream record for that operation": DynamoDB Developer Guide, "Change data
 * capture for DynamoDB Streams"), and the records are filtered as the deployed event source
 * mapping filters them (CHANGE_FEED_FILTER). The store wraps each write in `wrap` (a client
 * middleware over HTTP, a wrapper of the in-process transport) and reads the images with
 * `readImages` (consistent BatchGetItem).
 *
 * `drain` hands the records to the change feed's own handler in batches, and retries from the
 * first record it reports failed, as the Lambda service does for a stream.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, StreamRecord } from 'aws-lambda';
import { CHANGE_FEED_FILTER } from '../../lambdas/change-feed/environment';
import type { ChangeFeedHandler } from '../../lambdas/change-feed/handler';
import { familyOfKey } from '../../lambdas/shared/items';
import { lambdaContext } from './lambda-shapes';
import { LOCAL_REGION } from '../names';
import type { ReadProblem } from './read-logs';

type Image = Record<string, AttributeValue>;
/** A stream image, as aws-lambda types it (the SDK's AttributeValue, with binary as base64 text). */
type StreamImage = NonNullable<StreamRecord['NewImage']>;

const ENTITIES: ReadonlySet<string> = new Set(CHANGE_FEED_FILTER.entities);
const EVENT_NAMES: ReadonlySet<string> = new Set(CHANGE_FEED_FILTER.eventNames);
/** Families whose updates can make a feed item (resources, agent profiles, watch marks); puts are judged by their item. */
const UPDATED_FEED_FAMILIES = new Set(['resource', 'agent', 'watch']);
const BATCH = 100;

const keyOf = (image: Image) => ({ pk: image.pk, sk: image.sk });
const keyText = (key: { pk?: AttributeValue; sk?: AttributeValue }) => `${key.pk?.S ?? ''}\u0000${key.sk?.S ?? ''}`;

/** A canonical text of an image: equal for equal items, whatever the order of maps and sets. */
function canonical(image: Image | undefined): string {
  const norm = (v: unknown): unknown => {
    if (v instanceof Set) return [...v].map(norm).sort();
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])]));
    return v;
  };
  return image ? JSON.stringify(norm(unmarshall(image))) : '';
}

/** Consistent reads of the table's items by key, as BatchGetItem returns them. */
export type ImageReader = (keys: ReadonlyArray<{ pk: AttributeValue; sk: AttributeValue }>) => Promise<Image[]>;

export class LocalTableStream {
  private pending: Array<{ record: DynamoDBRecord; deliveries: number }> = [];
  private locks = new Map<string, Promise<unknown>>();
  private sequence = 0;
  /** Records written, before filtering, and after (what the change feed received). */
  readonly counts = { changes: 0, delivered: 0 };

  constructor(
    private readonly tableName: string,
    private readonly readImages: ImageReader,
  ) {}

  /** Run one write (`commandName` with its marshalled input), recording the stream records it makes. */
  readonly wrap = async <T>(commandName: string, input: Record<string, unknown>, write: () => Promise<T>): Promise<T> => {
    const keys = this.feedKeysOf(commandName, input);
    if (keys.length === 0) return write();
    return this.serialized(keys, async () => {
      const before = await this.read(keys);
      const out = await write();
      const after = await this.read(keys);
      for (const k of keys) this.record(k, before.get(keyText(k)), after.get(keyText(k)));
      return out;
    });
  };

  /** The keys of the items a write may turn into feed items (others cannot reach the feed). */
  private feedKeysOf(command: string | undefined, input: Record<string, unknown>): Array<{ pk: AttributeValue; sk: AttributeValue }> {
    const putsOf = (items: Image[]) => items.filter((i) => i.entity?.S !== undefined && ENTITIES.has(i.entity.S)).map(keyOf);
    switch (command) {
      case 'PutItemCommand':
        return input.TableName === this.tableName ? putsOf([input.Item as Image]) : [];
      case 'UpdateItemCommand': {
        const key = input.Key as Image;
        return input.TableName === this.tableName && UPDATED_FEED_FAMILIES.has(familyOfKey({ pk: key.pk?.S ?? '' })) ? [keyOf(key)] : [];
      }
      case 'BatchWriteItemCommand': {
        const requests = ((input.RequestItems as Record<string, Array<{ PutRequest?: { Item: Image } }>>) ?? {})[this.tableName] ?? [];
        return putsOf(requests.flatMap((r) => (r.PutRequest ? [r.PutRequest.Item] : [])));
      }
      default:
        return [];
    }
  }

  /** Run `work` holding every key's lock, so images read around a write are that write's. */
  private async serialized<T>(keys: ReadonlyArray<{ pk: AttributeValue; sk: AttributeValue }>, work: () => Promise<T>): Promise<T> {
    const names = [...new Set(keys.map(keyText))].sort();
    const previous = names.map((n) => this.locks.get(n) ?? Promise.resolve());
    const run = Promise.all(previous.map((p) => p.catch(() => undefined))).then(work);
    const done = run.catch(() => undefined);
    for (const n of names) this.locks.set(n, done);
    try {
      return await run;
    } finally {
      for (const n of names) if (this.locks.get(n) === done) this.locks.delete(n);
    }
  }

  private async read(keys: ReadonlyArray<{ pk: AttributeValue; sk: AttributeValue }>): Promise<Map<string, Image>> {
    const found = new Map<string, Image>();
    const unique = [...new Map(keys.map((k) => [keyText(k), k])).values()];
    for (let i = 0; i < unique.length; i += 100) for (const item of await this.readImages(unique.slice(i, i + 100))) found.set(keyText(item), item);
    return found;
  }

  private record(key: { pk: AttributeValue; sk: AttributeValue }, oldImage: Image | undefined, newImage: Image | undefined): void {
    const oldText = canonical(oldImage);
    const newText = canonical(newImage);
    if (oldText === newText) return;
    this.counts.changes++;
    const eventName = !oldImage ? 'INSERT' : !newImage ? 'REMOVE' : 'MODIFY';
    const entity = newImage?.entity?.S;
    if (!EVENT_NAMES.has(eventName) || entity === undefined || !ENTITIES.has(entity)) return;
    const sequenceNumber = String(++this.sequence).padStart(21, '0');
    this.pending.push({
      deliveries: 0,
      record: {
        eventID: sequenceNumber,
        eventName,
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: LOCAL_REGION,
        eventSourceARN: `arn:aws:dynamodb:${LOCAL_REGION}:000000000000:table/${this.tableName}/stream/local`,
        dynamodb: {
          ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
          Keys: key as StreamImage,
          ...(newImage ? { NewImage: newImage as StreamImage } : {}),
          ...(oldImage ? { OldImage: oldImage as StreamImage } : {}),
          SequenceNumber: sequenceNumber,
          SizeBytes: newText.length + oldText.length,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
    });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Hand every pending record to the change feed, in order; returns what would have been dead-lettered. */
  async drain(handler: ChangeFeedHandler, maxDeliveries = 3): Promise<ReadProblem[]> {
    const problems: ReadProblem[] = [];
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH);
      for (const p of batch) p.deliveries++;
      this.counts.delivered += batch.length;
      const response = await handler({ Records: batch.map((p) => p.record) }, lambdaContext('ai-visibility-change-feed-local'));
      const failed = response.batchItemFailures[0]?.itemIdentifier;
      if (failed === undefined) continue;
      // A stream resumes at the first failed record: it and everything after it come again.
      const from = batch.findIndex((p) => p.record.dynamodb?.SequenceNumber === failed);
      const again = batch.slice(from === -1 ? 0 : from);
      const dead = again.filter((p) => p.deliveries >= maxDeliveries);
      for (const p of dead) problems.push({ source: `stream:${p.record.dynamodb?.SequenceNumber}`, reason: `change feed record not published after ${maxDeliveries} deliveries (deployed: its pointer goes to the change feed's dead-letter queue)` });
      this.pending.unshift(...again.filter((p) => p.deliveries < maxDeliveries));
    }
    return problems;
  }
}
