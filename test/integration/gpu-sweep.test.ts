/**
 * The GPU sweep end to end: the synthesized state-machine definition run by
 * aws-local-stepfunctions with its Task states bound to the sweep Lambda's own handler, against a
 * real DynamoDB API (dynalite). Discovery and GetMetricData are answered from recorded files built
 * from a real H200 trace (test/fixtures/sweep, README there) or from AWS SDK clients mocked with
 * aws-sdk-client-mock, answering as the API references document.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BedrockClient, ListProvisionedModelThroughputsCommand } from '@aws-sdk/client-bedrock';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeTrainingJobCommand, ListEndpointsCommand, ListNotebookInstancesCommand, ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { cliRunner, useTempDirs } from '../support';
import { GPU_TYPE_FILTER } from '../../lambdas/gpu-sweep/discover';
import { awsDiscovery } from '../../lambdas/gpu-sweep/aws-apis';
import { fetchMetrics, planQueries, queriesPerCall, type SweepTarget } from '../../lambdas/gpu-sweep/metrics';
import { sweepTarget, type RemediationActions } from '../../lambdas/gpu-sweep/sweep';
import { nextIdleStreak, planRemediation, type RemediationCandidate } from '../../lambdas/core/remediation';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { ENTITY, keys, readRemediation } from '../../lambdas/shared/items';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { scanTable } from '../../local/replay/report';
import { readInventory, readMetrics, recordedMetricReader, runLocalSweep, synthesizedSweepDefinition } from '../../local/sweep/local-sweep';
import { documentedRecord } from '../helpers';

const EXAMPLES = join(__dirname, '..', 'fixtures', 'sweep');
const INVENTORY = join(EXAMPLES, 'h200-inventory.json');
const METRICS = join(EXAMPLES, 'h200-metrics.json');
const ec2 = (id: string) => `arn:aws:ec2:us-east-1:111122223333:instance/${id}`;

const temp = useTempDirs();
const cli = cliRunner();

describe('the synthesized state machine', () => {
  const definition = synthesizedSweepDefinition() as { States: Record<string, Record<string, unknown>>; StartAt: string; QueryLanguage?: string };

  it('is JSONPath: Plan, a bounded Map over account-regions whose failures are caught, Summarize', () => {
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(definition.StartAt).toBe('Plan');
    const map = definition.States.SweepAccountRegions as { Type: string; ItemsPath: string; MaxConcurrency: number; ItemProcessor: { States: Record<string, Record<string, unknown>> } };
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.targets', MaxConcurrency: 10, Next: 'Summarize' });
    const target = map.ItemProcessor.States.SweepTarget as { Retry: Array<Record<string, unknown>>; Catch: Array<Record<string, unknown>> };
    expect(target.Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ['SweepThrottledError'], IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 4 }));
    expect(target.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'TargetFailed' }]);
    expect(JSON.stringify(definition)).not.toContain('JSONata');
  });
});

describe('a local sweep over the H200 examples', () => {
  let result: Awaited<ReturnType<typeof runLocalSweep>>;
  const STORE = temp.dir('ai-visibility-sweep-');

  beforeAll(async () => {
    result = await runLocalSweep(INVENTORY, METRICS, { storePath: STORE });
  }, 60_000);

  it('calls each H200 phase what it was, and names the resources it cannot see', () => {
    const verdict = (arn: string) => result.verdicts.find((v) => v.resource === arn)?.verdict;
    expect([1, 2, 3, 4, 5].map((n) => verdict(ec2(['i-0a1e000000000001', 'i-0b5a000000000002', 'i-0c4e000000000003', 'i-0d6b000000000004', 'i-0e7e000000000005'][n - 1])))).toEqual([
      'idle',
      'busy',
      'memory-held-idle',
      'underutilized',
      'idle',
    ]);
    expect(verdict(ec2('i-0f00000000000006'))).toBe('no-telemetry');
    expect(verdict('arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/research-notebook')).toBe('no-telemetry');
    expect(verdict('arn:aws:bedrock:us-east-1:111122223333:provisioned-model/pt1234abcd')).toBe('idle');
    // SageMaker's GPUUtilization is 0-100 times the GPU count: 4 GPUs at the bursty phase's 33.4 %.
    expect(result.verdicts.find((v) => v.kind === 'inference-endpoint')).toMatchObject({ verdict: 'underutilized', gpuUtilization: 33.4 });
  });

  it('prices the waste and keeps the per-GPU figures', () => {
    const held = result.verdicts.find((v) => v.resource === ec2('i-0c4e000000000003'))!;
    expect(held).toMatchObject({ instanceType: 'p5e.48xlarge', gpuMemoryUsedPct: 40.5, pricePerHour: 63.296, wastedPerHour: 63.3, priceBasis: 'ec2-on-demand' });
    expect(held.accelerators).toHaveLength(8);
    expect(result.summary).toMatchObject({ targets: 1, resources: 9, idleAccelerators: 8 * 3, failedTargets: [] });
    expect(result.summary.verdicts).toEqual({ busy: 1, underutilized: 2, idle: 3, 'memory-held-idle': 1, 'no-telemetry': 2 });
  });

  it('packs the queries: ceil(queries / 500) GetMetricData calls for the account-region', () => {
    // Five p5e.48xlarge (8 GPUs x 4 metrics + CPU), the g5.12xlarge without the agent (asked all the same), the endpoint's variant, the throughput.
    expect(result.summary.metricQueries).toBe(5 * 33 + (4 * 4 + 1) + 3 + 1);
    expect(result.summary.getMetricDataCalls).toBe(Math.ceil(result.summary.metricQueries / 500));
    expect(result.getMetricDataRequests).toBe(1);
  });

  it('records history, the last verdict on the inventory, and findings for the wasteful verdicts', async () => {
    const db = await startLocalDynamoDb({ path: STORE });
    try {
      const items = await scanTable(db.documents, 'ai-visibility-local');
      expect(items.filter((i) => i.entity === ENTITY.utilization)).toHaveLength(9);
      const instance = items.find((i) => i.pk === keys.resource(ec2('i-0c4e000000000003')).pk && i.sk === '#STATE')!;
      expect(instance).toMatchObject({ entity: 'resource', kind: 'gpu-instance', discoveredBy: 'gpu-sweep', lastSweep: { verdict: 'memory-held-idle', wastedPerHour: 63.3 } });
      const rules = items.filter((i) => i.entity === ENTITY.finding).map((i) => i.rule).sort();
      expect(rules).toEqual(['gpu-idle', 'gpu-idle', 'gpu-idle', 'gpu-memory-held-idle', 'gpu-no-telemetry', 'gpu-no-telemetry', 'gpu-underutilized', 'gpu-underutilized']);
    } finally {
      await db.close();
    }
  });

  it('raises nothing again when the next sweep finds the same', async () => {
    const again = await runLocalSweep(INVENTORY, METRICS, { storePath: STORE });
    expect(again.summary.findings).toBe(0);
  }, 60_000);
});

describe('ai-visibility sweep', () => {
  it('prints the verdicts as JSON', async () => {
    const { code, stdout } = await cli('sweep', '--inventory', INVENTORY, '--metrics', METRICS, '--json');
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.sweep.targets).toBe(9);
    for (const v of out.sweep.verdicts) expect(Object.keys(v)).toEqual(expect.arrayContaining(['resource', 'kind', 'verdict', 'gpuUtilization', 'gpuMemoryUsedPct', 'evidence']));
  }, 60_000);

  it('shows the remediation in dry run: what it would do about a tagged idle resource once due, and what is not due yet', async () => {
    // The H200 inventory with its idle instance tagged idle-action=stop and a busy one tagged too.
    const inventory = JSON.parse(readFileSync(INVENTORY, 'utf8')) as { resources: Array<Record<string, unknown>> };
    const idle = inventory.resources.find((r) => r.phase === 'idle')!;
    const busy = inventory.resources.find((r) => r.phase === 'saturated')!;
    idle.tags = { 'ai-visibility:idle-action': 'stop' };
    busy.tags = { 'ai-visibility:idle-action': 'stop' };
    const file = join(temp.dir('ai-visibility-sweep-tagged-'), 'inventory.json');
    writeFileSync(file, JSON.stringify(inventory));
    const due = JSON.parse((await cli('sweep', '--inventory', file, '--metrics', METRICS, '--json', '--idle-sweeps', '1')).stdout);
    expect(due.sweep.remediation).toMatchObject({ idleSweeps: 1, pending: [] });
    expect(due.sweep.remediation.planned).toEqual([expect.objectContaining({ resource: idle.arn, action: 'stop-instance', dryRun: true, outcome: 'dry-run', undo: expect.stringContaining(String(idle.name)) })]);
    const later = JSON.parse((await cli('sweep', '--inventory', file, '--metrics', METRICS, '--json')).stdout);
    expect(later.sweep.remediation).toEqual({ idleSweeps: 3, planned: [], pending: [{ resource: idle.arn, idleAction: 'stop', idleSweeps: 1 }] });
    const text = (await cli('sweep', '--inventory', file, '--metrics', METRICS, '--idle-sweeps', '1')).stdout;
    expect(text).toContain(`would stop the instance ${idle.arn}`);
    expect((await cli('sweep', '--inventory', file, '--metrics', METRICS, '--idle-sweeps', '0')).code).toBe(2);
  }, 120_000);

  it("with the replay's store, also sweeps the GPU instances the replay put in the inventory", async () => {
    const store = temp.dir('ai-visibility-sweep-replay-');
    // The documented RunInstances alone (the file's later StopInstances would stop it, and a stopped instance is not swept).
    const log = join(store, 'run-instances.json');
    writeFileSync(log, JSON.stringify({ Records: [documentedRecord('RunInstances')] }));
    expect((await cli('replay', '--json', '--store', store, log)).code).toBe(0);
    const { code, stdout } = await cli('sweep', '--inventory', INVENTORY, '--metrics', METRICS, '--json', '--store', store);
    expect(code).toBe(0);
    const fromInventory = JSON.parse(stdout).sweep.verdicts.filter((v: { foundBy: string[] }) => v.foundBy.includes('inventory'));
    expect(fromInventory.length).toBeGreaterThan(0);
    for (const v of fromInventory) expect(v).toMatchObject({ kind: 'gpu-instance', verdict: 'no-telemetry' });
  }, 60_000);

  it('says what is wrong with a bad input file, and refuses missing options', async () => {
    const dir = temp.dir('ai-visibility-sweep-bad-');
    writeFileSync(join(dir, 'inv.json'), JSON.stringify({ resources: [{ arn: 'x', kind: 'gpu' }] }));
    expect(await cli('sweep', '--inventory', join(dir, 'inv.json'), '--metrics', METRICS)).toMatchObject({ code: 1, stderr: expect.stringContaining('resources[0] of') });
    expect(await cli('sweep', '--inventory', join(dir, 'missing.json'), '--metrics', METRICS)).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read the inventory file') });
    expect((await cli('sweep', '--inventory', INVENTORY)).code).toBe(2);
  });
});

describe('one target failing never fails the sweep', () => {
  it('records the failure and sweeps the rest', async () => {
    const inventory = readInventory(INVENTORY);
    const dir = temp.dir('ai-visibility-sweep-fail-');
    // A second account-region whose discovery cannot run (built from the example's shape).
    const broken = { ...inventory.resources[0], arn: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0broken0000000001', region: 'eu-west-1', name: 'i-0broken0000000001', instanceType: 'not-a-type.large' };
    writeFileSync(join(dir, 'inv.json'), JSON.stringify({ resources: [...inventory.resources, broken] }));
    const result = await runLocalSweep(join(dir, 'inv.json'), METRICS, {
      discovery: (_account, region, recorded) => ({
        discover: async () => {
          if (region === 'eu-west-1') throw Object.assign(new Error('discovery refused: not authorized to perform ec2:DescribeInstances'), { name: 'UnauthorizedOperation' });
          return [...recorded];
        },
      }),
    });
    expect(result.summary.failedTargets).toEqual([{ account: '111122223333', region: 'eu-west-1', error: expect.stringContaining('discovery refused') }]);
    expect(result.summary.resources).toBe(9);
  }, 60_000);
});

describe('the shipped CloudWatch agent configuration', () => {
  it('publishes exactly the series the sweep queries: the four nvidia_smi metrics by {InstanceId, index}', () => {
    const config = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docs', 'cloudwatch-agent-gpu.json'), 'utf8'));
    expect(config.metrics.append_dimensions).toEqual({ InstanceId: '${aws:InstanceId}' });
    expect(config.metrics.aggregation_dimensions).toEqual([['InstanceId', 'index']]);
    const queried = planQueries([{ arn: ec2('i-1'), kind: 'gpu-instance', account: '111122223333', region: 'us-east-1', name: 'i-1', instanceType: 'g5.xlarge', foundBy: ['discovery'] }]).filter((q) => q.query.MetricStat!.Metric!.Namespace === config.metrics.namespace);
    expect(queried.map((q) => q.query.MetricStat!.Metric!.MetricName)).toEqual(config.metrics.metrics_collected.nvidia_gpu.measurement.map((m: string) => `nvidia_smi_${m}`));
    for (const q of queried) expect(q.query.MetricStat!.Metric!.Dimensions!.map((d) => d.Name)).toEqual(['InstanceId', 'index']);
  });
});

describe('throttling', () => {
  it('retries a throttled target with backoff and finishes the sweep', async () => {
    let calls = 0;
    const result = await runLocalSweep(INVENTORY, METRICS, {
      retryIntervalMs: 0,
      discovery: (_account, _region, recorded) => ({
        discover: async () => {
          if (++calls === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: { throttling: true } });
          return [...recorded];
        },
      }),
    });
    expect(result.retries).toBe(1);
    expect(result.summary).toMatchObject({ resources: 9, failedTargets: [] });
  }, 60_000);
});

describe('the summary', () => {
  it('goes to EventBridge as a GPU Utilization Sweep Summary event, and the counts go out as metrics for alarms', async () => {
    const { EventBridgeClient, PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    const { createSweepControlHandler: createSweepHandler } = await import('../../lambdas/gpu-sweep/handler');
    const { DEFAULT_SWEEP_ENVIRONMENT } = await import('../../lambdas/gpu-sweep/environment');
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const handler = createSweepHandler(
      { TABLE_NAME: 'unused', SWEEP_TARGETS: '111122223333:us-east-1', SUMMARY_EVENT_BUS: 'default', POWERTOOLS_SERVICE_NAME: 's', POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility', ...DEFAULT_SWEEP_ENVIRONMENT },
      { store: {} as never, inventory: { gpuInstances: async () => [] }, logLevel: 'SILENT' },
    );
    const context = { functionName: 'f', awsRequestId: 'r', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:f', getRemainingTimeInMillis: () => 1000 } as never;
    const window = { start: '2026-11-25T00:00:00.000Z', end: '2026-11-25T01:00:00.000Z' };
    const result = { account: '111122223333', region: 'us-east-1', sweepId: 's1', resources: 2, accelerators: 16, verdicts: { busy: 1, underutilized: 0, idle: 1, 'memory-held-idle': 0, 'no-telemetry': 0 }, idleAccelerators: 8, wastedPerHour: 55.04, metricQueries: 66, getMetricDataCalls: 1, getMetricDataRequests: 1, findings: 1 };
    const summary = await handler({ step: 'summarize', plan: { sweepId: 's1', window }, results: [result, { account: '111122223333', region: 'eu-west-1', sweepId: 's1', failed: true, error: 'AccessDenied' }] }, context);
    expect(summary).toMatchObject({ targets: 2, resources: 2, idleAccelerators: 8, wastedPerHour: 55.04, failedTargets: [{ account: '111122223333', region: 'eu-west-1', error: 'AccessDenied' }] });
    const sent = eb.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0];
    // And the metrics for alarms, in CloudWatch embedded metric format on stdout.
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      const withMetrics = createSweepHandler(
        { TABLE_NAME: 'unused', SWEEP_TARGETS: '111122223333:us-east-1', SUMMARY_EVENT_BUS: 'default', POWERTOOLS_SERVICE_NAME: 's', POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility', ...DEFAULT_SWEEP_ENVIRONMENT },
        { store: {} as never, inventory: { gpuInstances: async () => [] }, logLevel: 'SILENT', publish: async () => undefined },
      );
      await withMetrics({ step: 'summarize', plan: { sweepId: 's1', window }, results: [result] }, context);
    } finally {
      process.stdout.write = write;
      process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    }
    const emf = lines.map((l) => l.trim()).filter((l) => l.startsWith('{') && l.includes('_aws')).map((l) => JSON.parse(l));
    expect(emf).toContainEqual(expect.objectContaining({ IdleGpuCount: 8, IdleGpuCostPerHour: 55.04, _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Namespace: 'AiVisibility' })] }) }));
    expect(sent).toMatchObject({ Source: 'ai-visibility', DetailType: 'GPU Utilization Sweep Summary', EventBusName: 'default' });
    expect(JSON.parse(sent.Detail!)).toEqual(summary);
    eb.restore();
  });
});

describe('GetMetricData batching and pagination', () => {
  const targets = (n: number): SweepTarget[] =>
    Array.from({ length: n }, (_, i) => ({ arn: ec2(`i-${String(i).padStart(17, '0')}`), kind: 'gpu-instance', account: '111122223333', region: 'us-east-1', name: `i-${String(i).padStart(17, '0')}`, instanceType: 'p4d.24xlarge', instanceCount: 1, foundBy: ['discovery'] }));
  const window = { start: '2026-11-25T00:00:00.000Z', end: '2026-11-25T01:00:00.000Z' };

  it('sends 500 queries a call, follows NextToken, and stitches the pages together', async () => {
    const cw = mockClient(CloudWatchClient);
    cw.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: Array<{ Id: string }>; NextToken?: string }) => {
      const half = !input.NextToken;
      return {
        MetricDataResults: input.MetricDataQueries.map((q) => ({ Id: q.Id, StatusCode: half ? 'PartialData' : 'Complete', Timestamps: [new Date(half ? '2026-11-25T00:00:00Z' : '2026-11-25T00:01:00Z')], Values: [half ? 10 : 20] })),
        ...(half ? { NextToken: 'page-2' } : {}),
      };
    });
    const client = new CloudWatchClient({ region: 'us-east-1' });
    const queries = planQueries(targets(40)); // 40 x (8 GPUs x 4 + CPU) = 1,320
    expect(queries).toHaveLength(1320);
    const fetched = await fetchMetrics({ getMetricData: (i) => client.send(new GetMetricDataCommand(i)) }, queries, window);
    const calls = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(fetched.calls).toBe(3);
    expect(calls.filter((c) => !c.NextToken).map((c) => c.MetricDataQueries!.length).sort()).toEqual([320, 500, 500]);
    expect(calls).toHaveLength(6);
    expect(fetched.points.get('q0')).toEqual([
      { t: '2026-11-25T00:00:00.000Z', v: 10 },
      { t: '2026-11-25T00:01:00.000Z', v: 20 },
    ]);
    cw.restore();
  });

  it('fits the points in 100,800 a call: fewer queries a call for long windows', () => {
    expect(queriesPerCall(3600, 60)).toBe(500);
    expect(queriesPerCall(4 * 86_400, 60)).toBe(17); // 5,760 points a query
    expect(queriesPerCall(70 * 86_400, 60)).toBe(1);
  });
});

describe('discovery through the AWS APIs', () => {
  it('lists running accelerator instances, GPU endpoints, jobs, notebooks and provisioned throughput', async () => {
    const ec2Mock = mockClient(EC2Client);
    const sm = mockClient(SageMakerClient);
    const br = mockClient(BedrockClient);
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ OwnerId: '111122223333', Instances: [{ InstanceId: 'i-0123456789abcdef0', InstanceType: 'g5.xlarge', State: { Name: 'running' } }, { InstanceId: 'i-0fedcba9876543210', InstanceType: 'dl1.24xlarge', State: { Name: 'running' } }] }],
    });
    sm.on(ListEndpointsCommand).resolves({ Endpoints: [{ EndpointName: 'Fraud-Model', EndpointArn: 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model', CreationTime: new Date(), LastModifiedTime: new Date(), EndpointStatus: 'InService' }] });
    sm.on(DescribeEndpointCommand).resolves({ EndpointName: 'Fraud-Model', EndpointArn: 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model', EndpointConfigName: 'fraud-model-config', EndpointStatus: 'InService', CreationTime: new Date(), LastModifiedTime: new Date(), ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 2 }] });
    sm.on(DescribeEndpointConfigCommand).resolves({ EndpointConfigName: 'fraud-model-config', EndpointConfigArn: 'arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/fraud-model-config', CreationTime: new Date(), ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'fraud-model', InstanceType: 'ml.g5.2xlarge', InitialInstanceCount: 1 }] });
    sm.on(ListTrainingJobsCommand).resolves({ TrainingJobSummaries: [{ TrainingJobName: 'llm-finetune', TrainingJobArn: 'arn:aws:sagemaker:us-east-1:111122223333:training-job/llm-finetune', CreationTime: new Date(), TrainingJobStatus: 'InProgress' }] });
    sm.on(DescribeTrainingJobCommand).resolves({ TrainingJobName: 'llm-finetune', TrainingJobArn: 'arn:aws:sagemaker:us-east-1:111122223333:training-job/llm-finetune', ResourceConfig: { InstanceType: 'ml.p4d.24xlarge', InstanceCount: 2, VolumeSizeInGB: 100 }, TrainingJobStatus: 'InProgress', SecondaryStatus: 'Training', AlgorithmSpecification: { TrainingInputMode: 'File' }, RoleArn: 'arn:aws:iam::111122223333:role/r', OutputDataConfig: { S3OutputPath: 's3://b/o' }, StoppingCondition: {}, CreationTime: new Date(), ModelArtifacts: undefined } as never);
    sm.on(ListNotebookInstancesCommand).resolves({ NotebookInstances: [{ NotebookInstanceName: 'research', NotebookInstanceArn: 'arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/research', InstanceType: 'ml.t3.medium' }] });
    br.on(ListProvisionedModelThroughputsCommand).resolves({
      provisionedModelSummaries: [{ provisionedModelName: 'support-pt', provisionedModelArn: 'arn:aws:bedrock:us-east-1:111122223333:provisioned-model/pt1234abcd', modelArn: 'arn:aws:bedrock:us-east-1::foundation-model/x', desiredModelArn: 'arn:aws:bedrock:us-east-1::foundation-model/x', foundationModelArn: 'arn:aws:bedrock:us-east-1::foundation-model/x', modelUnits: 2, desiredModelUnits: 2, status: 'InService', creationTime: new Date(), lastModifiedTime: new Date() }],
    });
    const found = await awsDiscovery({ ec2: new EC2Client({ region: 'us-east-1' }), sagemaker: new SageMakerClient({ region: 'us-east-1' }), bedrock: new BedrockClient({ region: 'us-east-1' }) }).discover('111122223333', 'us-east-1');
    expect(found.map((t) => [t.kind, t.arn, t.instanceType, t.instanceCount])).toEqual([
      ['gpu-instance', ec2('i-0123456789abcdef0'), 'g5.xlarge', 1],
      ['inference-endpoint', 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model', 'ml.g5.2xlarge', 2],
      ['training-job', 'arn:aws:sagemaker:us-east-1:111122223333:training-job/llm-finetune', 'ml.p4d.24xlarge', 2],
      ['provisioned-throughput', 'arn:aws:bedrock:us-east-1:111122223333:provisioned-model/pt1234abcd', undefined, 2],
    ]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0].args[0].input.Filters).toEqual([
      { Name: 'instance-state-name', Values: ['running'] },
      { Name: 'instance-type', Values: GPU_TYPE_FILTER },
    ]);
    ec2Mock.restore();
    sm.restore();
    br.restore();
  });
});

describe('the opt-in remediation of idle accelerators', () => {
  const candidate = (over: Partial<RemediationCandidate> = {}): RemediationCandidate => ({ resource: ec2('i-0a1e000000000001'), kind: 'gpu-instance', region: 'us-east-1', verdict: 'idle', idleSweeps: 3, idleSince: '2026-12-01T07:00:00.000Z', idleAction: 'stop', expectedIdle: false, gpuUtilization: 0, wastedPerHour: 98.32, ...over });
  const on = { mode: 'on' as const, idleSweeps: 3 };

  it('acts once per streak, at the Nth consecutive idle sweep, only on what is tagged, and says how to undo it', () => {
    expect(planRemediation(candidate(), on)).toMatchObject({ action: 'stop-instance', dryRun: false, undo: 'aws ec2 start-instances --instance-ids i-0a1e000000000001 --region us-east-1', why: expect.stringContaining('idle in 3 consecutive sweeps since 2026-12-01T07:00:00.000Z') });
    expect(planRemediation(candidate({ idleSweeps: 2 }), on)).toBeUndefined();
    expect(planRemediation(candidate({ idleSweeps: 4 }), on)).toBeUndefined();
    expect(planRemediation(candidate({ idleAction: null }), on)).toBeUndefined();
    expect(planRemediation(candidate({ expectedIdle: true }), on)).toBeUndefined();
    expect(planRemediation(candidate({ verdict: 'busy', idleSweeps: 0 }), on)).toBeUndefined();
    expect(planRemediation(candidate(), { mode: 'off', idleSweeps: 3 })).toBeUndefined();
    expect(planRemediation(candidate(), { mode: 'dry-run', idleSweeps: 3 })).toMatchObject({ action: 'stop-instance', dryRun: true });
    expect(planRemediation(candidate({ kind: 'notebook', resource: 'arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/research' }), on)).toMatchObject({ action: 'stop-notebook', undo: 'aws sagemaker start-notebook-instance --notebook-instance-name research --region us-east-1' });
    // An endpoint is never deleted or reconfigured: it is notified, and the reason names the API's requirement.
    expect(planRemediation(candidate({ kind: 'inference-endpoint', resource: 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/e' }), on)).toMatchObject({ action: 'notify', undo: null, notifyOnly: expect.stringContaining('MinInstanceCount 0') });
    expect(planRemediation(candidate({ idleAction: 'notify' }), on)).toMatchObject({ action: 'notify', notifyOnly: 'tagged idle-action=notify' });
  });

  it('counts consecutive idle sweeps, and a busy one starts over', () => {
    let streak = nextIdleStreak(undefined, 'idle', 'w1');
    expect(streak).toEqual({ idleSweeps: 1, idleSince: 'w1' });
    streak = nextIdleStreak(streak, 'memory-held-idle', 'w2');
    expect(streak).toEqual({ idleSweeps: 2, idleSince: 'w1' });
    streak = nextIdleStreak(streak, 'busy', 'w3');
    expect(streak).toEqual({ idleSweeps: 0, idleSince: null });
    expect(nextIdleStreak(streak, 'idle', 'w4')).toEqual({ idleSweeps: 1, idleSince: 'w4' });
  });

  describe('in the sweep, against a table (dynalite)', () => {
    let db: LocalDynamoDb;
    beforeAll(async () => {
      db = await startLocalDynamoDb();
    });
    afterAll(async () => db.close());
    const inventory = readInventory(INVENTORY);
    const metrics = readMetrics(METRICS);
    const here = inventory.resources.filter((r) => r.account === '111122223333' && r.region === 'us-east-1');
    const run = async (table: string, sweepId: string, settings: { mode: 'off' | 'dry-run' | 'on'; idleSweeps: number }, actions?: RemediationActions) => {
      const { inventorySource } = await import('../../lambdas/gpu-sweep/discover');
      return sweepTarget(
        { account: '111122223333', region: 'us-east-1', sweepId, window: metrics.window, period: 60 },
        { discovery: { discover: async () => here.map((r) => ({ ...r, foundBy: ['discovery' as const] })) }, inventory: inventorySource(db.documents, table), metrics: recordedMetricReader(metrics), store: createInventoryStore(db.documents, table), remediation: { settings, actions } },
      );
    };
    const idleOne = async (table: string) => {
      await db.createInventoryTable(table);
      await run(table, 'sweep-0', { mode: 'off', idleSweeps: 3 });
      const items = await scanTable(db.documents, table);
      const idle = items.filter((i) => i.entity === ENTITY.utilization && i.verdict === 'idle').map((i) => String(i.resource));
      await db.documents.send(new (await import('@aws-sdk/lib-dynamodb')).UpdateCommand({ TableName: table, Key: keys.resource(idle[0]), UpdateExpression: 'SET idleAction = :stop', ExpressionAttributeValues: { ':stop': 'stop' } }));
      return { tagged: idle[0], others: idle.slice(1) };
    };

    it('stops the tagged idle instance at the third idle sweep, records who, what, why, when and the undo, and raises a finding to notify', async () => {
      // sweep-0 found it idle before it was tagged: the streak counts it (one).
      const { tagged } = await idleOne('remediate-on');
      const stopped: string[] = [];
      const actions: RemediationActions = { stopInstance: async (_r, id) => void stopped.push(id), stopNotebook: async () => undefined };
      await run('remediate-on', 'sweep-1', on, actions);
      expect(stopped).toEqual([]);
      await run('remediate-on', 'sweep-2', on, actions);
      expect(stopped).toEqual([tagged.split('/').pop()]);
      // Only the tagged one, and only once per streak.
      await run('remediate-on', 'sweep-3', on, actions);
      expect(stopped).toHaveLength(1);
      const items = await scanTable(db.documents, 'remediate-on');
      const records = items.flatMap((i) => readRemediation(i) ?? []);
      expect(records).toEqual([expect.objectContaining({ resource: tagged, action: 'stop-instance', dryRun: false, outcome: 'done', by: 'ai-visibility GPU sweep sweep-2', sweepId: 'sweep-2', at: metrics.window.end, undo: expect.stringContaining('aws ec2 start-instances'), why: expect.stringContaining('3 consecutive sweeps') })]);
      const findings = items.filter((i) => i.entity === ENTITY.finding && i.rule === 'gpu-idle-remediation');
      expect(findings).toHaveLength(1);
      expect(String(findings[0].summary)).toMatch(/^Stopped gpu-instance .* Undo: aws ec2 start-instances/);
    });

    it('in dry run, records and notifies what it would do and calls nothing; a failed stop is recorded as failed', async () => {
      const { tagged } = await idleOne('remediate-dry');
      const calls: string[] = [];
      const actions: RemediationActions = { stopInstance: async (_r, id) => void calls.push(id), stopNotebook: async () => undefined };
      for (const id of ['sweep-1', 'sweep-2', 'sweep-3']) await run('remediate-dry', id, { mode: 'dry-run', idleSweeps: 3 }, actions);
      // (sweep-0, sweep-1, sweep-2 make three: the dry run is recorded at sweep-2, once.)
      expect(calls).toEqual([]);
      const dry = (await scanTable(db.documents, 'remediate-dry')).flatMap((i) => readRemediation(i) ?? []);
      expect(dry).toEqual([expect.objectContaining({ resource: tagged, dryRun: true, outcome: 'dry-run' })]);

      await idleOne('remediate-fail');
      const refusing: RemediationActions = { stopInstance: async () => Promise.reject(new Error('UnauthorizedOperation: not tagged')), stopNotebook: async () => undefined };
      await run('remediate-fail', 'sweep-1', { mode: 'on', idleSweeps: 2 }, refusing);
      const failed = (await scanTable(db.documents, 'remediate-fail')).flatMap((i) => readRemediation(i) ?? []);
      expect(failed).toEqual([expect.objectContaining({ outcome: 'failed: UnauthorizedOperation: not tagged' })]);
    });
  });
});

describe('the inventory joins the sweep', () => {
  let db: LocalDynamoDb;
  beforeAll(async () => {
    db = await startLocalDynamoDb();
    await db.createInventoryTable('sweep-inventory');
  });
  afterAll(async () => db.close());

  it('sweeps a GPU instance only the inventory knows, and skips one it knows is stopped', async () => {
    const store = createInventoryStore(db.documents, 'sweep-inventory');
    // Index keys as the item module spells them (lambdas/shared/items).
    const item = (id: string, state: string, region = 'us-east-1') => ({ ...keys.resource(ec2(id)), entity: 'resource', arn: ec2(id), kind: 'gpu-instance', account: '111122223333', region, status: 'active', instanceType: 'g6.xlarge', instanceState: state, gsi1pk: 'KIND#gpu-instance', gsi1sk: ec2(id), gsi2pk: 'ACCOUNT#111122223333', gsi2sk: `RESOURCE#gpu-instance#${ec2(id)}` });
    // A type newer than the catalog is judged too, and says why its GPUs cannot be counted.
    await store.putItems([item('i-0aaaaaaaaaaaaaaa1', 'running'), item('i-0bbbbbbbbbbbbbbb2', 'stopped'), { ...item('i-0ccccccccccccccc3', 'running'), instanceType: 'p6e-gb200.36xlarge' }, item('i-0ddddddddddddddd4', 'running', 'eu-west-1')]);
    const metrics = readMetrics(METRICS);
    const { inventorySource } = await import('../../lambdas/gpu-sweep/discover');
    const result = await sweepTarget(
      { account: '111122223333', region: 'us-east-1', sweepId: 'sweep-test', window: metrics.window, period: 60 },
      { discovery: { discover: async () => [] }, inventory: inventorySource(db.documents, 'sweep-inventory'), metrics: recordedMetricReader(metrics), store },
    );
    expect(result).toMatchObject({ resources: 2, verdicts: { 'no-telemetry': 2 } });
    const history = (await scanTable(db.documents, 'sweep-inventory')).filter((i) => i.entity === ENTITY.utilization);
    expect(history.map((h) => [h.resource, h.foundBy]).sort()).toEqual([
      [ec2('i-0aaaaaaaaaaaaaaa1'), ['inventory']],
      [ec2('i-0ccccccccccccccc3'), ['inventory']],
    ]);
    expect(history.find((h) => h.resource === ec2('i-0ccccccccccccccc3'))?.evidence).toContainEqual(expect.stringContaining('p6e-gb200.36xlarge is not in the accelerator catalog'));
  });

  it('raises no finding for an idle GPU tagged ai-visibility:expected-idle=true, and says it is expected; the other idle ones still raise theirs', async () => {
    await db.createInventoryTable('sweep-expected-idle');
    const store = createInventoryStore(db.documents, 'sweep-expected-idle');
    const inventory = readInventory(INVENTORY);
    const metrics = readMetrics(METRICS);
    const here = inventory.resources.filter((r) => r.account === '111122223333' && r.region === 'us-east-1');
    const { inventorySource } = await import('../../lambdas/gpu-sweep/discover');
    const sweep = (table: string, sweepId: string) =>
      sweepTarget(
        { account: '111122223333', region: 'us-east-1', sweepId, window: metrics.window, period: 60 },
        { discovery: { discover: async () => here.map((r) => ({ ...r, foundBy: ['discovery' as const] })) }, inventory: inventorySource(db.documents, table), metrics: recordedMetricReader(metrics), store: createInventoryStore(db.documents, table) },
      );
    // First, untagged: which are idle.
    await db.createInventoryTable('sweep-expected-idle-base');
    await sweep('sweep-expected-idle-base', 'base');
    const baseItems = await scanTable(db.documents, 'sweep-expected-idle-base');
    const idle = baseItems.filter((i) => i.entity === ENTITY.utilization && i.verdict === 'idle').map((i) => String(i.resource));
    const idleFindings = baseItems.filter((i) => i.entity === ENTITY.finding && i.rule === 'gpu-idle').length;
    expect(idle.length).toBeGreaterThan(1);
    // Tagged as the classifier records the tag from CreateTags (its expectedIdle attribute).
    const [expected] = idle;
    await store.putItems([{ ...keys.resource(expected), entity: 'resource', arn: expected, kind: 'gpu-instance', account: '111122223333', region: 'us-east-1', status: 'active', expectedIdle: 'true' }]);
    await sweep('sweep-expected-idle', 'tagged');
    const items = await scanTable(db.documents, 'sweep-expected-idle');
    const verdict = items.find((i) => i.entity === ENTITY.utilization && i.resource === expected)!;
    expect(verdict).toMatchObject({ verdict: 'idle', expectedIdle: true });
    expect(verdict.evidence).toContainEqual(expect.stringContaining('expected idle'));
    const findings = items.filter((i) => i.entity === ENTITY.finding && i.rule === 'gpu-idle');
    expect(findings.map((f) => f.pk)).not.toContain(keys.resource(expected).pk);
    expect(findings).toHaveLength(idleFindings - 1);
  });

  it('counts expected-idle tagged before the deploy, as the Tagging API lookup reads it', async () => {
    await db.createInventoryTable('sweep-expected-idle-lookup');
    const inventory = readInventory(INVENTORY);
    const metrics = readMetrics(METRICS);
    const here = inventory.resources.filter((r) => r.account === '111122223333' && r.region === 'us-east-1');
    const idleOne = here.find((r) => (r as { phase?: string }).phase === 'idle')!;
    const { inventorySource } = await import('../../lambdas/gpu-sweep/discover');
    const asked: string[] = [];
    await sweepTarget(
      { account: '111122223333', region: 'us-east-1', sweepId: 'lookup', window: metrics.window, period: 60 },
      {
        discovery: { discover: async () => here.map((r) => ({ ...r, foundBy: ['discovery' as const] })) },
        inventory: inventorySource(db.documents, 'sweep-expected-idle-lookup'),
        metrics: recordedMetricReader(metrics),
        store: createInventoryStore(db.documents, 'sweep-expected-idle-lookup'),
        tagLookup: async (request) => {
          asked.push(...(request.resources ?? []).map((r) => r.arn));
          return new Map([[idleOne.arn, { tags: { 'ai-visibility:expected-idle': 'true' }, at: '2026-01-01T00:00:00.000Z' }]]);
        },
      },
    );
    expect(asked).toContain(idleOne.arn);
    const items = await scanTable(db.documents, 'sweep-expected-idle-lookup');
    expect(items.find((i) => i.entity === ENTITY.utilization && i.resource === idleOne.arn)).toMatchObject({ verdict: 'idle', expectedIdle: true });
    expect(items.filter((i) => i.entity === ENTITY.finding && i.pk === keys.resource(idleOne.arn).pk)).toEqual([]);
  });
});

describe('organization mode: the sweep maps over the organization', () => {
  const HUB = '111122223333';
  const context = { functionName: 'f', awsRequestId: 'r', invokedFunctionArn: `arn:aws:lambda:us-east-1:${HUB}:function:f`, getRemainingTimeInMillis: () => 60_000 } as never;
  const base = { TABLE_NAME: 'sweep-org', SWEEP_TARGETS: `${HUB}:us-east-1`, SUMMARY_EVENT_BUS: 'default', POWERTOOLS_SERVICE_NAME: 's', POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility' };

  it('plans every active account x the organization regions, and the configured pairs, once each', async () => {
    const { createSweepControlHandler } = await import('../../lambdas/gpu-sweep/handler');
    const { DEFAULT_SWEEP_ENVIRONMENT } = await import('../../lambdas/gpu-sweep/environment');
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const handler = createSweepControlHandler({ ...base, ...DEFAULT_SWEEP_ENVIRONMENT, ORGANIZATION_REGIONS: 'us-east-1,eu-west-1' }, { listAccounts: async () => [{ id: HUB, name: 'security', ouPath: ['Security'] }, { id: '444455556666', name: 'ml-prod', ouPath: ['Workloads', 'ML'] }], logLevel: 'SILENT', now: () => Date.parse('2026-12-02T06:00:00Z') });
    const planned = (await handler({ step: 'plan' }, context)) as unknown as { targets: Array<{ account: string; region: string; directory?: { name: string; ouPath: string[] } }> };
    expect(planned.targets.map((t) => `${t.account}:${t.region}`)).toEqual([`${HUB}:us-east-1`, `${HUB}:eu-west-1`, '444455556666:us-east-1', '444455556666:eu-west-1']);
    // Each target carries its account's name and OU path, for the target step to record.
    expect(planned.targets.map((t) => t.directory)).toEqual([{ name: 'security', ouPath: ['Security'] }, { name: 'security', ouPath: ['Security'] }, { name: 'ml-prod', ouPath: ['Workloads', 'ML'] }, { name: 'ml-prod', ouPath: ['Workloads', 'ML'] }]);
  });

  it('lists the active accounts from Organizations, page by page (the ListAccounts response shape)', async () => {
    const { ListAccountsCommand, OrganizationsClient } = await import('@aws-sdk/client-organizations');
    const { organizationAccounts } = await import('../../lambdas/shared/organization-accounts');
    const org = mockClient(OrganizationsClient);
    const account = (Id: string, Status: 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE', State?: 'ACTIVE' | 'PENDING_CLOSURE') => ({ Id, Arn: `arn:aws:organizations::${HUB}:account/o-a1b2c3d4e5/${Id}`, Email: `${Id}@example.com`, Name: Id, Status, ...(State ? { State } : {}), JoinedMethod: 'CREATED' as const, JoinedTimestamp: new Date('2025-01-01T00:00:00Z') });
    org.on(ListAccountsCommand, { NextToken: undefined }).resolves({ Accounts: [account('444455556666', 'ACTIVE'), account('777788889999', 'SUSPENDED')], NextToken: 'page-2' });
    org.on(ListAccountsCommand, { NextToken: 'page-2' }).resolves({ Accounts: [account(HUB, 'ACTIVE', 'ACTIVE'), account('222233334444', 'ACTIVE', 'PENDING_CLOSURE')] });
    // The hub directly under the root; the member under Workloads/ML (ListParents, DescribeOrganizationalUnit response shapes).
    const { DescribeOrganizationalUnitCommand, ListParentsCommand } = await import('@aws-sdk/client-organizations');
    org.on(ListParentsCommand, { ChildId: HUB }).resolves({ Parents: [{ Id: 'r-ab12', Type: 'ROOT' }] });
    org.on(ListParentsCommand, { ChildId: '444455556666' }).resolves({ Parents: [{ Id: 'ou-ab12-ml000001', Type: 'ORGANIZATIONAL_UNIT' }] });
    org.on(ListParentsCommand, { ChildId: 'ou-ab12-ml000001' }).resolves({ Parents: [{ Id: 'ou-ab12-work0001', Type: 'ORGANIZATIONAL_UNIT' }] });
    org.on(ListParentsCommand, { ChildId: 'ou-ab12-work0001' }).resolves({ Parents: [{ Id: 'r-ab12', Type: 'ROOT' }] });
    org.on(DescribeOrganizationalUnitCommand, { OrganizationalUnitId: 'ou-ab12-ml000001' }).resolves({ OrganizationalUnit: { Id: 'ou-ab12-ml000001', Arn: 'arn:aws:organizations::111122223333:ou/o-a1b2c3d4e5/ou-ab12-ml000001', Name: 'ML' } });
    org.on(DescribeOrganizationalUnitCommand, { OrganizationalUnitId: 'ou-ab12-work0001' }).resolves({ OrganizationalUnit: { Id: 'ou-ab12-work0001', Arn: 'arn:aws:organizations::111122223333:ou/o-a1b2c3d4e5/ou-ab12-work0001', Name: 'Workloads' } });
    expect(await organizationAccounts(new OrganizationsClient({ region: 'us-east-1' }))()).toEqual([
      { id: HUB, name: HUB, ouPath: [] },
      { id: '444455556666', name: '444455556666', ouPath: ['Workloads', 'ML'] },
    ]);
    org.restore();
  });

  it("a member whose role cannot be assumed fails alone, raises member-role-unavailable once a day, and the rest is swept", async () => {
    const db = await startLocalDynamoDb();
    try {
      await db.createInventoryTable('sweep-org');
      const { createSweepTargetHandler } = await import('../../lambdas/gpu-sweep/target-handler');
      const { DEFAULT_SWEEP_ENVIRONMENT } = await import('../../lambdas/gpu-sweep/environment');
      const { MemberRoleUnavailableError, memberRoleArn } = await import('../../lambdas/shared/member-credentials');
      const refused = new MemberRoleUnavailableError('444455556666', memberRoleArn('aws', '444455556666'), 'AccessDenied: not authorized to perform sts:AssumeRole');
      const asked: string[] = [];
      const handler = createSweepTargetHandler(
        { ...base, ...DEFAULT_SWEEP_ENVIRONMENT, ORGANIZATION_REGIONS: 'us-east-1' },
        {
          dynamodb: db.client,
          tagLookup: null,
          logLevel: 'SILENT',
          forTarget: (account) => {
            asked.push(account);
            if (account !== HUB) throw refused;
            return { discovery: { discover: async () => [] }, metrics: { getMetricData: async () => ({ MetricDataResults: [] }) } };
          },
        },
      );
      const window = { start: '2026-12-02T05:00:00.000Z', end: '2026-12-02T06:00:00.000Z' };
      const target = (account: string) => ({ step: 'target' as const, target: { account, region: 'us-east-1', sweepId: 'sweep-org', window, period: 60 } });
      await expect(handler(target('444455556666'), context)).rejects.toBe(refused);
      await expect(handler(target('444455556666'), context)).rejects.toBe(refused);
      await expect(handler({ ...target(HUB), target: { ...target(HUB).target, directory: { name: 'security', ouPath: ['Security'] } } }, context)).resolves.toMatchObject({ account: HUB, resources: 0 });
      // The account's name and OU path are recorded for reports and routing.
      const { keys: itemKeys, readAccount } = await import('../../lambdas/shared/items');
      const stored = await createInventoryStore(db.documents, 'sweep-org').getItems([itemKeys.account(HUB)]);
      expect(readAccount(stored.values().next().value)).toEqual({ id: HUB, name: 'security', ouPath: ['Security'], seenAt: window.end });
      expect(asked).toEqual(['444455556666', '444455556666', HUB]);
      const findings = (await scanTable(db.documents, 'sweep-org')).filter((i) => i.entity === ENTITY.finding);
      expect(findings).toEqual([expect.objectContaining({ rule: 'member-role-unavailable', severity: 'high', account: '444455556666', resource: memberRoleArn('aws', '444455556666'), eventId: expect.stringMatching(/^member-role-unavailable:444455556666:\d{4}-\d{2}-\d{2}$/) })]);
      expect(findings[0].summary).toContain('account 444455556666 is not swept, tagged or looked up until it can');
    } finally {
      await db.close();
    }
  });

  it('single-account mode still refuses another account, saying what it needs', async () => {
    const { createSweepTargetHandler } = await import('../../lambdas/gpu-sweep/target-handler');
    const { DEFAULT_SWEEP_ENVIRONMENT } = await import('../../lambdas/gpu-sweep/environment');
    const handler = createSweepTargetHandler({ ...base, ...DEFAULT_SWEEP_ENVIRONMENT }, { store: { putItems: async () => [] } as never, inventory: { gpuInstances: async () => [] }, tagLookup: null, logLevel: 'SILENT' });
    const window = { start: '2026-12-02T05:00:00.000Z', end: '2026-12-02T06:00:00.000Z' };
    await expect(handler({ step: 'target', target: { account: '444455556666', region: 'us-east-1', sweepId: 's', window, period: 60 } }, context)).rejects.toThrow(/sweeping account 444455556666 from 111122223333 needs organization mode/);
  });
});
