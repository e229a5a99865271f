/**
 * Notifier Lambda: `Finding Recorded` events (from the domain event bus, through its queue) at or
 * above the configured severity become one message each on the findings topic, once per rule,
 * resource and principal within the dedup window (dedup.ts), routed by owner (the message's
 * `owner` attribute) and rendered per protocol (core/notifications.ts). Partial batch responses:
 * a message that cannot be published fails alone and comes back.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { atLeast, dedupKeyOf, ownerOf, renderFinding, type FindingNotification, type NotifiedFinding } from '../core/notifications';
import type { Severity } from '../core/model';
import { taggedPrincipalOf } from '../core/arn';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';
import { keys, keyString, ownerTagsOf, readAccount, readFreshLookup, readResource, withLookedUpTags, type Key, type LookedUpTags } from '../shared/items';
import { dynamoDedupWindows, type DedupWindows } from './dedup';
import { NOTIFIER_ENVIRONMENT } from './environment';

export interface NotifierClients {
  readonly dynamodb: DynamoDBClient;
  readonly store: InventoryStore;
  readonly windows: DedupWindows;
  /** Where a rendered message goes. @default SNS Publish on FINDINGS_TOPIC_ARN */
  readonly publish: (n: FindingNotification) => Promise<void>;
  readonly now: () => number;
}

export type NotifierHandler = Handler<SQSEvent, SQSBatchResponse>;

/** The finding of a `Finding Recorded` event in an SQS body, or undefined. */
function findingOf(body: string): NotifiedFinding | undefined {
  try {
    const event = JSON.parse(body) as { 'detail-type'?: unknown; detail?: { finding?: NotifiedFinding } };
    const f = event.detail?.finding;
    return event['detail-type'] === 'Finding Recorded' && f && typeof f.rule === 'string' && typeof f.resource === 'string' ? f : undefined;
  } catch {
    return undefined;
  }
}

const notifier = defineHandler({
  environment: NOTIFIER_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<NotifierClients>): NotifierHandler {
    const documents = documentClient(clients.dynamodb);
    const store = clients.store ?? createInventoryStore(documents, env.TABLE_NAME);
    const windows = clients.windows ?? dynamoDedupWindows(documents, env.TABLE_NAME, Number(env.DEDUP_WINDOW_HOURS) * 3_600_000);
    const accountOwners = JSON.parse(env.ACCOUNT_OWNERS) as Record<string, string>;
    const minSeverity = env.MIN_SEVERITY as Severity;
    const now = clients.now ?? Date.now;
    let sns: SNSClient | undefined;
    const publish =
      clients.publish ??
      (async (n: FindingNotification) => {
        sns ??= new SNSClient({});
        await sns.send(
          new PublishCommand({
            TopicArn: env.FINDINGS_TOPIC_ARN,
            Subject: n.subject,
            MessageStructure: 'json',
            Message: JSON.stringify(n.bodies),
            MessageAttributes: Object.fromEntries(Object.entries(n.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
          }),
        );
      });

    return async (event) => {
      const failures: string[] = [];
      const counts = { sent: 0, repeats: 0, duplicates: 0, belowSeverity: 0, unreadable: 0 };
      for (const record of event.Records) {
        const f = findingOf(record.body);
        if (!f) {
          counts.unreadable++;
          logger.warn('not a Finding Recorded event; dropped', { messageId: record.messageId });
          continue;
        }
        if (!atLeast(f.severity, minSeverity)) {
          counts.belowSeverity++;
          continue;
        }
        try {
          const dedupKey = dedupKeyOf(f);
          const decision = await windows.claim(dedupKey, f.findingId, now());
          if (!decision.send) {
            counts[decision.reason === 'repeat' ? 'repeats' : 'duplicates']++;
            continue;
          }
          // The owner: the resource's tag, else the principal's (its owner item), else the account's.
          // With the tags the change feed looked up (cached) under what the events showed.
          const resourceKey = keys.resource(f.resource);
          const tagged = f.principal ? taggedPrincipalOf(f.principal) : undefined;
          const principalKey = tagged ? keys.principalTags(tagged) : undefined;
          const lookupKeys = [keys.lookup('resource-tags', f.resource), ...(tagged ? [keys.lookup('principal-tags', tagged)] : [])];
          // And the account's name and OU path (organization mode's account directory), in the same read.
          const items = await store.getItems([resourceKey, ...(principalKey ? [principalKey] : []), ...lookupKeys, keys.account(f.account)]);
          const looked = (k: Key) => {
            const fresh = readFreshLookup(items.get(keyString(k)), now());
            const v = fresh?.value as LookedUpTags | undefined;
            return v && typeof v.at === 'string' && typeof v.tags === 'object' ? v : undefined;
          };
          const resource = withLookedUpTags(items.get(keyString(resourceKey)), looked(lookupKeys[0]));
          const principal = principalKey ? ownerTagsOf(withLookedUpTags(items.get(keyString(principalKey)), tagged ? looked(keys.lookup('principal-tags', tagged)) : undefined), env.OWNER_TAG_KEY) : undefined;
          const owner = ownerOf({ resource: ownerTagsOf(resource, env.OWNER_TAG_KEY), principal }, f.account, accountOwners, env.OWNER_TAG_KEY);
          const account = readAccount(items.get(keyString(keys.account(f.account))));
          await publish(renderFinding(f, { owner, kind: readResource(resource)?.kind ?? null, repeatsSince: decision.repeatsSince, account: account ? { name: account.name, ouPath: account.ouPath } : null }));
          await windows.markSent(dedupKey, f.findingId);
          counts.sent++;
        } catch (error) {
          logger.error('finding not notified; the message comes back', { messageId: record.messageId, findingId: f.findingId, error: String(error) });
          failures.push(record.messageId);
        }
      }
      metrics.addMetric('NotificationsSent', MetricUnit.Count, counts.sent);
      metrics.addMetric('NotificationsHeldBack', MetricUnit.Count, counts.repeats);
      metrics.addMetric('NotificationsFailed', MetricUnit.Count, failures.length);
      logger.info('findings notified', { ...counts, failed: failures.length });
      return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
    };
  },
});

/** The notifier with its environment and clients given (tests, the local run). */
export const createNotifierHandler = notifier.create;

/** The deployed entry point. */
export const handler = notifier.handler;
