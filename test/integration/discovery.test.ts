/**
 * Day-zero discovery by listing, on a real DynamoDB API (dynalite): the listing APIs answer
 * through aws-sdk-client-mock with the shapes their API references document (Amazon Bedrock,
 * Agents for Amazon Bedrock, Bedrock AgentCore Control, SageMaker and EC2 API references:
 * timestamps as Date, list tokens `nextToken`/`NextToken`), paginated and throttled where the
 * test says so. Events come from fixtures/cloudtrail/documented through the deployed classifier
 * and lineage propagator (the replay's local handlers).
 */
import {
  BedrockClient,
  type GuardrailContentFilter,
  GetCustomModelCommand,
  GetGuardrailCommand,
  GetModelInvocationLoggingConfigurationCommand,
  ListCustomModelsCommand,
  ListGuardrailsCommand,
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
} from '@aws-sdk/client-bedrock-agent';
import { BedrockAgentCoreControlClient, ListGatewaysCommand } from '@aws-sdk/client-bedrock-agentcore-control';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeNotebookInstanceCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  ListNotebookInstancesCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { discoverTarget } from '../../lambdas/discovery/discover';
import { LISTING_APIS, type ListingClients } from '../../lambdas/discovery/listers';
import { storedResourcesOf } from '../../lambdas/discovery/record';
import type { TargetOutcome } from '../../lambdas/discovery/handler';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { ENTITY, keys, readFinding, readResource } from '../../lambdas/shared/items';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { localPipeline } from '../../local/handlers';
import { scanTable } from '../../local/replay/report';
import { documentedRecord } from '../helpers';

const A = '111122223333';
const R = 'us-east-1';
const GUARDRAIL = `arn:aws:bedrock:${R}:${A}:guardrail/gr7example1`;
const STRICT = `arn:aws:bedrock:${R}:${A}:guardrail/gr7strict02`;
const KB = `arn:aws:bedrock:${R}:${A}:knowledge-base/KB12345678`;
const DATA_SOURCE = `urn:ai-visibility:bedrock:${R}:${A}:knowledge-base/KB12345678/data-source/DS12345678`;
const BUCKET = 'arn:aws:s3:::fraud-training-data';
const AGENT = `arn:aws:bedrock:${R}:${A}:agent/AGENT12345`;
const GATEWAY = `arn:aws:bedrock-agentcore:${R}:${A}:gateway/open-gateway-abc123`;
const NOTEBOOK = `arn:aws:sagemaker:${R}:${A}:notebook-instance/research-notebook`;
const ENDPOINT = `arn:aws:sagemaker:${R}:${A}:endpoint/legacy-endpoint`;
const CONFIG = `arn:aws:sagemaker:${R}:${A}:endpoint-config/legacy-config`;
const MODEL = `arn:aws:sagemaker:${R}:${A}:model/legacy-model`;
const CUSTOM = `arn:aws:bedrock:${R}:${A}:custom-model/amazon.titan-text-express-v1:0:8k/abcd1234efgh`;
const LOGGING = `arn:aws:bedrock:${R}:${A}:model-invocation-logging-configuration/default`;

const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
let sequence = 0;
const sqsEvent = (records: ReadonlyArray<Record<string, unknown>>) =>
  ({
    Records: records.map((r) => ({ messageId: `m-${++sequence}`, receiptHandle: 'h', body: JSON.stringify(toEnvelope(r)), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:capture', awsRegion: R })),
  }) as unknown as SQSEvent;

type Account = ReturnType<typeof account>;

/** Every API of every client answers empty (`{}`). */
function blank(a: Pick<Account, 'bedrock' | 'agent' | 'agentCore' | 'sagemaker' | 'ec2'>): void {
  a.bedrock.reset().onAnyCommand().resolves({});
  a.agent.reset().onAnyCommand().resolves({});
  a.agentCore.reset().onAnyCommand().resolves({});
  a.sagemaker.reset().onAnyCommand().resolves({});
  a.ec2.reset().onAnyCommand().resolves({});
}

const throttling = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
const accessDenied = (action: string) => Object.assign(new Error(`User: arn:aws:sts::${A}:assumed-role/ai-visibility-member/x is not authorized to perform: ${action}`), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });

const guardrail = (id: string, filters: Array<[string, string, string]>, updatedAt: string) => ({
  name: id,
  guardrailId: id,
  guardrailArn: `arn:aws:bedrock:${R}:${A}:guardrail/${id}`,
  version: 'DRAFT',
  status: 'READY' as const,
  contentPolicy: { filters: filters.map(([type, inputStrength, outputStrength]) => ({ type, inputStrength, outputStrength }) as GuardrailContentFilter) },
  createdAt: new Date('2025-06-02T11:30:00.123Z'),
  updatedAt: new Date(updatedAt),
  blockedInputMessaging: 'Sorry.',
  blockedOutputsMessaging: 'Sorry.',
});

/** An account whose listing APIs answer with what it holds; every other API answers empty. */
function account(options: { guardrails?: boolean; logging?: boolean } = {}) {
  const bedrock = mockClient(BedrockClient);
  const agent = mockClient(BedrockAgentClient);
  const agentCore = mockClient(BedrockAgentCoreControlClient);
  const sagemaker = mockClient(SageMakerClient);
  const ec2 = mockClient(EC2Client);
  blank({ bedrock, agent, agentCore, sagemaker, ec2 });

  // Two pages of guardrails (ListGuardrails: guardrails[], nextToken).
  if (options.guardrails !== false) {
    bedrock
      .on(ListGuardrailsCommand, { nextToken: undefined })
      .resolves({ guardrails: [{ id: 'gr7example1', arn: GUARDRAIL, status: 'READY', name: 'support', version: 'DRAFT', createdAt: new Date('2025-06-02T11:30:00Z'), updatedAt: new Date('2025-06-03T08:00:00Z') }], nextToken: 'page-2' })
      .on(ListGuardrailsCommand, { nextToken: 'page-2' })
      .resolves({ guardrails: [{ id: 'gr7strict02', arn: STRICT, status: 'READY', name: 'strict', version: 'DRAFT', createdAt: new Date('2025-07-01T00:00:00Z'), updatedAt: new Date('2025-07-01T00:00:00Z') }] });
    bedrock.on(GetGuardrailCommand, { guardrailIdentifier: 'gr7example1' }).resolves(guardrail('gr7example1', [['PROMPT_ATTACK', 'LOW', 'NONE'], ['HATE', 'HIGH', 'HIGH']], '2025-06-03T08:00:00Z'));
    bedrock.on(GetGuardrailCommand, { guardrailIdentifier: 'gr7strict02' }).resolves(guardrail('gr7strict02', [['PROMPT_ATTACK', 'HIGH', 'HIGH']], '2025-07-01T00:00:00Z'));
  }
  bedrock.on(ListCustomModelsCommand).resolves({ modelSummaries: [{ modelArn: CUSTOM, modelName: 'fraud-tuned', creationTime: new Date('2025-08-01T00:00:00Z'), baseModelArn: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k', baseModelName: '' }] });
  bedrock.on(GetCustomModelCommand).resolves({
    modelArn: CUSTOM,
    modelName: 'fraud-tuned',
    jobArn: `arn:aws:bedrock:${R}:${A}:model-customization-job/amazon.titan-text-express-v1:0:8k/job123`,
    baseModelArn: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k',
    trainingDataConfig: { s3Uri: 's3://fraud-training-data/tuning/train.jsonl' },
    outputDataConfig: { s3Uri: 's3://fraud-model-artifacts/tuning/' },
    creationTime: new Date('2025-08-01T00:00:00Z'),
  });
  // Logging off: GetModelInvocationLoggingConfiguration answers without loggingConfig.
  if (options.logging) bedrock.on(GetModelInvocationLoggingConfigurationCommand).resolves({ loggingConfig: { s3Config: { bucketName: 'bedrock-prompts' }, textDataDeliveryEnabled: true } });

  agent.on(ListAgentsCommand).resolves({ agentSummaries: [{ agentId: 'AGENT12345', agentName: 'support-agent', agentStatus: 'PREPARED', updatedAt: new Date('2025-09-01T00:00:00Z') }] });
  agent.on(GetAgentCommand).resolves({
    agent: {
      agentId: 'AGENT12345',
      agentName: 'support-agent',
      agentArn: AGENT,
      agentVersion: 'DRAFT',
      agentStatus: 'PREPARED',
      foundationModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
      idleSessionTTLInSeconds: 600,
      agentResourceRoleArn: `arn:aws:iam::${A}:role/service-role/AmazonBedrockExecutionRoleForAgents_support`,
      createdAt: new Date('2025-09-01T00:00:00Z'),
      updatedAt: new Date('2025-09-01T00:00:00Z'),
    },
  });
  agent.on(ListAgentAliasesCommand).resolves({ agentAliasSummaries: [{ agentAliasId: 'TSTALIASID', agentAliasName: 'live', agentAliasStatus: 'PREPARED', createdAt: new Date('2025-09-01T00:00:00Z'), updatedAt: new Date('2025-09-01T00:00:00Z'), routingConfiguration: [{ agentVersion: '1' }] }] });
  agent.on(ListAgentActionGroupsCommand).resolves({ actionGroupSummaries: [{ actionGroupId: 'AG1', actionGroupName: 'refunds', actionGroupState: 'ENABLED', updatedAt: new Date('2025-09-01T00:00:00Z') }] });
  agent.on(GetAgentActionGroupCommand).resolves({ agentActionGroup: { agentId: 'AGENT12345', agentVersion: 'DRAFT', actionGroupId: 'AG1', actionGroupName: 'refunds', actionGroupState: 'ENABLED', createdAt: new Date(), updatedAt: new Date(), actionGroupExecutor: { lambda: `arn:aws:lambda:${R}:${A}:function:issue-refund:$LATEST` } } });
  agent.on(ListAgentKnowledgeBasesCommand).resolves({ agentKnowledgeBaseSummaries: [{ knowledgeBaseId: 'KB12345678', knowledgeBaseState: 'ENABLED', updatedAt: new Date('2025-09-01T00:00:00Z') }] });
  agent.on(ListKnowledgeBasesCommand).resolves({ knowledgeBaseSummaries: [{ knowledgeBaseId: 'KB12345678', name: 'support-docs', status: 'ACTIVE', updatedAt: new Date('2025-06-02T10:10:00Z') }] });
  agent.on(GetKnowledgeBaseCommand).resolves({
    knowledgeBase: {
      knowledgeBaseId: 'KB12345678',
      name: 'support-docs',
      knowledgeBaseArn: KB,
      roleArn: `arn:aws:iam::${A}:role/service-role/AmazonBedrockExecutionRoleForKnowledgeBase_support`,
      knowledgeBaseConfiguration: { type: 'VECTOR', vectorKnowledgeBaseConfiguration: { embeddingModelArn: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0' } },
      storageConfiguration: { type: 'OPENSEARCH_SERVERLESS' },
      status: 'ACTIVE',
      createdAt: new Date('2025-06-02T10:10:00Z'),
      updatedAt: new Date('2025-06-02T10:10:00Z'),
    },
  });
  agent.on(ListDataSourcesCommand).resolves({ dataSourceSummaries: [{ knowledgeBaseId: 'KB12345678', dataSourceId: 'DS12345678', name: 'docs', status: 'AVAILABLE', updatedAt: new Date('2025-06-02T10:20:00Z') }] });
  agent.on(GetDataSourceCommand).resolves({ dataSource: { knowledgeBaseId: 'KB12345678', dataSourceId: 'DS12345678', name: 'docs', status: 'AVAILABLE', dataSourceConfiguration: { type: 'S3', s3Configuration: { bucketArn: BUCKET } }, createdAt: new Date('2025-06-02T10:20:00Z'), updatedAt: new Date('2025-06-02T10:20:00Z') } });
  // Flows: the member role lacks bedrock:ListFlows in this account.
  agent.on(ListFlowsCommand).rejects(accessDenied('bedrock:ListFlows'));

  agentCore.on(ListGatewaysCommand).resolves({ items: [{ gatewayId: 'open-gateway-abc123', name: 'open-gateway', status: 'READY', authorizerType: 'NONE', protocolType: 'MCP', createdAt: new Date('2025-10-01T00:00:00Z'), updatedAt: new Date('2025-10-01T00:00:00Z') }] });

  // Notebooks: throttled twice, then answered.
  sagemaker
    .on(ListNotebookInstancesCommand)
    .rejectsOnce(throttling())
    .rejectsOnce(throttling())
    .resolves({ NotebookInstances: [{ NotebookInstanceName: 'Research-Notebook', NotebookInstanceArn: NOTEBOOK, NotebookInstanceStatus: 'InService', InstanceType: 'ml.g5.xlarge', CreationTime: new Date('2025-06-01T09:00:00Z'), LastModifiedTime: new Date('2025-06-01T09:10:00Z') }] });
  sagemaker.on(DescribeNotebookInstanceCommand).resolves({ NotebookInstanceArn: NOTEBOOK, NotebookInstanceName: 'Research-Notebook', NotebookInstanceStatus: 'InService', InstanceType: 'ml.g5.xlarge', RoleArn: `arn:aws:iam::${A}:role/SageMakerNotebookRole`, DirectInternetAccess: 'Enabled', RootAccess: 'Enabled', LastModifiedTime: new Date('2025-06-01T09:10:00Z'), CreationTime: new Date('2025-06-01T09:00:00Z') });
  sagemaker.on(ListEndpointsCommand).resolves({ Endpoints: [{ EndpointName: 'legacy-endpoint', EndpointArn: ENDPOINT, EndpointStatus: 'InService', CreationTime: new Date('2024-03-01T00:00:00Z'), LastModifiedTime: new Date('2024-03-01T00:00:00Z') }] });
  sagemaker.on(DescribeEndpointCommand).resolves({ EndpointName: 'legacy-endpoint', EndpointArn: ENDPOINT, EndpointConfigName: 'legacy-config', EndpointStatus: 'InService', CreationTime: new Date('2024-03-01T00:00:00Z'), LastModifiedTime: new Date('2024-03-01T00:00:00Z'), ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 1 }] });
  sagemaker.on(ListEndpointConfigsCommand).resolves({ EndpointConfigs: [{ EndpointConfigName: 'legacy-config', EndpointConfigArn: CONFIG, CreationTime: new Date('2024-03-01T00:00:00Z') }] });
  sagemaker.on(DescribeEndpointConfigCommand).resolves({ EndpointConfigName: 'legacy-config', EndpointConfigArn: CONFIG, ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'legacy-model', InstanceType: 'ml.g5.2xlarge', InitialInstanceCount: 1 }], CreationTime: new Date('2024-03-01T00:00:00Z') });
  sagemaker.on(ListModelsCommand).resolves({ Models: [{ ModelName: 'legacy-model', ModelArn: MODEL, CreationTime: new Date('2024-02-28T00:00:00Z') }] });
  sagemaker.on(DescribeModelCommand).resolves({ ModelName: 'legacy-model', ModelArn: MODEL, ExecutionRoleArn: `arn:aws:iam::${A}:role/SageMakerExecution`, PrimaryContainer: { Image: '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1', ModelDataUrl: 's3://fraud-model-artifacts/legacy/model.tar.gz' }, CreationTime: new Date('2024-02-28T00:00:00Z') });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ OwnerId: A, Instances: [{ InstanceId: 'i-0gpu0000000000001', InstanceType: 'p4d.24xlarge', State: { Code: 16, Name: 'running' }, LaunchTime: new Date('2025-01-01T00:00:00Z') }] }] });

  const clients: ListingClients = { bedrock: new BedrockClient({ region: R }), bedrockAgent: new BedrockAgentClient({ region: R }), agentCore: new BedrockAgentCoreControlClient({ region: R }), sagemaker: new SageMakerClient({ region: R }), ec2: new EC2Client({ region: R }) };
  return { bedrock, agent, agentCore, sagemaker, ec2, clients };
}

function restore(a: Account) {
  a.bedrock.restore();
  a.agent.restore();
  a.agentCore.restore();
  a.sagemaker.restore();
  a.ec2.restore();
}

const noSleep = { sleep: async () => undefined, random: () => 0 };

let db: LocalDynamoDb;
beforeAll(async () => {
  db = await startLocalDynamoDb();
});
afterAll(async () => db.close());

async function setup(table: string) {
  await db.createInventoryTable(table);
  const pipeline = localPipeline(db, table);
  const store = createInventoryStore(db.documents, table);
  const deps = { store, storedResources: storedResourcesOf(db.documents, table), lineage: pipeline.lineage.queue };
  return {
    pipeline,
    deps,
    discover: async (a: Account, at: string) => {
      const report = await discoverTarget({ account: A, region: R }, a.clients, deps, { now: () => new Date(at), retry: noSleep });
      expect(await pipeline.lineage.drain()).toEqual([]);
      return report;
    },
    deliver: async (...records: Array<Record<string, unknown>>) => {
      expect(await pipeline.handler(sqsEvent(records), context)).toEqual({ batchItemFailures: [] });
      expect(await pipeline.lineage.drain()).toEqual([]);
    },
    resource: async (arn: string) => readResource((await db.documents.send(new GetCommand({ TableName: table, Key: keys.resource(arn) }))).Item),
    node: async (node: string) => (await db.documents.send(new GetCommand({ TableName: table, Key: keys.lineageNode(node) }))).Item,
    items: () => scanTable(db.documents, table),
    findings: async () => (await scanTable(db.documents, table)).flatMap((i) => (i.entity === ENTITY.finding ? [readFinding(i)!] : [])),
  };
}

describe('discovery by listing', () => {
  it('lists every API, across pages and through throttling, isolates the one that fails, and records each resource with its evidence and configuration', async () => {
    const a = account();
    try {
      const t = await setup('listing');
      const report = await t.discover(a, '2026-12-01T06:00:00.000Z');
      expect(report.apis.map((x) => x.api)).toEqual([...LISTING_APIS].sort());
      expect(report.apis.filter((x) => !x.complete)).toEqual([
        { api: 'bedrock-agent:ListFlows', kinds: ['flow'], listed: 0, complete: false, error: { code: 'AccessDeniedException', message: expect.stringContaining('bedrock:ListFlows') } },
      ]);
      expect(report.throttled).toBe(2);
      // Both pages of guardrails; the throttled notebooks; the agent's alias; everything no event showed.
      expect(report.foundByListing).toEqual([AGENT, `arn:aws:bedrock:${R}:${A}:agent-alias/AGENT12345/TSTALIASID`, CUSTOM, GUARDRAIL, STRICT, KB, GATEWAY, `arn:aws:ec2:${R}:${A}:instance/i-0gpu0000000000001`, CONFIG, ENDPOINT, MODEL, NOTEBOOK].sort());

      const g = await t.resource(GUARDRAIL);
      expect(g).toMatchObject({ kind: 'guardrail', status: 'active', firstSeen: '2026-12-01T06:00:00.000Z', firstEventId: 'listing:2026-12-01T06:00:00.000Z', discoveredBy: 'listing' });
      expect(g?.signals).toEqual([{ eventName: 'bedrock:GetGuardrail', path: 'listedBy', value: 'bedrock:GetGuardrail', note: 'listed by bedrock:GetGuardrail at 2026-12-01T06:00:00.000Z' }]);
      expect(g?.configuration).toMatchObject({ contentFilters: ['PROMPT_ATTACK input LOW', 'PROMPT_ATTACK output NONE', 'HATE input HIGH', 'HATE output HIGH'], listedBy: 'bedrock:GetGuardrail', policies: ['contentPolicy'] });
      expect((await t.resource(AGENT))?.configuration).toMatchObject({ foundationModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0', roleArn: expect.stringContaining('AmazonBedrockExecutionRoleForAgents'), actionGroups: ['refunds'], knowledgeBases: ['KB12345678'], aliases: ['TSTALIASID'] });
      expect((await t.resource(NOTEBOOK))?.configuration).toMatchObject({ directInternetAccess: 'Enabled', rootAccess: 'Enabled', instanceType: 'ml.g5.xlarge' });
      // Each throttled call was retried: three ListNotebookInstances calls in all.
      expect(a.sagemaker.commandCalls(ListNotebookInstancesCommand)).toHaveLength(3);
      expect(a.bedrock.commandCalls(ListGuardrailsCommand).map((c) => c.args[0].input)).toEqual([{ nextToken: undefined }, { nextToken: 'page-2' }]);
    } finally {
      restore(a);
    }
  });

  it('raises the findings the configuration shows, confirmed, with the listing as evidence, once per configuration', async () => {
    const a = account();
    try {
      const t = await setup('listing-findings');
      expect((await t.discover(a, '2026-12-01T06:00:00.000Z')).findings).toBe(6);
      const findings = await t.findings();
      expect(findings.map((f) => [f.rule, f.resource, f.confidence, f.producer]).sort()).toEqual(
        [
          ['agent-gateway-without-authorizer', GATEWAY, 'confirmed', 'discovery'],
          ['endpoint-config-without-kms', CONFIG, 'confirmed', 'discovery'],
          ['guardrail-weakened', GUARDRAIL, 'confirmed', 'discovery'],
          ['invocation-logging-disabled', LOGGING, 'confirmed', 'discovery'],
          ['notebook-direct-internet-access', NOTEBOOK, 'confirmed', 'discovery'],
          ['notebook-root-access', NOTEBOOK, 'confirmed', 'discovery'],
        ].sort(),
      );
      const weak = findings.find((f) => f.rule === 'guardrail-weakened')!;
      expect(weak.signals[0]).toEqual({ eventName: 'bedrock:GetGuardrail', path: 'listedBy', value: 'bedrock:GetGuardrail', note: 'listed by bedrock:GetGuardrail at 2026-12-01T06:00:00.000Z' });
      expect(weak.signals.slice(1).map((s) => s.value)).toEqual(['PROMPT_ATTACK input LOW', 'PROMPT_ATTACK output NONE']);
      // Dated by the guardrail's own last change, not by the listing.
      expect(weak.time).toBe('2025-06-03T08:00:00.000Z');

      // The next day's listing of the same configuration raises nothing new.
      expect((await t.discover(a, '2026-12-02T06:00:00.000Z')).findings).toBe(0);
      expect(await t.findings()).toHaveLength(6);
    } finally {
      restore(a);
    }
  });

  it('raises no logging finding where logging is on, and none where Bedrock is not in use', async () => {
    const on = account({ logging: true });
    try {
      const t = await setup('listing-logging-on');
      await t.discover(on, '2026-12-01T06:00:00.000Z');
      expect((await t.findings()).map((f) => f.rule)).not.toContain('invocation-logging-disabled');
      expect((await t.resource(LOGGING))?.configuration).toMatchObject({ s3Bucket: 'bedrock-prompts', textDataDeliveryEnabled: true });
    } finally {
      restore(on);
    }
    const empty = account();
    try {
      blank(empty);
      const t = await setup('listing-logging-unused');
      await t.discover(empty, '2026-12-01T06:00:00.000Z');
      expect(await t.findings()).toEqual([]);
    } finally {
      restore(empty);
    }
  });

  it('writes the lineage a listing reveals, so a bucket classified later (or before) reaches the knowledge base and the endpoint on day zero', async () => {
    const a = account();
    try {
      const t = await setup('listing-lineage');
      await t.discover(a, '2026-12-01T06:00:00.000Z');
      const edges = (await t.items()).filter((i) => i.entity === ENTITY.lineageEdge && i.direction === 'out').map((i) => `${i.from} ${i.relation} ${i.to}`);
      expect(edges).toEqual(
        expect.arrayContaining([
          `${BUCKET} source-of ${DATA_SOURCE}`,
          `${DATA_SOURCE} ingested-into ${KB}`,
          `${KB} knowledge-base-of ${AGENT}`,
          `arn:aws:lambda:${R}:${A}:function:issue-refund tool-of ${AGENT}`,
          `${CONFIG} config-of ${ENDPOINT}`,
          `${MODEL} model-of ${CONFIG}`,
          `arn:aws:s3:::fraud-model-artifacts/legacy/model.tar.gz model-data-of ${MODEL}`,
          `arn:aws:s3:::fraud-training-data/tuning/train.jsonl input-of arn:aws:bedrock:${R}:${A}:model-customization-job/amazon.titan-text-express-v1:0:8k/job123`,
        ]),
      );
      // The bucket is tagged confidential (a real-shaped PutBucketTagging through the classifier).
      await t.deliver(documentedRecord('PutBucketTagging'));
      expect(await t.node(KB)).toMatchObject({ sensitivity: 'confidential', sensitivityFrom: { arn: BUCKET, path: [BUCKET, DATA_SOURCE, KB] } });
      expect(await t.node(AGENT)).toMatchObject({ sensitivity: 'confidential' });
      expect((await t.findings()).map((f) => [f.rule, f.resource])).toEqual(expect.arrayContaining([['sensitive-data-in-knowledge-base', KB]]));

      // Classified first, listed after: the listing's new edges queue the recomputation.
      const u = await setup('listing-lineage-after');
      await u.deliver(documentedRecord('PutBucketTagging'));
      await u.discover(a, '2026-12-01T06:00:00.000Z');
      expect(await u.node(KB)).toMatchObject({ sensitivity: 'confidential' });
    } finally {
      restore(a);
    }
  });

  it('merges a listing and the events about one resource into one item, whichever comes first', async () => {
    const a = account();
    try {
      // Event first (2025-06-02), then the listing: one item, first seen by the event, configuration from both.
      const t = await setup('listing-merge-event-first');
      await t.deliver(documentedRecord('CreateGuardrail'), documentedRecord('CreateKnowledgeBase'));
      const report = await t.discover(a, '2026-12-01T06:00:00.000Z');
      expect(report.foundByListing).not.toContain(GUARDRAIL);
      expect(report.foundByListing).not.toContain(KB);
      const kb = await t.resource(KB);
      expect(kb).toMatchObject({ firstEventId: 'doc-0008-CreateKnowledgeBase', lastEventId: 'listing:2026-12-01T06:00:00.000Z', status: 'active' });
      expect(kb?.discoveredBy).not.toBe('listing');
      expect(kb?.configuration).toMatchObject({ storageType: 'OPENSEARCH_SERVERLESS', listedBy: 'bedrock-agent:GetKnowledgeBase' });

      // Listing first, then the (older) event: the same one item; the event becomes its first sighting.
      const u = await setup('listing-merge-listing-first');
      await u.discover(a, '2026-12-01T06:00:00.000Z');
      await u.deliver(documentedRecord('CreateGuardrail'), documentedRecord('CreateKnowledgeBase'));
      const kb2 = await u.resource(KB);
      expect(kb2).toMatchObject({ firstEventId: 'doc-0008-CreateKnowledgeBase', lastEventId: 'listing:2026-12-01T06:00:00.000Z', status: 'active' });
      expect(kb2?.discoveredBy).not.toBe('listing');
      expect(kb2?.configuration).toMatchObject({ storageType: 'OPENSEARCH_SERVERLESS' });
      const resources = (await u.items()).filter((i) => i.entity === ENTITY.resource && String(i.arn).includes('KB12345678'));
      expect(resources).toHaveLength(1);
    } finally {
      restore(a);
    }
  });

  it('marks gone what a complete listing no longer shows; a delete event wins over a stale listing; an incomplete API judges nothing', async () => {
    const a = account();
    try {
      const t = await setup('listing-drift');
      await t.discover(a, '2026-12-01T06:00:00.000Z');
      // A flow an event showed: ListFlows is denied, so the listing cannot say it is gone.
      await t.deliver({ ...documentedRecord('CreateGuardrail'), eventID: 'flow-1', eventName: 'CreateFlow', responseElements: { arn: `arn:aws:bedrock:${R}:${A}:flow/FLOW123456`, id: 'FLOW123456' }, requestParameters: { name: 'f' } });

      // The strict guardrail is deleted (its delete event recorded), the example one disappears silently.
      const deleted = { ...documentedRecord('CreateGuardrail'), eventID: 'delete-1', eventName: 'DeleteGuardrail', eventTime: '2026-12-01T12:00:00Z', requestParameters: { guardrailIdentifier: 'gr7strict02' }, responseElements: null };
      await t.deliver(deleted);
      expect((await t.resource(STRICT))?.status).toBe('deleted');

      // A stale listing (begun before the delete) still shows both guardrails: the delete wins.
      await t.discover(a, '2026-12-01T11:00:00.000Z');
      expect((await t.resource(STRICT))?.status).toBe('deleted');

      // The next day's listing shows neither guardrail.
      a.bedrock.on(ListGuardrailsCommand).resolves({ guardrails: [] });
      const report = await t.discover(a, '2026-12-02T06:00:00.000Z');
      expect(report.gone).toEqual([GUARDRAIL]);
      const g = await t.resource(GUARDRAIL);
      expect(g).toMatchObject({ status: 'gone', lastEventId: 'listing:2026-12-02T06:00:00.000Z' });
      expect(g?.signals[0]).toMatchObject({ path: 'listedAbsent', note: expect.stringContaining('listed absent at 2026-12-02T06:00:00.000Z') });
      expect((await t.resource(STRICT))?.status).toBe('deleted');
      const flows = (await t.items()).filter((i) => i.entity === ENTITY.resource && i.kind === 'flow');
      expect(flows.map((f) => f.status)).toEqual(['active']);

      // Listed again: back to active.
      a.bedrock.reset().onAnyCommand().resolves({});
      a.bedrock.on(ListGuardrailsCommand).resolves({ guardrails: [{ id: 'gr7example1', arn: GUARDRAIL, status: 'READY', name: 'support', version: 'DRAFT', createdAt: new Date(), updatedAt: new Date() }] });
      a.bedrock.on(GetGuardrailCommand).resolves(guardrail('gr7example1', [['HATE', 'HIGH', 'HIGH']], '2026-12-02T07:00:00Z'));
      await t.discover(a, '2026-12-03T06:00:00.000Z');
      expect((await t.resource(GUARDRAIL))?.status).toBe('active');
    } finally {
      restore(a);
    }
  });
});

describe('the deployed discovery function: plan, list each account-region, summarize', () => {
  const HUB = A;
  const MEMBER = '444455556666';
  const context = { functionName: 'f', awsRequestId: 'r', invokedFunctionArn: `arn:aws:lambda:us-east-1:${HUB}:function:f`, getRemainingTimeInMillis: () => 600_000 } as never;
  const env = { TABLE_NAME: 'discovery-handler', DISCOVERY_TARGETS: `${HUB}:us-east-1`, LINEAGE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/lineage.fifo', POWERTOOLS_SERVICE_NAME: 'ai-visibility-discovery', POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility', ORGANIZATION_REGIONS: 'us-east-1,eu-west-1' };

  it('plans every account x region once, lists the hub, isolates a member whose role is refused, and counts what was found by listing per account', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const { createDiscoveryHandler } = await import('../../lambdas/discovery/handler');
    const { MemberRoleUnavailableError, memberRoleArn } = await import('../../lambdas/shared/member-credentials');
    const refused = new MemberRoleUnavailableError(MEMBER, memberRoleArn('aws', MEMBER), 'AccessDenied: not authorized to perform sts:AssumeRole');
    await db.createInventoryTable('discovery-handler');
    const a = account();
    try {
      const pipeline = localPipeline(db, 'discovery-handler');
      const handler = createDiscoveryHandler(env, {
        dynamodb: db.client,
        lineage: pipeline.lineage.queue,
        logLevel: 'SILENT',
        listAccounts: async () => [{ id: HUB }, { id: MEMBER }],
        now: () => new Date('2026-12-02T06:00:00.000Z'),
        forTarget: async (_account, _region, member) => {
          if (member) throw refused;
          return a.clients;
        },
      });
      const planned = (await handler({ step: 'plan' }, context)) as { runId: string; targets: Array<{ account: string; region: string; runId: string }> };
      expect(planned.targets.map((t) => `${t.account}:${t.region}`)).toEqual([`${HUB}:us-east-1`, `${HUB}:eu-west-1`, `${MEMBER}:us-east-1`, `${MEMBER}:eu-west-1`]);
      expect(planned.runId).toBe('2026-12-02T06:00:00.000Z');

      const hub = (await handler({ step: 'target', target: planned.targets[0] }, context)) as TargetOutcome;
      expect(hub).toMatchObject({ account: HUB, region: 'us-east-1', foundByListing: 12, gone: 0, findings: 6 });
      expect(hub.failedApis).toEqual([{ api: 'bedrock-agent:ListFlows', code: 'AccessDeniedException', message: expect.stringContaining('bedrock:ListFlows') }]);
      await expect(handler({ step: 'target', target: planned.targets[2] }, context)).rejects.toBe(refused);
      const findings = (await scanTable(db.documents, 'discovery-handler')).filter((i) => i.entity === ENTITY.finding && i.rule === 'member-role-unavailable');
      expect(findings).toEqual([expect.objectContaining({ account: MEMBER, producer: 'discovery' })]);

      // The state machine's Catch turns the refusal into a failed target (ai-discovery.ts TargetFailed).
      const summary = await handler({ step: 'summarize', runId: planned.runId, results: [hub as never, { failed: true, account: MEMBER, region: 'us-east-1', error: 'MemberRoleUnavailableError' }] }, context);
      expect(summary).toMatchObject({ targets: 2, failedTargets: [{ account: MEMBER, region: 'us-east-1', error: 'MemberRoleUnavailableError' }], foundByListing: 12, failedApis: 1, byAccount: { [HUB]: { listed: 12, foundByListing: 12, gone: 0 } } });
    } finally {
      restore(a);
    }
  });
});
