/**
 * One message per rule, resource and principal within a window (default 24 hours), on the
 * inventory table: SNS FIFO deduplicates for five minutes only. A window is one item
 * (`keys.notifyWindow`) claimed with a conditional put; repeats inside it are counted on it
 * (each finding once: its id joins a bounded set), and the message that opens the next window
 * says how many were held back. The item expires with the table's TTL a day after its window.
 *
 * At least once, never twice: the claim records the finding it was claimed for, unsent; after
 * the publish it is marked sent. A redelivered event for the finding that claimed the window
 * sends again only if the publish did not happen (`sent` false); a sent one is skipped.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENTITY, keys } from '../shared/items';
import { TTL_ATTRIBUTE } from '../shared/table-schema';

/** Finding ids remembered per window to count each repeat once (a window's item stays small). */
export const MAX_COUNTED = 500;

export type Decision =
  | { readonly send: true; readonly repeatsSince?: { readonly count: number; readonly since: string } }
  | { readonly send: false; readonly reason: 'repeat' | 'already-sent' };

export interface DedupWindows {
  /** Whether this finding opens (or already holds, unsent) the window of its key. */
  claim(dedupKey: string, findingId: string, nowMs: number): Promise<Decision>;
  /** The claimed window's message went out. */
  markSent(dedupKey: string, findingId: string): Promise<void>;
}

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException';

export function dynamoDedupWindows(client: DynamoDBDocumentClient, tableName: string, windowMs: number): DedupWindows {
  return {
    async claim(dedupKey, findingId, nowMs) {
      const key = keys.notifyWindow(dedupKey);
      const windowEnds = nowMs + windowMs;
      try {
        const put = await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...key, entity: ENTITY.notifyWindow, dedupKey, findingId, sent: false, windowStart: new Date(nowMs).toISOString(), windowEnds, repeats: 0, [TTL_ATTRIBUTE]: Math.floor(windowEnds / 1000) + 86_400 },
            ConditionExpression: 'attribute_not_exists(pk) OR windowEnds <= :now',
            ExpressionAttributeValues: { ':now': nowMs },
            ReturnValues: 'ALL_OLD',
          }),
        );
        const old = put.Attributes;
        const count = typeof old?.repeats === 'number' ? old.repeats : 0;
        return count > 0 && typeof old?.windowStart === 'string' ? { send: true, repeatsSince: { count, since: old.windowStart } } : { send: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      // The window is open: this finding is its own (redelivered), or a repeat to count once.
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'ADD repeats :one, counted :id',
            ConditionExpression: 'findingId <> :fid AND NOT contains(counted, :fid) AND (attribute_not_exists(counted) OR size(counted) < :max)',
            ExpressionAttributeValues: { ':one': 1, ':id': new Set([findingId]), ':fid': findingId, ':max': MAX_COUNTED },
          }),
        );
        return { send: false, reason: 'repeat' };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const current = (await client.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
      if (current?.findingId === findingId && current.sent !== true) return { send: true };
      return { send: false, reason: current?.findingId === findingId ? 'already-sent' : 'repeat' };
    },

    async markSent(dedupKey, findingId) {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: keys.notifyWindow(dedupKey),
          UpdateExpression: 'SET sent = :true',
          ConditionExpression: 'findingId = :fid',
          ExpressionAttributeValues: { ':true': true, ':fid': findingId },
        }),
      ).catch((error: unknown) => {
        // A newer window took the key meanwhile: nothing of this one to mark.
        if (!isConditionFailure(error)) throw error;
      });
    },
  };
}
