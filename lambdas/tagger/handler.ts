/**
 * Tagger Lambda: `Resource Inventoried` and `Resource Changed` events (from the domain event bus,
 * through its queue) become `ai-visibility:*` tags on the resources (core/tagging.ts decides,
 * writers.ts writes). It reads each resource and what it last wrote, writes only the tags whose
 * value is not already right, and records what it wrote, or that a resource cannot be tagged
 * (once: never retried). A write that fails for good is recorded and not retried until the
 * resource changes; one that still fails after the retries comes back through SQS (partial
 * batch responses), and after the queue's deliveries to its dead-letter queue.
 *
 * Loop-safe: its role is under the stack's role path, which every capture pattern excludes, so
 * its own tag calls never come back as events; its bookkeeping is outside the change feed.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { planTags, tagBatches, type TagPlan, type TaggingSettings } from '../core/tagging';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';
import { keys, keyString, readResource, readTaggerState, taggableOf, taggerStateItem, type Item, type LookedUpTags } from '../shared/items';
import { cachedTagLookup, type LookupRequest, type TagLookupApis } from '../shared/tag-lookup';
import { pool } from '../shared/pool';
import { partitionOfRegion } from '../core/arn';
import { findingItem } from '../shared/items';
import { memberCredentials, memberRoleArn, MemberRoleUnavailableError, memberRoleFinding, stsAssumeRole, type MemberCredentials } from '../shared/member-credentials';
import { TAGGER_ENVIRONMENT } from './environment';
import { awsTagWriter, defaultTagClients, writeWithRetries, type RetryOptions, type TagFailure, type TagWriter } from './writers';

export interface TaggerClients {
  readonly dynamodb: DynamoDBClient;
  readonly store: InventoryStore;
  readonly writer: TagWriter;
  readonly retry: RetryOptions;
  readonly now: () => number;
  /** Where the resources' tags are read; null: not (tests). @default the Tagging API's GetResources */
  readonly tagLookup: TagLookupApis | null;
  /** Organization mode: member accounts' credentials. @default AssumeRole of each member role */
  readonly memberCredentials: MemberCredentials;
}

export type TaggerHandler = Handler<SQSEvent, SQSBatchResponse>;

export interface TaggingOutcome {
  readonly plans: readonly TagPlan[];
  /** Resources tagged, with the tags written. */
  readonly tagged: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Resources whose write failed for good (recorded, not retried). */
  readonly refused: ReadonlyMap<string, TagFailure>;
  /** Resources whose write may succeed later: their messages come back. */
  readonly retry: ReadonlySet<string>;
  readonly calls: number;
}

export interface TaggingDependencies {
  readonly store: InventoryStore;
  readonly writer: TagWriter;
  readonly settings: TaggingSettings;
  readonly retry?: RetryOptions;
  readonly now: () => number;
  /** The resources' current tags (cached): values already right are not rewritten, and an ignore tag set before the deploy counts. @default none */
  readonly tagLookup?: (request: LookupRequest) => Promise<Map<string, LookedUpTags>>;
}

/** Plan, write and record the tags of some resources. */
export async function tagResources(arns: readonly string[], deps: TaggingDependencies): Promise<TaggingOutcome> {
  const items = await deps.store.getItems(arns.flatMap((arn) => [keys.resource(arn), keys.taggerState(arn)]));
  const states = new Map(arns.map((arn) => [arn, readTaggerState(items.get(keyString(keys.taggerState(arn))))]));
  const resources = new Map(arns.flatMap((arn) => {
    const r = readResource(items.get(keyString(keys.resource(arn))));
    return r ? [[arn, r] as const] : [];
  }));
  const looked = deps.tagLookup ? await deps.tagLookup({ resources: [...resources.values()].map((r) => ({ arn: r.arn, region: r.region, account: r.account })) }) : new Map<string, LookedUpTags>();
  const plans: TagPlan[] = arns.map((arn) => {
    const r = resources.get(arn);
    return r ? planTags(taggableOf(r, looked.get(arn)), states.get(arn), deps.settings) : { arn, action: 'skip', reason: 'not in the inventory' };
  });
  const tagged = new Map<string, Readonly<Record<string, string>>>();
  const refused = new Map<string, TagFailure>();
  const retry = new Set<string>();
  let calls = 0;
  await pool(tagBatches(plans), 4, async (batch) => {
    const { failures, attempts } = await writeWithRetries(batch, deps.writer, deps.retry);
    calls += attempts;
    for (const arn of batch.arns) {
      const f = failures.get(arn);
      if (!f) tagged.set(arn, batch.tags);
      else if (f.retriable) retry.add(arn);
      else refused.set(arn, f);
    }
  });
  const at = new Date(deps.now()).toISOString();
  const records: Item[] = [];
  for (const p of plans) {
    const state = states.get(p.arn);
    const applied = state?.applied ?? {};
    if (p.action === 'untaggable') records.push(taggerStateItem({ arn: p.arn, applied, untaggable: p.reason, updatedAt: at }));
    const written = tagged.get(p.arn);
    if (written) records.push(taggerStateItem({ arn: p.arn, applied: { ...applied, ...written }, updatedAt: at }));
    const f = refused.get(p.arn);
    if (f) records.push(taggerStateItem({ arn: p.arn, applied, lastError: `${f.code}: ${f.message}`, updatedAt: at }));
  }
  const unrecorded = await deps.store.putItems(records);
  // What was written but not recorded is written again next time: the same values, harmless.
  for (const k of unrecorded) retry.add(String(records.find((r) => r.pk === k.pk && r.sk === k.sk)?.arn));
  return { plans, tagged, refused, retry, calls };
}

/** The resource ARN of a `Resource Inventoried` or `Resource Changed` event in an SQS body. */
function resourceOf(body: string): string | undefined {
  try {
    const event = JSON.parse(body) as { 'detail-type'?: unknown; detail?: { resource?: { arn?: unknown } } };
    const arn = event.detail?.resource?.arn;
    return (event['detail-type'] === 'Resource Inventoried' || event['detail-type'] === 'Resource Changed') && typeof arn === 'string' ? arn : undefined;
  } catch {
    return undefined;
  }
}

const tagger = defineHandler({
  environment: TAGGER_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<TaggerClients>): TaggerHandler {
    const store = clients.store ?? createInventoryStore(documentClient(clients.dynamodb), env.TABLE_NAME);
    const organization = env.ORGANIZATION_MODE === 'true';
    const credentials = organization ? (clients.memberCredentials ?? memberCredentials({ assumeRole: stsAssumeRole(), hubAccount: env.ACCOUNT_ID, sessionName: 'ai-visibility-tagger' })) : undefined;
    const writer = clients.writer ?? awsTagWriter(defaultTagClients(credentials));
    const exclude = JSON.parse(env.EXCLUDE_KINDS) as unknown;
    // Organization mode: every account's resources (each through its member role), else this account's only.
    const settings: TaggingSettings = { prefix: env.TAG_PREFIX, exclude: Array.isArray(exclude) ? exclude.filter((k): k is string => typeof k === 'string') : [], account: organization ? null : env.ACCOUNT_ID };
    const now = clients.now ?? Date.now;
    const tagLookup = cachedTagLookup(clients.tagLookup, { store, now, logger, credentials });

    return async (event) => {
      const messagesOf = new Map<string, string[]>();
      for (const record of event.Records) {
        const arn = resourceOf(record.body);
        if (!arn) {
          logger.warn('not a resource event; dropped', { messageId: record.messageId });
          continue;
        }
        messagesOf.set(arn, [...(messagesOf.get(arn) ?? []), record.messageId]);
      }
      const arns = [...messagesOf.keys()];
      let outcome: TaggingOutcome;
      try {
        outcome = await tagResources(arns, { store, writer, settings, retry: clients.retry, now, tagLookup });
      } catch (error) {
        logger.error('tagging failed; the batch comes back', { error: String(error) });
        return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      }
      const untaggable = outcome.plans.filter((p) => p.action === 'untaggable').length;
      for (const [arn, f] of outcome.refused) logger.warn('tags refused for good; recorded, not retried until the resource changes', { arn, code: f.code, message: f.message });
      // A member role that cannot be assumed: once per account and day, a finding (the account is a blind spot).
      const unreachable = new Map<string, { account: string; region: string }>();
      for (const p of outcome.plans) if (p.action === 'set' && outcome.refused.get(p.arn)?.code === 'MemberRoleUnavailableError') unreachable.set(p.account, { account: p.account, region: p.region });
      if (unreachable.size > 0) {
        metrics.addMetric('MemberRoleUnavailable', MetricUnit.Count, unreachable.size);
        const findings = [...unreachable.values()].map(({ account, region }) => {
          const reason = outcome.plans.map((p) => outcome.refused.get(p.arn)).find((f) => f?.code === 'MemberRoleUnavailableError')?.message ?? 'refused';
          return findingItem(memberRoleFinding(new MemberRoleUnavailableError(account, memberRoleArn(partitionOfRegion(region), account), reason), region, now(), 'the tagger'), 'tagger');
        });
        await store.putItems(findings).catch((error: unknown) => logger.warn('member-role-unavailable findings not written', { error: String(error) }));
      }
      metrics.addMetric('ResourcesTagged', MetricUnit.Count, outcome.tagged.size);
      metrics.addMetric('ResourcesUntaggable', MetricUnit.Count, untaggable);
      metrics.addMetric('TagWritesRefused', MetricUnit.Count, outcome.refused.size);
      metrics.addMetric('TagWritesRetried', MetricUnit.Count, outcome.retry.size);
      logger.info('resources tagged', { resources: arns.length, tagged: outcome.tagged.size, untaggable, refused: outcome.refused.size, retry: outcome.retry.size, calls: outcome.calls });
      return { batchItemFailures: [...outcome.retry].flatMap((arn) => messagesOf.get(arn) ?? []).map((itemIdentifier) => ({ itemIdentifier })) };
    };
  },
});

/** The tagger with its environment and clients given (tests). */
export const createTaggerHandler = tagger.create;

/** The deployed entry point. */
export const handler = tagger.handler;
