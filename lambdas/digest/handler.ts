/**
 * Digest Lambda: EventBridge Scheduler starts it daily. It reads the table (one paginated Scan:
 * the digest needs resources, findings, agents, ledgers, verdicts and quarantine of the period,
 * and a daily read of the whole table costs less than keeping extra indexes), the dead-letter
 * queues' depths, builds the digests (digest.ts) and publishes each to the findings topic: one
 * for everything, one per owner with findings (attribute `owner`), with `kind`, `severity` and
 * `rule` set to `digest` so subscriptions filtered by them still receive it.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { DIGEST_ATTRIBUTES, subjectOf } from '../core/notifications';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import type { RawItem } from '../shared/items';
import { buildDigests, renderDigest, type Digest } from './digest';
import { DIGEST_ENVIRONMENT } from './environment';

export interface DigestClients {
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly now: () => number;
}

export interface DigestResult {
  readonly since: string;
  readonly until: string;
  readonly published: number;
  readonly owners: readonly string[];
}

/** A digest for chat channels: the Q Developer custom-notification schema (see core/notifications.ts). */
function chatBody(d: Digest, text: string): string {
  const critical = (d.findingsBySeverity.critical ?? 0) + (d.findingsBySeverity.high ?? 0);
  return JSON.stringify({
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title: `ai-visibility digest${d.owner ? ` for ${d.owner}` : ''}: ${d.findings.reduce((n, f) => n + f.count, 0)} finding(s), ${critical} high or critical`,
      description: text.split('\n').slice(1).join('\n').slice(0, 7_000),
      keywords: ['digest', ...(d.owner ? [d.owner] : [])],
    },
    metadata: { threadId: `digest#${d.owner ?? 'all'}`, summary: `digest ${d.since} to ${d.until}`, eventType: 'digest', relatedResources: [], additionalContext: { owner: d.owner ?? '' } },
  });
}

const digest = defineHandler({
  environment: DIGEST_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<DigestClients>): Handler<unknown, DigestResult> {
    const documents = documentClient(clients.dynamodb);
    const sns = clients.sns ?? new SNSClient({});
    const sqs = clients.sqs ?? new SQSClient({});
    const now = clients.now ?? Date.now;
    const queues = JSON.parse(env.DEAD_LETTER_QUEUES) as Record<string, string>;
    const accountOwners = JSON.parse(env.ACCOUNT_OWNERS) as Record<string, string>;

    return async () => {
      const until = new Date(now()).toISOString();
      const since = new Date(now() - Number(env.PERIOD_HOURS) * 3_600_000).toISOString();
      const items: RawItem[] = [];
      for await (const page of paginateScan({ client: documents }, { TableName: env.TABLE_NAME })) items.push(...((page.Items ?? []) as RawItem[]));
      const deadLettered: Record<string, number> = {};
      for (const [name, url] of Object.entries(queues)) {
        try {
          const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
          deadLettered[name] = Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
        } catch (error) {
          logger.warn('dead-letter queue depth not read', { queue: name, error: String(error) });
        }
      }
      const { everything, byOwner } = buildDigests({ since, until, items, deadLettered, accountOwners, ownerTagKey: env.OWNER_TAG_KEY, apiKeyMaxAgeDays: Number(env.API_KEY_MAX_AGE_DAYS) });
      for (const d of [everything, ...byOwner]) {
        const text = renderDigest(d);
        await sns.send(
          new PublishCommand({
            TopicArn: env.FINDINGS_TOPIC_ARN,
            Subject: subjectOf(`[ai-visibility] digest${d.owner ? ` for ${d.owner}` : ''}, ${since.slice(0, 10)} to ${until.slice(0, 10)}`),
            MessageStructure: 'json',
            Message: JSON.stringify({ default: chatBody(d, text), email: text }),
            MessageAttributes: Object.fromEntries(
              Object.entries({ ...DIGEST_ATTRIBUTES, owner: d.owner ?? 'none', region: process.env.AWS_REGION ?? 'none' }).map(([k, v]) => [k, { DataType: 'String', StringValue: v.slice(0, 256) || 'none' }]),
            ),
          }),
        );
      }
      metrics.addMetric('DigestsPublished', MetricUnit.Count, 1 + byOwner.length);
      logger.info('digests published', { since, until, items: items.length, owners: byOwner.map((d) => d.owner) });
      return { since, until, published: 1 + byOwner.length, owners: byOwner.map((d) => d.owner ?? '') };
    };
  },
});

/** The digest with its environment and clients given (tests). */
export const createDigestHandler = digest.create;

/** The deployed entry point. */
export const handler = digest.handler;
