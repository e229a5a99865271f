/**
 * What to sweep in one account and region: the running accelerator resources the AWS APIs list,
 * joined with the GPU instances the inventory knows (so an instance launched while the capture
 * rules were not looking, or whose type only a launch template named, is still swept).
 */
import { paginateListProvisionedModelThroughputs, type BedrockClient } from '@aws-sdk/client-bedrock';
import { paginateDescribeInstances, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeTrainingJobCommand,
  paginateListEndpoints,
  paginateListNotebookInstances,
  paginateListTrainingJobs,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { kindOfArn, partitionOfRegion } from '../core/arn';
import { indexQueries, readResource } from '../shared/items';
import { ACCELERATORS, acceleratorsOf } from './catalog';
import type { SweepTarget } from './metrics';

export interface Discovery {
  /** The running accelerator resources of an account and region. */
  discover(account: string, region: string): Promise<SweepTarget[]>;
}

export interface InventorySource {
  /** The active GPU instances the inventory holds for an account and region. */
  gpuInstances(account: string, region: string): Promise<SweepTarget[]>;
}

/** EC2 instance-type filter values: every accelerator type the catalog knows, by family wildcard. */
export const GPU_TYPE_FILTER = [...new Set(Object.keys(ACCELERATORS).map((t) => `${t.split('.')[0]}.*`))].sort();

export function awsDiscovery(clients: { ec2: EC2Client; sagemaker: SageMakerClient; bedrock: BedrockClient }): Discovery {
  return {
    async discover(account, region) {
      const out: SweepTarget[] = [];
      const found = (t: Omit<SweepTarget, 'account' | 'region' | 'foundBy'>) => out.push({ ...t, account, region, foundBy: ['discovery'] });

      for await (const page of paginateDescribeInstances({ client: clients.ec2 }, { Filters: [{ Name: 'instance-state-name', Values: ['running'] }, { Name: 'instance-type', Values: GPU_TYPE_FILTER }] })) {
        for (const r of page.Reservations ?? []) {
          for (const i of r.Instances ?? []) {
            if (!i.InstanceId || !i.InstanceType || !acceleratorsOf(i.InstanceType)) continue;
            found({ arn: `arn:${partitionOfRegion(region)}:ec2:${region}:${r.OwnerId ?? account}:instance/${i.InstanceId}`, kind: 'gpu-instance', name: i.InstanceId, instanceType: i.InstanceType, instanceCount: 1 });
          }
        }
      }

      for await (const page of paginateListEndpoints({ client: clients.sagemaker }, { StatusEquals: 'InService' })) {
        for (const e of page.Endpoints ?? []) {
          const endpoint = await clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: e.EndpointName }));
          const config = await clients.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
          const variants = (config.ProductionVariants ?? []).flatMap((v) => {
            if (!v.VariantName || !v.InstanceType || !acceleratorsOf(v.InstanceType)) return [];
            const live = endpoint.ProductionVariants?.find((p) => p.VariantName === v.VariantName);
            return [{ name: v.VariantName, instanceType: v.InstanceType, instanceCount: live?.CurrentInstanceCount ?? v.InitialInstanceCount ?? 1 }];
          });
          if (variants.length === 0 || !e.EndpointArn || !e.EndpointName) continue;
          found({ arn: kindOfArn(e.EndpointArn)?.arn ?? e.EndpointArn, kind: 'inference-endpoint', name: e.EndpointName, instanceType: variants[0].instanceType, instanceCount: variants.reduce((n, v) => n + v.instanceCount, 0), variants });
        }
      }

      for await (const page of paginateListTrainingJobs({ client: clients.sagemaker }, { StatusEquals: 'InProgress' })) {
        for (const j of page.TrainingJobSummaries ?? []) {
          const job = await clients.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: j.TrainingJobName }));
          const type = job.ResourceConfig?.InstanceType;
          if (!type || !acceleratorsOf(type) || !j.TrainingJobArn || !j.TrainingJobName) continue;
          found({ arn: kindOfArn(j.TrainingJobArn)?.arn ?? j.TrainingJobArn, kind: 'training-job', name: j.TrainingJobName, instanceType: type, instanceCount: job.ResourceConfig?.InstanceCount ?? 1 });
        }
      }

      for await (const page of paginateListNotebookInstances({ client: clients.sagemaker }, { StatusEquals: 'InService' })) {
        for (const n of page.NotebookInstances ?? []) {
          if (!n.InstanceType || !acceleratorsOf(n.InstanceType) || !n.NotebookInstanceArn || !n.NotebookInstanceName) continue;
          found({ arn: kindOfArn(n.NotebookInstanceArn)?.arn ?? n.NotebookInstanceArn, kind: 'notebook', name: n.NotebookInstanceName, instanceType: n.InstanceType, instanceCount: 1 });
        }
      }

      for await (const page of paginateListProvisionedModelThroughputs({ client: clients.bedrock }, { statusEquals: 'InService' })) {
        for (const p of page.provisionedModelSummaries ?? []) {
          if (!p.provisionedModelArn) continue;
          found({ arn: p.provisionedModelArn, kind: 'provisioned-throughput', name: p.provisionedModelName ?? p.provisionedModelArn, instanceCount: p.modelUnits ?? 1 });
        }
      }
      return out;
    },
  };
}

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
