/**
 * The history import from CloudTrail event history, end to end: the synthesized state machine run
 * by aws-local-stepfunctions with its Task states bound to the Lambda's own handler, in organization
 * mode over three account-regions: one whose event history holds real records (fixtures/cloudtrail/ai,
 * re-timed into the window and copied with fresh eventIDs for volume) answered through the SDK's
 * LookupEventsCommand (aws-sdk-client-mock, the documented response shape), one whose member role
 * is refused, and the hub's own, empty. What it sends to the capture queue then goes through the
 * deployed classifier on dynalite. Time is virtual: the 2 requests/s pace is checked, not waited.
 */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { createLookupHistoryHandler, sdkLookupEvents, type LookupHistorySummary } from '../../lambdas/discovery/lookup-handler';
import { LOOKUP_HISTORY_SERVICE, type LookupHistoryEnvironment } from '../../lambdas/discovery/environment';
import { LOOKUP_INTERVAL_MS } from '../../lambdas/discovery/lookup-history';
import { compileRules, matchingRules, toEnvelope } from '../../lambdas/shared/capture-rules';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { MemberRoleUnavailableError } from '../../lambdas/shared/member-credentials';
import { ENTITY } from '../../lambdas/shared/items';
import { LookupHistoryImport } from '../../lib/constructs/lookup-history-import';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { classifyInto } from '../support/pipeline';
import { polyfillWithResolvers } from '../../local/sweep/local-sweep';
import { aiFixtureFiles } from '../helpers';
import { useTempDirs } from '../support';
import { eventHistory, virtualClock } from '../support/event-history';

const temp = useTempDirs();
const HUB = '999900001111';
const BUSY = '111122223333';
const REFUSED = '444455556666';
const NOW = Date.parse('2026-12-01T12:00:00Z');
const REAL = aiFixtureFiles().map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>);
const ENTRIES: Array<{ record: Record<string, unknown> }> = Array.from({ length: 12 }, (_, c) => REAL.map((r, i) => ({ record: { ...r, eventID: `${String(r.eventID)}-${c}`, eventTime: new Date(NOW - (c * REAL.length + i + 1) * 3_600_000).toISOString() } }))).flat();

const ENV: LookupHistoryEnvironment = {
  ...houseEnvironment(LOOKUP_HISTORY_SERVICE),
  CAPTURE_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/${HUB}/capture`,
  DISCOVERY_TARGETS: `${HUB}:us-east-1`,
  ORGANIZATION_REGIONS: 'us-east-1',
};
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

/** The synthesized state machine's definition (its Lambda ARN a placeholder), and the template. */
function synthesized() {
  const app = new App({ outdir: temp.dir(), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'LookupHistory', { env: { account: HUB, region: 'us-east-1' } });
  new LookupHistoryImport(stack, 'LookupHistory', { encryptionKey: new kms.Key(stack, 'Key'), captureQueue: new sqs.Queue(stack, 'Capture'), logRetentionDays: 1, organization: { organizationId: 'o-exampleorg1', regions: ['us-east-1'] } });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const machine = Object.values(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
  const definition = machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
  const token = (p: unknown) => (typeof p === 'string' ? p : `arn:aws:lambda:us-east-1:${HUB}:function:lookup-history`);
  return { template, definition: JSON.parse(definition['Fn::Join'][1].map(token).join('')) as { StartAt: string; States: Record<string, Record<string, unknown>> } };
}

describe('the synthesized history import from event history', () => {
  const { template, definition } = synthesized();

  it('plans, looks up each account-region in a bounded Map looping on its cursor, catches a failed one, and summarizes', () => {
    expect(definition.StartAt).toBe('Plan');
    const map = definition.States.LookUpAccountRegions as { ItemsPath: string; MaxConcurrency: number; ResultPath: string; ItemProcessor: { StartAt: string; States: Record<string, Record<string, unknown>> } };
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.targets', MaxConcurrency: 10, ResultPath: '$.results', Next: 'Summarize' });
    const states = map.ItemProcessor.States;
    expect(map.ItemProcessor.StartAt).toBe('LookUp');
    expect(states.LookUp).toMatchObject({ Next: 'Done?', Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'TargetFailed' }] });
    expect(states['Done?']).toMatchObject({ Choices: [{ Variable: '$.done', BooleanEquals: true, Next: 'LookedUp' }], Default: 'LookUp' });
    expect(JSON.stringify(definition)).not.toContain('JSONata');
  });

  it('runs once when the stack is created, not on every update', () => {
    const rule = Object.values(template.Resources).find((r) => r.Type === 'AWS::Events::Rule')!;
    expect(rule.Properties.EventPattern).toMatchObject({ source: ['aws.cloudformation'], 'detail-type': ['CloudFormation Stack Status Change'], detail: { 'status-details': { status: ['CREATE_COMPLETE'] } } });
  });

  it('may call LookupEvents (no resource-level permissions exist for it) and send to the capture queue only', () => {
    const statements = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'cloudtrail:LookupEvents', Resource: '*' }));
    const sends = statements.filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    expect(sends).toHaveLength(1);
    expect(JSON.stringify(sends[0].Resource)).toContain('Capture');
  });
});

describe('a run through the synthesized definition', () => {
  const { definition } = synthesized();
  let db: LocalDynamoDb;
  let cloudtrail: ReturnType<typeof mockCloudTrail>;
  let queue: ReturnType<typeof mockSqs>;
  const mockCloudTrail = () => mockClient(CloudTrailClient);
  const mockSqs = () => mockClient(SQSClient);
  const sent: string[] = [];
  const history = eventHistory(ENTRIES);
  const clock = virtualClock(NOW);
  const times: number[] = [];

  beforeAll(async () => {
    db = await startLocalDynamoDb();
    cloudtrail = mockCloudTrail();
    cloudtrail.on(LookupEventsCommand).callsFake(async (input) => (times.push(clock.now()), history.answer(input)));
    queue = mockSqs();
    queue.on(SendMessageBatchCommand).callsFake(async (input: { Entries: SendMessageBatchRequestEntry[] }) => {
      for (const e of input.Entries) sent.push(e.MessageBody!);
      return { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })), Failed: [] };
    });
  });
  afterAll(async () => {
    cloudtrail.restore();
    queue.restore();
    await db.close();
  });

  async function run(): Promise<{ summary: LookupHistorySummary; lookups: number }> {
    const handler = createLookupHistoryHandler(ENV, {
      sqs: new SQSClient({}),
      listAccounts: async () => [{ id: BUSY }, { id: REFUSED }],
      forTarget: (account) => {
        if (account === REFUSED) throw new MemberRoleUnavailableError(REFUSED, `arn:aws:iam::${REFUSED}:role/ai-visibility/ai-visibility-member`, 'AccessDenied: not authorized to perform sts:AssumeRole');
        return account === BUSY ? sdkLookupEvents(new CloudTrailClient({ region: 'us-east-1' })) : async () => ({ Events: [] });
      },
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0.5,
      reserveMs: 60_000,
      logLevel: 'SILENT',
    });
    let lookups = 0;
    // Each invocation has two seconds above the reserve: four requests at the pace, then a cursor.
    const invoke = async (input: unknown) => {
      const started = clock.now();
      if ((input as { step: string }).step === 'lookup') lookups++;
      const context = { functionName: 'lookup-history', awsRequestId: 'req', invokedFunctionArn: `arn:aws:lambda:us-east-1:${HUB}:function:lookup-history`, getRemainingTimeInMillis: () => 62_000 - (clock.now() - started) } as unknown as Context;
      return handler(input as never, context);
    };
    polyfillWithResolvers();
    const { StateMachine } = await import('aws-local-stepfunctions');
    const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    const execution = machine.run({} as never, { overrides: { taskResourceLocalHandlers: { Plan: invoke, LookUp: invoke, Summarize: invoke } as never, retryIntervalOverrides: { LookUp: 0 } } });
    return { summary: (await execution.result) as unknown as LookupHistorySummary, lookups };
  }

  it('imports 90 days of the AI sources at the quota, isolates the refused account, and the classifier inventories what it sent; a second run changes nothing', async () => {
    const { summary, lookups } = await run();
    expect(summary.targets).toBe(3);
    expect(summary.failedTargets).toEqual([expect.objectContaining({ account: REFUSED, region: 'us-east-1' })]);
    expect(summary.failedTargets[0].error).toContain('sts:AssumeRole');

    // Every entry of the queried sources read; exactly what the capture rules take sent.
    const rules = compileRules();
    const asked = ENTRIES.filter((e) => ['bedrock.amazonaws.com', 'bedrock-agentcore.amazonaws.com', 'sagemaker.amazonaws.com'].includes(String(e.record.eventSource)) || ['RunInstances', 'RequestSpotInstances', 'CreateFleet', 'CreateServiceSpecificCredential', 'AcceptAgreementRequest'].includes(String(e.record.eventName)));
    const taken = asked.filter((e) => matchingRules(toEnvelope(e.record), rules).length > 0);
    expect(summary.totals).toMatchObject({ events: asked.length, matched: taken.length, unreadable: 0, tooLarge: 0 });
    expect(new Set(sent.map((m) => (JSON.parse(m) as { detail: { eventID: string } }).detail.eventID))).toEqual(new Set(taken.map((e) => e.record.eventID)));
    // Several pages, several invocations of the busy account (the Choice looped), at most two requests a second.
    expect(summary.totals.requests).toBeGreaterThan(6);
    expect(lookups).toBeGreaterThan(3);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(LOOKUP_INTERVAL_MS);
    expect(cloudtrail.commandCalls(LookupEventsCommand).every((c) => c.args[0].input.MaxResults === 50 && c.args[0].input.LookupAttributes?.length === 1)).toBe(true);

    const first = await classified(db, 'lookup-first', sent);
    expect(first.filter((i) => i.entity === ENTITY.resource).map((i) => String(i.arn))).toEqual(
      expect.arrayContaining([expect.stringContaining(':guardrail/'), expect.stringContaining(':endpoint/'), expect.stringContaining(':instance/')]),
    );
    const once = sent.length;
    await run();
    expect(sent).toHaveLength(2 * once);
    expect(await classified(db, 'lookup-twice', sent)).toEqual(first);
  }, 120_000);
});

/** The table's items after the classifier took `bodies` (SQS messages) into a fresh table, without revisions. */
async function classified(db: LocalDynamoDb, table: string, bodies: readonly string[]) {
  return (await classifyInto(db, table, bodies)).map(({ rev: _rev, ...rest }) => rest).sort((a, b) => `${String(a.pk)}${String(a.sk)}`.localeCompare(`${String(b.pk)}${String(b.sk)}`));
}
