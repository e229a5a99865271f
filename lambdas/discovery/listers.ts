/**
 * The listing APIs of one account and region: Bedrock (models, guardrails, profiles,
 * throughput, logging, jobs in progress), Bedrock agents (agents, aliases, action groups,
 * knowledge bases, data sources, flows, prompts), AgentCore (runtimes, gateways, memories,
 * workload identities), SageMaker (endpoints and configs, models, training jobs in progress,
 * notebooks, domains) and EC2 accelerator instances.
 *
 * Every lister runs on its own: one that fails (AccessDenied, a service not offered in the
 * region) is reported with its error and the rest go on; only an API that answered every page
 * may judge a resource gone (`ApiOutcome.complete`). Read-only calls only: List*, Get*,
 * Describe*.
 */
import {
  BedrockClient,
  GetCustomModelCommand,
  GetGuardrailCommand,
  GetImportedModelCommand,
  GetModelInvocationLoggingConfigurationCommand,
  ListCustomModelsCommand,
  ListGuardrailsCommand,
  ListImportedModelsCommand,
  ListInferenceProfilesCommand,
  ListModelCustomizationJobsCommand,
  ListModelInvocationJobsCommand,
  ListProvisionedModelThroughputsCommand,
} from '@aws-sdk/client-bedrock';
import {
  BedrockAgentClient,
  GetAgentActionGroupCommand,
  GetAgentCommand,
  GetDataSourceCommand,
  GetKnowledgeBaseCommand,
  ListAgentActionGroupsCommand,
  ListAgentAliasesCommand,
  ListAgentKnowledgeBasesCommand,
  ListAgentsCommand,
  ListDataSourcesCommand,
  ListFlowsCommand,
  ListKnowledgeBasesCommand,
  ListPromptsCommand,
} from '@aws-sdk/client-bedrock-agent';
import {
  BedrockAgentCoreControlClient,
  GetAgentRuntimeCommand,
  ListAgentRuntimesCommand,
  ListGatewaysCommand,
  ListMemoriesCommand,
  ListWorkloadIdentitiesCommand,
} from '@aws-sdk/client-bedrock-agentcore-control';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeNotebookInstanceCommand,
  DescribeTrainingJobCommand,
  ListDomainsCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  ListNotebookInstancesCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { agentCoreArn, bedrockArn, resolveModelId, sageMakerArn } from '../core/arn';
import { dataSourceNode, RELATIONS } from '../core/lineage';
import type { ResourceKind } from '../core/model';
import type { ApiOutcome, ListedResource, ListedSettings } from '../core/listing';
import { acceleratorsOf, GPU_TYPE_FILTER } from '../core/accelerators';
import { ListingContext, iso, type ListingPlace, type RetryOptions } from './listing-kit';
import { pool } from '../shared/pool';

export interface ListingClients {
  readonly bedrock: Pick<BedrockClient, 'send'>;
  readonly bedrockAgent: Pick<BedrockAgentClient, 'send'>;
  readonly agentCore: Pick<BedrockAgentCoreControlClient, 'send'>;
  readonly sagemaker: Pick<SageMakerClient, 'send'>;
  readonly ec2: Pick<EC2Client, 'send'>;
}

interface Lister {
  /** `service:Operation` of the listing call: how the outcome and the evidence name it. */
  readonly api: string;
  /** Kinds a complete answer covers (drift). A lister of jobs in progress covers none: finished jobs are not absent. */
  readonly kinds: readonly ResourceKind[];
  readonly run: (x: ListingContext, c: ListingClients, settings: Settings) => Promise<void>;
}

interface Settings {
  invocationLogging?: ListedSettings['invocationLogging'];
}

/** The model a Bedrock configuration names (id, profile id or ARN), as the events resolve it. */
const model = (x: ListingContext, id: string | undefined) => (id ? resolveModelId(x.place, id)?.arn : undefined);

const BEDROCK: Lister[] = [
  {
    api: 'bedrock:ListCustomModels',
    kinds: ['custom-model'],
    async run(x, c) {
      const arns: string[] = [];
      for await (const page of x.pages((nextToken) => c.bedrock.send(new ListCustomModelsCommand({ nextToken })), (p) => p.nextToken)) {
        for (const m of page.modelSummaries ?? []) if (m.modelArn) arns.push(m.modelArn);
      }
      await x.each(arns, async (arn) => {
        const m = await x.call(() => c.bedrock.send(new GetCustomModelCommand({ modelIdentifier: arn })));
        const e = x.edges();
        e.add(e.s3(m.trainingDataConfig?.s3Uri), RELATIONS.inputOf, m.jobArn);
        for (const v of m.validationDataConfig?.validators ?? []) e.add(e.s3(v.s3Uri), RELATIONS.inputOf, m.jobArn);
        e.add(model(x, m.baseModelArn), RELATIONS.baseModelOf, m.jobArn);
        e.add(m.jobArn, RELATIONS.outputTo, e.s3(m.outputDataConfig?.s3Uri));
        e.add(m.jobArn, RELATIONS.produces, m.modelArn ?? arn);
        e.add(m.modelArn ?? arn, RELATIONS.invocationsLoggedBy, x.loggingConfig);
        x.add({
          arn: m.modelArn ?? arn,
          kind: 'custom-model',
          api: 'bedrock:GetCustomModel',
          configuration: { modelName: m.modelName, baseModelArn: m.baseModelArn, jobArn: m.jobArn, customizationType: m.customizationType, kmsKeyArn: m.modelKmsKeyArn, trainingData: m.trainingDataConfig?.s3Uri, serviceStatus: m.modelStatus },
          edges: e,
          changedAt: m.creationTime,
        });
      });
    },
  },
  {
    api: 'bedrock:ListImportedModels',
    kinds: ['imported-model'],
    async run(x, c) {
      const arns: string[] = [];
      for await (const page of x.pages((nextToken) => c.bedrock.send(new ListImportedModelsCommand({ nextToken })), (p) => p.nextToken)) {
        for (const m of page.modelSummaries ?? []) if (m.modelArn) arns.push(m.modelArn);
      }
      await x.each(arns, async (arn) => {
        const m = await x.call(() => c.bedrock.send(new GetImportedModelCommand({ modelIdentifier: arn })));
        const e = x.edges();
        e.add(e.s3(m.modelDataSource?.s3DataSource?.s3Uri), RELATIONS.inputOf, m.jobArn);
        e.add(m.jobArn, RELATIONS.produces, m.modelArn ?? arn);
        e.add(m.modelArn ?? arn, RELATIONS.invocationsLoggedBy, x.loggingConfig);
        x.add({
          arn: m.modelArn ?? arn,
          kind: 'imported-model',
          api: 'bedrock:GetImportedModel',
          configuration: { modelName: m.modelName, jobArn: m.jobArn, modelArchitecture: m.modelArchitecture, kmsKeyArn: m.modelKmsKeyArn, modelData: m.modelDataSource?.s3DataSource?.s3Uri },
          edges: e,
          changedAt: m.creationTime,
        });
      });
    },
  },
  {
    api: 'bedrock:ListGuardrails',
    kinds: ['guardrail'],
    async run(x, c) {
      const ids: string[] = [];
      // Without guardrailIdentifier the list holds each guardrail once (its DRAFT).
      for await (const page of x.pages((nextToken) => c.bedrock.send(new ListGuardrailsCommand({ nextToken })), (p) => p.nextToken)) {
        for (const g of page.guardrails ?? []) if (g.id) ids.push(g.id);
      }
      await x.each(ids, async (id) => {
        const g = await x.call(() => c.bedrock.send(new GetGuardrailCommand({ guardrailIdentifier: id })));
        const filters = g.contentPolicy?.filters ?? [];
        x.add({
          arn: g.guardrailArn ?? bedrockArn(x.place, 'guardrail', id),
          kind: 'guardrail',
          api: 'bedrock:GetGuardrail',
          configuration: {
            name: g.name,
            version: g.version,
            serviceStatus: g.status,
            kmsKeyArn: g.kmsKeyArn,
            policies: [g.topicPolicy && 'topicPolicy', g.contentPolicy && 'contentPolicy', g.wordPolicy && 'wordPolicy', g.sensitiveInformationPolicy && 'sensitiveInformationPolicy', g.contextualGroundingPolicy && 'contextualGroundingPolicy'].filter((p): p is string => !!p),
            // One entry per filter and side: `PROMPT_ATTACK input LOW`; the findings read it.
            contentFilters: filters.flatMap((f) => [`${f.type} input ${f.inputStrength ?? 'NONE'}`, `${f.type} output ${f.outputStrength ?? 'NONE'}`]),
          },
          changedAt: g.updatedAt,
        });
      });
    },
  },
  {
    api: 'bedrock:ListInferenceProfiles',
    kinds: ['inference-profile'],
    async run(x, c) {
      // Application profiles only: system-defined ones are AWS's, the same in every account.
      for await (const page of x.pages((nextToken) => c.bedrock.send(new ListInferenceProfilesCommand({ nextToken, typeEquals: 'APPLICATION' })), (p) => p.nextToken)) {
        for (const p of page.inferenceProfileSummaries ?? []) {
          const e = x.edges();
          for (const m of p.models ?? []) e.add(model(x, m.modelArn), RELATIONS.modelOf, p.inferenceProfileArn);
          x.add({ arn: p.inferenceProfileArn, kind: 'inference-profile', configuration: { name: p.inferenceProfileName, models: (p.models ?? []).flatMap((m) => (m.modelArn ? [m.modelArn] : [])), serviceStatus: p.status, type: p.type }, edges: e, changedAt: p.updatedAt });
        }
      }
    },
  },
  {
    api: 'bedrock:ListProvisionedModelThroughputs',
    kinds: ['provisioned-throughput'],
    async run(x, c) {
      for await (const page of x.pages((nextToken) => c.bedrock.send(new ListProvisionedModelThroughputsCommand({ nextToken })), (p) => p.nextToken)) {
        for (const p of page.provisionedModelSummaries ?? []) {
          const e = x.edges();
          e.add(model(x, p.modelArn), RELATIONS.modelOf, p.provisionedModelArn);
          e.add(p.provisionedModelArn, RELATIONS.invocationsLoggedBy, x.loggingConfig);
          x.add({ arn: p.provisionedModelArn, kind: 'provisioned-throughput', configuration: { name: p.provisionedModelName, modelArn: p.modelArn, foundationModelArn: p.foundationModelArn, modelUnits: p.modelUnits, commitmentDuration: p.commitmentDuration, serviceStatus: p.status }, edges: e, changedAt: p.lastModifiedTime });
        }
      }
    },
  },
  {
    api: 'bedrock:GetModelInvocationLoggingConfiguration',
    kinds: ['invocation-logging-config'],
    async run(x, c, settings) {
      const out = await x.call(() => c.bedrock.send(new GetModelInvocationLoggingConfigurationCommand({})));
      const cfg = out.loggingConfig;
      if (!cfg) {
        settings.invocationLogging = null;
        return;
      }
      const dataTypes = Object.fromEntries(
        (['textDataDeliveryEnabled', 'imageDataDeliveryEnabled', 'embeddingDataDeliveryEnabled', 'videoDataDeliveryEnabled'] as const).flatMap((k) => (typeof cfg[k] === 'boolean' ? [[k, cfg[k] as boolean]] : [])),
      );
      const s3Bucket = cfg.s3Config?.bucketName;
      const logGroup = cfg.cloudWatchConfig?.logGroupName;
      settings.invocationLogging = { ...(s3Bucket ? { s3Bucket } : {}), ...(logGroup ? { logGroup } : {}), dataTypes };
      const e = x.edges();
      if (s3Bucket) e.add(x.loggingConfig, RELATIONS.logsTo, e.s3(`s3://${s3Bucket}${cfg.s3Config?.keyPrefix ? `/${cfg.s3Config.keyPrefix}` : ''}`));
      if (logGroup) e.add(x.loggingConfig, RELATIONS.logsTo, `arn:${x.place.partition}:logs:${x.place.region}:${x.place.account}:log-group:${logGroup}`);
      x.add({ arn: x.loggingConfig, kind: 'invocation-logging-config', configuration: { s3Bucket, logGroup, ...dataTypes }, edges: e });
    },
  },
  {
    api: 'bedrock:ListModelCustomizationJobs',
    kinds: [],
    async run(x, c) {
      for await (const page of x.pages((nextToken) => c.bedrock.send(new ListModelCustomizationJobsCommand({ nextToken, statusEquals: 'InProgress' })), (p) => p.nextToken)) {
        for (const j of page.modelCustomizationJobSummaries ?? []) {
          const e = x.edges().add(model(x, j.baseModelArn), RELATIONS.baseModelOf, j.jobArn);
          x.add({ arn: j.jobArn, kind: 'customization-job', configuration: { jobName: j.jobName, baseModelArn: j.baseModelArn, customModelName: j.customModelName, customizationType: j.customizationType, serviceStatus: j.status }, edges: e, changedAt: j.lastModifiedTime ?? j.creationTime });
        }
      }
    },
  },
  {
    api: 'bedrock:ListModelInvocationJobs',
    kinds: [],
    async run(x, c) {
      for await (const page of x.pages((nextToken) => c.bedrock.send(new ListModelInvocationJobsCommand({ nextToken, statusEquals: 'InProgress' })), (p) => p.nextToken)) {
        for (const j of page.invocationJobSummaries ?? []) {
          const e = x.edges();
          e.add(e.s3(j.inputDataConfig?.s3InputDataConfig?.s3Uri), RELATIONS.inputOf, j.jobArn);
          e.add(model(x, j.modelId), RELATIONS.modelOf, j.jobArn);
          e.add(j.jobArn, RELATIONS.outputTo, e.s3(j.outputDataConfig?.s3OutputDataConfig?.s3Uri));
          x.add({ arn: j.jobArn, kind: 'batch-inference-job', configuration: { jobName: j.jobName, modelId: j.modelId, roleArn: j.roleArn, serviceStatus: j.status }, edges: e, changedAt: j.lastModifiedTime ?? j.submitTime });
        }
      }
    },
  },
];

const AGENTS: Lister[] = [
  {
    api: 'bedrock-agent:ListAgents',
    kinds: ['agent', 'agent-alias'],
    async run(x, c) {
      const ids: string[] = [];
      for await (const page of x.pages((nextToken) => c.bedrockAgent.send(new ListAgentsCommand({ nextToken })), (p) => p.nextToken)) {
        for (const a of page.agentSummaries ?? []) if (a.agentId) ids.push(a.agentId);
      }
      await x.each(ids, async (agentId) => {
        const { agent: a } = await x.call(() => c.bedrockAgent.send(new GetAgentCommand({ agentId })));
        const arn = a?.agentArn ?? bedrockArn(x.place, 'agent', agentId);
        const e = x.edges();
        e.add(model(x, a?.foundationModel), RELATIONS.modelOf, arn);
        e.add(arn, RELATIONS.invocationsLoggedBy, x.loggingConfig);
        const aliases: string[] = [];
        for await (const page of x.pages((nextToken) => c.bedrockAgent.send(new ListAgentAliasesCommand({ agentId, nextToken })), (p) => p.nextToken)) {
          for (const alias of page.agentAliasSummaries ?? []) {
            if (!alias.agentAliasId) continue;
            aliases.push(alias.agentAliasId);
            x.add({
              arn: bedrockArn(x.place, 'agent-alias', `${agentId}/${alias.agentAliasId}`),
              kind: 'agent-alias',
              api: 'bedrock-agent:ListAgentAliases',
              configuration: { agentId, name: alias.agentAliasName, serviceStatus: alias.agentAliasStatus, versions: (alias.routingConfiguration ?? []).flatMap((r) => (r.agentVersion ? [r.agentVersion] : [])) },
              changedAt: alias.updatedAt,
            });
          }
        }
        // The working draft's tools and knowledge bases: what the agent is built with.
        const groups: Array<{ id: string; name: string }> = [];
        for await (const page of x.pages((nextToken) => c.bedrockAgent.send(new ListAgentActionGroupsCommand({ agentId, agentVersion: 'DRAFT', nextToken })), (p) => p.nextToken)) {
          for (const g of page.actionGroupSummaries ?? []) if (g.actionGroupId) groups.push({ id: g.actionGroupId, name: g.actionGroupName ?? g.actionGroupId });
        }
        const tools: string[] = [];
        for (const g of groups) {
          const { agentActionGroup } = await x.call(() => c.bedrockAgent.send(new GetAgentActionGroupCommand({ agentId, agentVersion: 'DRAFT', actionGroupId: g.id })));
          const fn = agentActionGroup?.actionGroupExecutor?.lambda;
          if (fn) {
            tools.push(fn);
            e.add(fn.replace(/:(\$LATEST|\d+)$/, ''), RELATIONS.toolOf, arn);
          }
        }
        const knowledgeBases: string[] = [];
        for await (const page of x.pages((nextToken) => c.bedrockAgent.send(new ListAgentKnowledgeBasesCommand({ agentId, agentVersion: 'DRAFT', nextToken })), (p) => p.nextToken)) {
          for (const kb of page.agentKnowledgeBaseSummaries ?? []) {
            if (!kb.knowledgeBaseId) continue;
            knowledgeBases.push(kb.knowledgeBaseId);
            e.add(bedrockArn(x.place, 'knowledge-base', kb.knowledgeBaseId), RELATIONS.knowledgeBaseOf, arn);
          }
        }
        x.add({
          arn,
          kind: 'agent',
          api: 'bedrock-agent:GetAgent',
          configuration: {
            name: a?.agentName,
            foundationModel: a?.foundationModel,
            roleArn: a?.agentResourceRoleArn,
            kmsKeyArn: a?.customerEncryptionKeyArn,
            guardrail: a?.guardrailConfiguration?.guardrailIdentifier,
            serviceStatus: a?.agentStatus,
            aliases,
            actionGroups: groups.map((g) => g.name),
            tools,
            knowledgeBases,
          },
          edges: e,
          changedAt: a?.updatedAt,
        });
      });
    },
  },
  {
    api: 'bedrock-agent:ListKnowledgeBases',
    kinds: ['knowledge-base'],
    async run(x, c) {
      const ids: string[] = [];
      for await (const page of x.pages((nextToken) => c.bedrockAgent.send(new ListKnowledgeBasesCommand({ nextToken })), (p) => p.nextToken)) {
        for (const kb of page.knowledgeBaseSummaries ?? []) if (kb.knowledgeBaseId) ids.push(kb.knowledgeBaseId);
      }
      await x.each(ids, async (knowledgeBaseId) => {
        const { knowledgeBase: kb } = await x.call(() => c.bedrockAgent.send(new GetKnowledgeBaseCommand({ knowledgeBaseId })));
        const arn = kb?.knowledgeBaseArn ?? bedrockArn(x.place, 'knowledge-base', knowledgeBaseId);
        const embedding = kb?.knowledgeBaseConfiguration?.vectorKnowledgeBaseConfiguration?.embeddingModelArn;
        const e = x.edges();
        e.add(model(x, embedding), RELATIONS.embeddingModelOf, arn);
        e.add(arn, RELATIONS.invocationsLoggedBy, x.loggingConfig);
        const sources: string[] = [];
        const dataSources: string[] = [];
        for await (const page of x.pages((nextToken) => c.bedrockAgent.send(new ListDataSourcesCommand({ knowledgeBaseId, nextToken })), (p) => p.nextToken)) {
          for (const s of page.dataSourceSummaries ?? []) if (s.dataSourceId) dataSources.push(s.dataSourceId);
        }
        for (const dataSourceId of dataSources) {
          const { dataSource: ds } = await x.call(() => c.bedrockAgent.send(new GetDataSourceCommand({ knowledgeBaseId, dataSourceId })));
          const node = dataSourceNode(x.place.region, x.place.account, knowledgeBaseId, dataSourceId);
          const s3 = ds?.dataSourceConfiguration?.s3Configuration;
          const bucket = e.s3(s3?.bucketArn);
          const prefixes = (s3?.inclusionPrefixes ?? []).filter((p) => p !== '');
          const locations = bucket && prefixes.length ? prefixes.map((p) => e.s3(`s3://${bucket.split(':::')[1]}/${p}`)) : [bucket];
          for (const location of locations) e.add(location, RELATIONS.sourceOf, node);
          e.add(node, RELATIONS.ingestedInto, arn);
          sources.push(`${ds?.dataSourceConfiguration?.type ?? 'UNKNOWN'}${s3?.bucketArn ? ` ${s3.bucketArn}` : ''}`);
        }
        x.add({
          arn,
          kind: 'knowledge-base',
          api: 'bedrock-agent:GetKnowledgeBase',
          configuration: { name: kb?.name, roleArn: kb?.roleArn, embeddingModelArn: embedding, storageType: kb?.storageConfiguration?.type, dataSources: sources, serviceStatus: kb?.status },
          edges: e,
          changedAt: kb?.updatedAt,
        });
      });
    },
  },
  {
    api: 'bedrock-agent:ListFlows',
    kinds: ['flow'],
    async run(x, c) {
      for await (const page of x.pages((nextToken) => c.bedrockAgent.send(new ListFlowsCommand({ nextToken })), (p) => p.nextToken)) {
        for (const f of page.flowSummaries ?? []) x.add({ arn: f.arn, kind: 'flow', configuration: { name: f.name, serviceStatus: f.status, version: f.version }, changedAt: f.updatedAt });
      }
    },
  },
  {
    api: 'bedrock-agent:ListPrompts',
    kinds: ['prompt'],
    async run(x, c) {
      for await (const page of x.pages((nextToken) => c.bedrockAgent.send(new ListPromptsCommand({ nextToken })), (p) => p.nextToken)) {
        for (const p of page.promptSummaries ?? []) x.add({ arn: p.arn, kind: 'prompt', configuration: { name: p.name, version: p.version }, changedAt: p.updatedAt });
      }
    },
  },
];

const AGENTCORE: Lister[] = [
  {
    api: 'bedrock-agentcore:ListAgentRuntimes',
    kinds: ['agent-runtime'],
    async run(x, c) {
      const runtimes: Array<{ id: string; arn?: string }> = [];
      for await (const page of x.pages((nextToken) => c.agentCore.send(new ListAgentRuntimesCommand({ nextToken })), (p) => p.nextToken)) {
        for (const r of page.agentRuntimes ?? []) if (r.agentRuntimeId) runtimes.push({ id: r.agentRuntimeId, arn: r.agentRuntimeArn });
      }
      await x.each(runtimes, async ({ id, arn }) => {
        const r = await x.call(() => c.agentCore.send(new GetAgentRuntimeCommand({ agentRuntimeId: id })));
        x.add({
          arn: r.agentRuntimeArn ?? arn ?? agentCoreArn(x.place, 'runtime', id),
          kind: 'agent-runtime',
          api: 'bedrock-agentcore:GetAgentRuntime',
          configuration: { name: r.agentRuntimeName, roleArn: r.roleArn, networkMode: r.networkConfiguration?.networkMode, authorizer: r.authorizerConfiguration ? Object.keys(r.authorizerConfiguration).join(',') : 'AWS_IAM', serviceStatus: r.status, version: r.agentRuntimeVersion },
          changedAt: r.lastUpdatedAt,
        });
      });
    },
  },
  {
    api: 'bedrock-agentcore:ListGateways',
    kinds: ['agent-gateway'],
    async run(x, c) {
      for await (const page of x.pages((nextToken) => c.agentCore.send(new ListGatewaysCommand({ nextToken })), (p) => p.nextToken)) {
        for (const g of page.items ?? []) {
          if (!g.gatewayId) continue;
          x.add({ arn: agentCoreArn(x.place, 'gateway', g.gatewayId), kind: 'agent-gateway', configuration: { name: g.name, authorizerType: g.authorizerType, protocolType: g.protocolType, serviceStatus: g.status }, changedAt: g.updatedAt });
        }
      }
    },
  },
  {
    api: 'bedrock-agentcore:ListMemories',
    kinds: ['agent-memory'],
    async run(x, c) {
      for await (const page of x.pages((nextToken) => c.agentCore.send(new ListMemoriesCommand({ nextToken })), (p) => p.nextToken)) {
        for (const m of page.memories ?? []) x.add({ arn: m.arn ?? (m.id ? agentCoreArn(x.place, 'memory', m.id) : undefined), kind: 'agent-memory', configuration: { serviceStatus: m.status }, changedAt: m.updatedAt });
      }
    },
  },
  {
    api: 'bedrock-agentcore:ListWorkloadIdentities',
    kinds: ['agent-identity'],
    async run(x, c) {
      for await (const page of x.pages((nextToken) => c.agentCore.send(new ListWorkloadIdentitiesCommand({ nextToken })), (p) => p.nextToken)) {
        for (const w of page.workloadIdentities ?? []) x.add({ arn: w.workloadIdentityArn, kind: 'agent-identity', configuration: { name: w.name } });
      }
    },
  },
];

const SAGEMAKER: Lister[] = [
  {
    api: 'sagemaker:ListEndpoints',
    kinds: ['inference-endpoint'],
    async run(x, c) {
      const names: string[] = [];
      for await (const page of x.pages((NextToken) => c.sagemaker.send(new ListEndpointsCommand({ NextToken })), (p) => p.NextToken)) {
        for (const ep of page.Endpoints ?? []) if (ep.EndpointName) names.push(ep.EndpointName);
      }
      await x.each(names, async (EndpointName) => {
        const ep = await x.call(() => c.sagemaker.send(new DescribeEndpointCommand({ EndpointName })));
        const arn = ep.EndpointArn ?? sageMakerArn(x.place, 'endpoint', EndpointName);
        const e = x.edges().add(ep.EndpointConfigName ? sageMakerArn(x.place, 'endpoint-config', ep.EndpointConfigName) : undefined, RELATIONS.configOf, arn);
        x.add({
          arn,
          kind: 'inference-endpoint',
          api: 'sagemaker:DescribeEndpoint',
          configuration: { name: EndpointName, endpointConfig: ep.EndpointConfigName, serviceStatus: ep.EndpointStatus, variants: (ep.ProductionVariants ?? []).flatMap((v) => (v.VariantName ? [`${v.VariantName} x${v.CurrentInstanceCount ?? 0}`] : [])) },
          edges: e,
          changedAt: ep.LastModifiedTime,
        });
      });
    },
  },
  {
    api: 'sagemaker:ListEndpointConfigs',
    kinds: ['endpoint-config'],
    async run(x, c) {
      const names: string[] = [];
      for await (const page of x.pages((NextToken) => c.sagemaker.send(new ListEndpointConfigsCommand({ NextToken })), (p) => p.NextToken)) {
        for (const ec of page.EndpointConfigs ?? []) if (ec.EndpointConfigName) names.push(ec.EndpointConfigName);
      }
      await x.each(names, async (EndpointConfigName) => {
        const ec = await x.call(() => c.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName })));
        const arn = ec.EndpointConfigArn ?? sageMakerArn(x.place, 'endpoint-config', EndpointConfigName);
        const e = x.edges();
        const variants = [...(ec.ProductionVariants ?? []), ...(ec.ShadowProductionVariants ?? [])];
        for (const v of variants) e.add(v.ModelName ? sageMakerArn(x.place, 'model', v.ModelName) : undefined, RELATIONS.modelOf, arn);
        if (ec.DataCaptureConfig?.EnableCapture !== false) e.add(arn, RELATIONS.logsTo, e.s3(ec.DataCaptureConfig?.DestinationS3Uri));
        e.add(arn, RELATIONS.outputTo, e.s3(ec.AsyncInferenceConfig?.OutputConfig?.S3OutputPath));
        x.add({
          arn,
          kind: 'endpoint-config',
          api: 'sagemaker:DescribeEndpointConfig',
          configuration: { name: EndpointConfigName, kmsKeyArn: ec.KmsKeyId, models: variants.flatMap((v) => (v.ModelName ? [v.ModelName] : [])), instanceTypes: variants.flatMap((v) => (v.InstanceType ? [v.InstanceType] : [])), dataCapture: ec.DataCaptureConfig?.DestinationS3Uri },
          edges: e,
          changedAt: ec.CreationTime,
        });
      });
    },
  },
  {
    api: 'sagemaker:ListModels',
    kinds: ['model'],
    async run(x, c) {
      const names: string[] = [];
      for await (const page of x.pages((NextToken) => c.sagemaker.send(new ListModelsCommand({ NextToken })), (p) => p.NextToken)) {
        for (const m of page.Models ?? []) if (m.ModelName) names.push(m.ModelName);
      }
      await x.each(names, async (ModelName) => {
        const m = await x.call(() => c.sagemaker.send(new DescribeModelCommand({ ModelName })));
        const arn = m.ModelArn ?? sageMakerArn(x.place, 'model', ModelName);
        const e = x.edges();
        const containers = [m.PrimaryContainer, ...(m.Containers ?? [])];
        const data = containers.flatMap((ct) => [ct?.ModelDataUrl, ct?.ModelDataSource?.S3DataSource?.S3Uri]).filter((u): u is string => !!u);
        for (const u of data) e.add(e.s3(u), RELATIONS.modelDataOf, arn);
        x.add({ arn, kind: 'model', api: 'sagemaker:DescribeModel', configuration: { name: ModelName, roleArn: m.ExecutionRoleArn, modelData: data, images: containers.flatMap((ct) => (ct?.Image ? [ct.Image] : [])), networkIsolation: m.EnableNetworkIsolation }, edges: e, changedAt: m.CreationTime });
      });
    },
  },
  {
    api: 'sagemaker:ListTrainingJobs',
    kinds: [],
    async run(x, c) {
      const names: string[] = [];
      for await (const page of x.pages((NextToken) => c.sagemaker.send(new ListTrainingJobsCommand({ NextToken, StatusEquals: 'InProgress' })), (p) => p.NextToken)) {
        for (const j of page.TrainingJobSummaries ?? []) if (j.TrainingJobName) names.push(j.TrainingJobName);
      }
      await x.each(names, async (TrainingJobName) => {
        const j = await x.call(() => c.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName })));
        const arn = j.TrainingJobArn ?? sageMakerArn(x.place, 'training-job', TrainingJobName);
        const e = x.edges();
        for (const ch of j.InputDataConfig ?? []) e.add(e.s3(ch.DataSource?.S3DataSource?.S3Uri), RELATIONS.inputOf, arn);
        const output = j.OutputDataConfig?.S3OutputPath;
        e.add(arn, RELATIONS.outputTo, e.s3(output));
        if (output) e.add(arn, RELATIONS.produces, e.s3(`${output.replace(/\/+$/, '')}/${TrainingJobName}/output/model.tar.gz`));
        x.add({ arn, kind: 'training-job', api: 'sagemaker:DescribeTrainingJob', configuration: { name: TrainingJobName, roleArn: j.RoleArn, instanceType: j.ResourceConfig?.InstanceType, instanceCount: j.ResourceConfig?.InstanceCount, kmsKeyArn: j.OutputDataConfig?.KmsKeyId, serviceStatus: j.TrainingJobStatus }, edges: e, changedAt: j.LastModifiedTime });
      });
    },
  },
  {
    api: 'sagemaker:ListNotebookInstances',
    kinds: ['notebook'],
    async run(x, c) {
      const names: string[] = [];
      for await (const page of x.pages((NextToken) => c.sagemaker.send(new ListNotebookInstancesCommand({ NextToken })), (p) => p.NextToken)) {
        for (const n of page.NotebookInstances ?? []) if (n.NotebookInstanceName) names.push(n.NotebookInstanceName);
      }
      await x.each(names, async (NotebookInstanceName) => {
        const n = await x.call(() => c.sagemaker.send(new DescribeNotebookInstanceCommand({ NotebookInstanceName })));
        x.add({
          arn: n.NotebookInstanceArn ?? sageMakerArn(x.place, 'notebook-instance', NotebookInstanceName),
          kind: 'notebook',
          api: 'sagemaker:DescribeNotebookInstance',
          configuration: { name: NotebookInstanceName, instanceType: n.InstanceType, roleArn: n.RoleArn, kmsKeyArn: n.KmsKeyId, directInternetAccess: n.DirectInternetAccess, rootAccess: n.RootAccess, subnetId: n.SubnetId, serviceStatus: n.NotebookInstanceStatus },
          changedAt: n.LastModifiedTime,
        });
      });
    },
  },
  {
    api: 'sagemaker:ListDomains',
    kinds: ['studio-domain'],
    async run(x, c) {
      for await (const page of x.pages((NextToken) => c.sagemaker.send(new ListDomainsCommand({ NextToken })), (p) => p.NextToken)) {
        for (const d of page.Domains ?? []) x.add({ arn: d.DomainArn, kind: 'studio-domain', configuration: { name: d.DomainName, serviceStatus: d.Status, url: d.Url }, changedAt: d.LastModifiedTime });
      }
    },
  },
];

const EC2: Lister[] = [
  {
    api: 'ec2:DescribeInstances',
    kinds: ['gpu-instance'],
    async run(x, c) {
      const filters = [
        { Name: 'instance-type', Values: GPU_TYPE_FILTER },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ];
      for await (const page of x.pages((NextToken) => c.ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken })), (p) => p.NextToken)) {
        for (const r of page.Reservations ?? []) {
          for (const i of r.Instances ?? []) {
            if (!i.InstanceId || !i.InstanceType || !acceleratorsOf(i.InstanceType)) continue;
            x.add({
              arn: `arn:${x.place.partition}:ec2:${x.place.region}:${r.OwnerId ?? x.place.account}:instance/${i.InstanceId}`,
              kind: 'gpu-instance',
              configuration: { instanceType: i.InstanceType, instanceState: i.State?.Name, roleProfile: i.IamInstanceProfile?.Arn, imageId: i.ImageId, launchedAt: iso(i.LaunchTime) },
            });
          }
        }
      }
    },
  },
];

export const LISTERS: readonly Lister[] = [...BEDROCK, ...AGENTS, ...AGENTCORE, ...SAGEMAKER, ...EC2];

/** Every API a listing calls, for the read-only policy and the docs. */
export const LISTING_APIS: readonly string[] = LISTERS.map((l) => l.api);

export interface ListOptions {
  /** Listers running at once (default 4). */
  readonly apiConcurrency?: number;
  /** Detail calls (Get*, Describe*) in flight per API (default 2). */
  readonly detailConcurrency?: number;
  readonly retry?: RetryOptions;
  /** Called as each API finishes (the CLI's progress bar). */
  readonly onApi?: (outcome: ApiOutcome, done: number, total: number) => void;
  /** Only these APIs (tests, `--only`). */
  readonly only?: readonly string[];
}

/** A short, stack-free message of an AWS error: its name and message. */
export function errorOf(error: unknown): { code: string; message: string } {
  const e = error as { name?: string; Code?: string; message?: string } | null;
  const code = e?.name && e.name !== 'Error' ? e.name : (e?.Code ?? 'Error');
  return { code, message: String(e?.message ?? error).split('\n')[0].slice(0, 500) };
}

/** List one account and region; never throws for a failing API (its outcome says why). */
export async function listAll(place: ListingPlace, clients: ListingClients, options: ListOptions = {}): Promise<{ resources: ListedResource[]; apis: ApiOutcome[]; settings: ListedSettings; throttled: number }> {
  const listers = options.only ? LISTERS.filter((l) => options.only!.includes(l.api)) : LISTERS;
  const settings: Settings = {};
  const resources: ListedResource[] = [];
  const apis: ApiOutcome[] = [];
  let throttled = 0;
  await pool(listers, options.apiConcurrency ?? 4, async (lister) => {
    const x = new ListingContext(place, lister.api, options.retry ?? {}, options.detailConcurrency ?? 2);
    let outcome: ApiOutcome;
    try {
      await lister.run(x, clients, settings);
      outcome = { api: lister.api, kinds: lister.kinds, listed: x.found.length, complete: true };
    } catch (error) {
      outcome = { api: lister.api, kinds: lister.kinds, listed: x.found.length, complete: false, error: errorOf(error) };
    }
    // What a failing lister found before it failed still exists: keep it, judge nothing absent.
    resources.push(...x.found);
    throttled += x.throttled;
    apis.push(outcome);
    options.onApi?.(outcome, apis.length, listers.length);
  });
  apis.sort((a, b) => a.api.localeCompare(b.api));
  return { resources: dedupe(resources), apis, settings, throttled };
}

/** One resource per ARN: a resource two APIs show (an alias) keeps the first, with both configurations. */
function dedupe(list: readonly ListedResource[]): ListedResource[] {
  const byArn = new Map<string, ListedResource>();
  for (const r of list) {
    const seen = byArn.get(r.arn);
    byArn.set(r.arn, seen ? { ...seen, configuration: { ...r.configuration, ...seen.configuration }, edges: [...seen.edges, ...r.edges] } : r);
  }
  return [...byArn.values()].sort((a, b) => a.arn.localeCompare(b.arn));
}
