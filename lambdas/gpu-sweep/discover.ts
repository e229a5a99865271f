/**
 * What to sweep in one account and region: the running accelerator resources the AWS APIs list
 * (aws-apis.ts), joined with the GPU instances the inventory knows (so an instance launched while
 * the capture rules were not looking, or whose type only a launch template named, is still swept).
 */
import { paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { indexQueries, readResource } from '../shared/items';
import { GPU_TYPE_FILTER } from '../core/accelerators';
import type { SweepTarget } from './metrics';

export interface Discovery {
  /** The running accelerator resources of an account and region. */
  discover(account: string, region: string): Promise<SweepTarget[]>;
}

export interface InventorySource {
  /** The active GPU instances the inventory holds for an account and region. */
  gpuInstances(account: string, region: string): Promise<SweepTarget[]>;
}

/** EC2 instance-type filter values (the accelerator catalog's families). */
export { GPU_TYPE_FILTER };

/** The inventory's GPU instances of an account (byAccount index, one partition per account), active ones in the region. */
export function inventorySource(client: DynamoDBDocumentClient, tableName: string): InventorySource {
  return {
    async gpuInstances(account, region) {
      const out: SweepTarget[] = [];
      const query = indexQueries.resourcesOfAccount(account, 'gpu-instance');
      const pages = paginateQuery(
        { client },
        {
          TableName: tableName,
          IndexName: query.index.indexName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :kind)',
          ExpressionAttributeNames: { '#pk': query.index.partitionKey, '#sk': query.index.sortKey },
          ExpressionAttributeValues: { ':pk': query.partition, ':kind': query.sortKeyPrefix },
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          // The index projects the identity fields a resource reader needs (arn, kind, region, status).
          const r = readResource(item);
          if (!r || r.region !== region || r.status !== 'active') continue;
          out.push({ arn: r.arn, kind: 'gpu-instance', account, region, name: r.arn.split('/').pop() ?? r.arn, foundBy: ['inventory'] });
        }
      }
      return out;
    },
  };
}

/** Discovery and inventory joined by ARN; the inventory's instance type fills in when discovery did not see it. */
export function mergeTargets(discovered: readonly SweepTarget[], inventory: readonly SweepTarget[], types: ReadonlyMap<string, string> = new Map()): SweepTarget[] {
  const byArn = new Map(discovered.map((t) => [t.arn, t]));
  for (const t of inventory) {
    const seen = byArn.get(t.arn);
    if (seen) byArn.set(t.arn, { ...seen, foundBy: ['discovery', 'inventory'] });
    else byArn.set(t.arn, { ...t, instanceType: t.instanceType ?? types.get(t.arn) });
  }
  return [...byArn.values()].sort((a, b) => a.arn.localeCompare(b.arn));
}
