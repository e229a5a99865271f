/**
 * Security Hub exporter Lambda: `Finding Recorded` events become ASFF findings imported with
 * BatchImportFindings (core/security-hub.ts); a `Resource Changed` event whose resource is now
 * deleted archives that resource's findings (RecordState ARCHIVED), so Security Hub does not keep
 * open findings about what no longer exists. Security Hub imports only into the finding's own
 * account, in the region of its ProductArn: the findings are sent per account and region, with
 * a client of that region, and in organization mode a member account's with its member role's
 * credentials (docs/organization.md).
 *
 * Calls are within the API's limits (100 findings and 6 MB a call, 240 KB a finding); throttling
 * is retried by the SDK with backoff and jitter, and the event source runs at most two batches at
 * once, far under the 10 requests a second (burst 30). Findings in `FailedFindings` are retried
 * once, then the messages behind them fail and come back (partial batch responses).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { BatchImportFindingsCommand, SecurityHubClient, type AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { asffOf, importBatches, securityHubId, type ExportedFinding } from '../core/security-hub';
import { documentClient } from '../shared/dynamodb';
import { defineHandler, type Handler } from '../shared/house-handler';
import { createInventoryStore, type InventoryStore } from '../shared/inventory-store';
import { keys, readFinding } from '../shared/items';
import { SECURITY_HUB_EXPORT_ENVIRONMENT } from './environment';
import { lazyMemberCredentials } from '../shared/member-credentials';

export interface ExportClients {
  readonly dynamodb: DynamoDBClient;
  readonly store: InventoryStore;
  /** The client of an account and region. @default a SecurityHubClient of the region (a member's on its member role) */
  readonly securityHub: (account: string, region: string) => Pick<SecurityHubClient, 'send'>;
  readonly now: () => number;
}

export type ExportHandler = Handler<SQSEvent, SQSBatchResponse>;

interface DomainEventBody {
  readonly 'detail-type'?: string;
  readonly detail?: { readonly finding?: ExportedFinding; readonly resource?: { readonly arn?: string; readonly status?: string }; readonly changed?: readonly string[] };
}

const exporter = defineHandler({
  environment: SECURITY_HUB_EXPORT_ENVIRONMENT,
  build({ env, logger, metrics }, clients: Partial<ExportClients>): ExportHandler {
    const store = clients.store ?? createInventoryStore(documentClient(clients.dynamodb), env.TABLE_NAME);
    const members = env.ORGANIZATION_MODE === 'true' ? lazyMemberCredentials('ai-visibility-security-hub-export') : undefined;
    const made = new Map<string, SecurityHubClient>();
    const securityHub =
      clients.securityHub ??
      ((account: string, region: string) => {
        const k = `${account}:${region}`;
        let client = made.get(k);
        if (!client) {
          const credentials = members?.credentials(account, region);
          client = new SecurityHubClient({ region, maxAttempts: 6, ...(credentials ? { credentials } : {}) });
          made.set(k, client);
        }
        return client;
      });
    const now = clients.now ?? Date.now;

    /** The findings of a deleted resource, archived. */
    const archivedFindingsOf = async (resource: string, at: string): Promise<Array<Record<string, unknown>>> => {
      const { pk } = keys.resource(resource);
      const items = await store.queryRange(pk, 'FINDING#', 'FINDING#\uffff');
      const byId = new Map<string, Record<string, unknown>>();
      for (const item of items) {
        const f = readFinding(item);
        if (f) byId.set(securityHubId(f), asffOf(f, { partition: env.PARTITION, now: at, recordState: 'ARCHIVED' }));
      }
      return [...byId.values()];
    };

    /** Import findings; resolves to the Ids Security Hub did not take, after one retry of those. */
    const importAll = async (findings: ReadonlyArray<Record<string, unknown>>): Promise<{ failed: Set<string>; tooLarge: string[] }> => {
      const failed = new Set<string>();
      const tooLarge: string[] = [];
      // Per account and region: Security Hub takes a finding only in its own account, in its ProductArn's region.
      const byPlace = new Map<string, Array<Record<string, unknown>>>();
      for (const f of findings) {
        const region = String(f.ProductArn ?? '').split(':')[3] ?? '';
        const k = `${String(f.AwsAccountId)}\u0000${region}`;
        byPlace.set(k, [...(byPlace.get(k) ?? []), f]);
      }
      for (const [place, group] of byPlace) {
        const [account, region] = place.split('\u0000');
        const split = importBatches(group);
        tooLarge.push(...split.tooLarge);
        try {
          await importBatchesTo(securityHub(account, region), split.batches, failed);
        } catch (error) {
          const name = (error as { name?: string }).name ?? '';
          if (name !== 'MemberRoleUnavailableError') throw error;
          // That account's findings come back (and wait for its role); the other accounts' go on.
          logger.error('member role unavailable: findings of the account not imported', { account, region, error: String(error) });
          metrics.addMetric('MemberRoleUnavailable', MetricUnit.Count, 1);
          for (const f of group) failed.add(String(f.Id));
        }
      }
      return { failed, tooLarge };
    };

    const importBatchesTo = async (client: Pick<SecurityHubClient, 'send'>, batches: ReadonlyArray<ReadonlyArray<Record<string, unknown>>>, failed: Set<string>): Promise<void> => {
      for (const batch of batches) {
        let pending = batch;
        for (let attempt = 1; attempt <= 2 && pending.length > 0; attempt++) {
          const out = await client.send(new BatchImportFindingsCommand({ Findings: pending as unknown as AwsSecurityFinding[] }));
          const refused = new Set((out.FailedFindings ?? []).map((x) => x.Id ?? ''));
          if (refused.size) logger.warn('Security Hub refused findings', { attempt, failed: out.FailedFindings });
          pending = pending.filter((f) => refused.has(String(f.Id)));
        }
        for (const f of pending) failed.add(String(f.Id));
      }
    };

    return async (event, context) => {
      members?.learn(context?.invokedFunctionArn);
      const at = new Date(now()).toISOString();
      const byMessage = new Map<string, string[]>();
      const toImport: Array<Record<string, unknown>> = [];
      const failures = new Set<string>();
      for (const record of event.Records) {
        let body: DomainEventBody;
        try {
          body = JSON.parse(record.body) as DomainEventBody;
        } catch {
          logger.warn('not a domain event; dropped', { messageId: record.messageId });
          continue;
        }
        try {
          let findings: Array<Record<string, unknown>> = [];
          if (body['detail-type'] === 'Finding Recorded' && body.detail?.finding) findings = [asffOf(body.detail.finding, { partition: env.PARTITION, now: at })];
          else if (body['detail-type'] === 'Resource Changed' && body.detail?.resource?.status === 'deleted' && body.detail.resource.arn) findings = await archivedFindingsOf(body.detail.resource.arn, at);
          byMessage.set(record.messageId, findings.map((f) => String(f.Id)));
          toImport.push(...findings);
        } catch (error) {
          logger.error('event not exported; the message comes back', { messageId: record.messageId, error: String(error) });
          failures.add(record.messageId);
        }
      }
      let imported = 0;
      try {
        const { failed, tooLarge } = await importAll(toImport);
        if (tooLarge.length) logger.error('findings over 240 KB even without their evidence; not imported', { ids: tooLarge });
        for (const [messageId, ids] of byMessage) if (ids.some((id) => failed.has(id))) failures.add(messageId);
        imported = toImport.length - failed.size - tooLarge.length;
        metrics.addMetric('SecurityHubFindingsFailed', MetricUnit.Count, failed.size + tooLarge.length);
      } catch (error) {
        logger.error('BatchImportFindings failed; the batch comes back', { error: String(error) });
        for (const messageId of byMessage.keys()) failures.add(messageId);
      }
      metrics.addMetric('SecurityHubFindingsImported', MetricUnit.Count, Math.max(0, imported));
      logger.info('findings exported to Security Hub', { imported, messages: event.Records.length, failed: failures.size });
      return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
    };
  },
});

/** The exporter with its environment and clients given (tests). */
export const createSecurityHubExportHandler = exporter.create;

/** The deployed entry point. */
export const handler = exporter.handler;
