/**
 * The AWS APIs of one region the sweep's target step calls: discovery (EC2, SageMaker, Bedrock
 * listings) and GetMetricData. Its own module, loaded by the handler only when a target is
 * swept: the Plan and Summarize steps never evaluate these clients (the EC2 client alone is
 * over 800 KB of bundled code).
 */
import { BedrockClient, paginateListProvisionedModelThroughputs } from '@aws-sdk/client-bedrock';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { EC2Client, paginateDescribeInstances, StopInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeTrainingJobCommand,
  paginateListEndpoints,
  paginateListNotebookInstances,
  paginateListTrainingJobs,
  SageMakerClient,
  StopNotebookInstanceCommand,
} from '@aws-sdk/client-sagemaker';
import { kindOfArn, partitionOfRegion } from '../core/arn';
import { acceleratorsOf } from '../core/accelerators';
import { GPU_TYPE_FILTER, type Discovery } from './discover';
import type { MetricReader, SweepTarget } from './metrics';
import type { RemediationActions } from './sweep';
import type { CredentialProvider } from '../shared/member-credentials';

/** Discovery, metrics and the remediation's actions for a region, with clients of that region (and of the account whose credentials are given). */
export function regionalApis(region: string, credentials?: CredentialProvider): { discovery: Discovery; metrics: MetricReader; remediation: RemediationActions } {
  // Another account's: the member role's credentials (organization mode); else the function's own.
  const options = credentials ? { region, credentials } : { region };
  const cloudwatch = new CloudWatchClient(options);
  const ec2 = new EC2Client(options);
  const sagemaker = new SageMakerClient(options);
  return {
    discovery: awsDiscovery({ ec2, sagemaker, bedrock: new BedrockClient(options) }),
    metrics: { getMetricData: (input) => cloudwatch.send(new GetMetricDataCommand(input)) },
    remediation: remediationActions({ ec2, sagemaker }),
  };
}

/**
 * Stop, never terminate: `StopInstances` (EC2) and `StopNotebookInstance` (SageMaker). The role
 * may call them only on resources tagged ai-visibility:idle-action=stop (aws:ResourceTag).
 */
export function remediationActions(clients: { ec2: Pick<EC2Client, 'send'>; sagemaker: Pick<SageMakerClient, 'send'> }): RemediationActions {
  return {
    stopInstance: async (_region, instanceId) => {
      await clients.ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    },
    stopNotebook: async (_region, name) => {
      await clients.sagemaker.send(new StopNotebookInstanceCommand({ NotebookInstanceName: name }));
    },
  };
}

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

