/**
 * Agents end to end, on the agent scenario (test/fixtures/cloudtrail/documented/agents-*.json,
 * built from the documented API shapes): the replay discovers the agent's tool role from its
 * action group, the trail reader's rule keeps its calls from the first (the agent capture rules
 * only from the next log file on), its actions land in
 * the ledger with their classes and findings; the `agent` command prints them from the local
 * store and from a "deployed" table (dynalite behind the SDK's endpoint setting); the sync
 * function writes the rules through the EventBridge API (mocked). Denial bursts across batches
 * go through the classifier handler and its real directory on a real DynamoDB API (dynalite).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteRuleCommand, EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { cliRunner, useTempDirs } from '../support';
import { createAgentCaptureSyncHandler } from '../../lambdas/agent-capture-sync/handler';
import type { SQSEvent } from 'aws-lambda';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { LOCAL_TABLE_NAME, localClassifierHandler } from '../../local/handlers';
import { scanTable, type ReplayReport } from '../../local/replay/report';
import { createAgentDirectory } from '../../lambdas/classifier/agents/directory';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { ENTITY, keys } from '../../lambdas/shared/items';
import { FIXTURES } from '../helpers';

const TOOL = 'arn:aws:iam::111122223333:role/support-tools-role';
const TOOL_WITH_PATH = 'arn:aws:iam::111122223333:role/service-role/support-tools-role';
const temp = useTempDirs();
const STORE = temp.dir('ai-visibility-agents-');
const SCENARIO = [join(FIXTURES, 'documented', 'agents-1-setup.json'), join(FIXTURES, 'documented', 'agents-2-activity.json')];

const cli = cliRunner();

let report: ReplayReport;

beforeAll(async () => {
  const { stdout } = await cli('replay', '--json', '--store', STORE, ...SCENARIO);
  report = JSON.parse(stdout) as ReplayReport;
});

describe('the agent scenario, replayed', () => {
  it("identifies the tool role from the action group's function, with the evidence", () => {
    const agent = report.agents.find((a) => a.arn === TOOL)!;
    expect(agent.identifiedBy).toEqual([
      expect.objectContaining({ how: 'constructed', agent: 'arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345', eventId: 'agent-0002-CreateAgentActionGroup' }),
    ]);
    expect(agent.agentOf).toEqual(['arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345']);
    expect(agent.servicesTouched).toEqual(['dynamodb.amazonaws.com', 'ec2.amazonaws.com', 'iam.amazonaws.com', 's3.amazonaws.com', 'secretsmanager.amazonaws.com', 'sts.amazonaws.com']);
    expect(agent.actionCounts).toEqual({ write: 11, provision: 8, read: 1, 'data-access': 1, privilege: 7, destructive: 1, 'cross-account': 1, denied: 5 });
  });

  it('captures every action from the first: the one in the same log file before the discovery too (the trail reader)', () => {
    const ids = report.agentActions.filter((a) => a.agent === TOOL).map((a) => a.eventId);
    expect(ids[0]).toBe('agent-0000-CreateSnapshot-before-discovery');
    expect(ids).toHaveLength(12);
    expect(report.agentActions.find((a) => a.eventName === 'AssumeRole')).toEqual({
      agent: TOOL,
      eventId: 'agent-0012-AssumeRole',
      time: '2025-06-06T09:24:30.000Z',
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      class: ['write', 'privilege', 'cross-account'],
      outcome: 'success',
      resources: ['arn:aws:iam::444455556666:role/partner-data-reader'],
      session: 'arn:aws:sts::111122223333:assumed-role/support-tools-role/support-tools',
      sourceIPAddress: '203.0.113.10',
      account: '111122223333',
      region: 'us-east-1',
    });
  });

  it('with the agent capture rules instead, loses the action in the log file of the discovery (the measured difference)', async () => {
    const { stdout } = await cli('replay', '--json', '--agent-capture', 'rules', '--store', temp.dir('ai-visibility-rules-'), ...SCENARIO);
    const byRules = JSON.parse(stdout) as ReplayReport;
    const ids = byRules.agentActions.filter((a) => a.agent === TOOL).map((a) => a.eventId);
    expect(ids).toHaveLength(11);
    expect(ids).not.toContain('agent-0000-CreateSnapshot-before-discovery');
    expect(report.agentActions.filter((a) => a.agent === TOOL).map((a) => a.eventId)).toEqual(['agent-0000-CreateSnapshot-before-discovery', ...ids]);
  });

  it("logs the agent's CreateSnapshot and not the same call by the person in the console", () => {
    const snapshots = report.agentActions.filter((a) => a.eventName === 'CreateSnapshot');
    expect(snapshots.map((a) => a.agent)).toEqual([TOOL, TOOL]);
    expect(report.agents.map((a) => a.arn)).not.toContain('arn:aws:iam::111122223333:user/alice');
  });

  it('identifies the workload that wrote right after its model call, by behaviour', () => {
    const writer = report.agents.find((a) => a.arn === 'arn:aws:iam::111122223333:role/report-writer')!;
    expect(writer.identifiedBy.map((e) => e.how)).toEqual(['behaviour']);
    expect(writer.identifiedBy[0].signals[0].note).toBe('a write 120 s after its model call at 2025-06-06T09:10:00.000Z');
  });

  it('raises the excessive-agency findings, each once', () => {
    const rules = report.findings.filter((f) => f.principal === TOOL).map((f) => f.rule).sort();
    expect(rules).toEqual(['agent-cross-account-action', 'agent-denied-burst', 'agent-destructive-action', 'agent-privilege-change', 'agent-privilege-change', 'agent-provisioned-resource', 'agent-provisioned-resource', 'agent-provisioned-resource', 'agent-secret-access']);
    const burst = report.findings.find((f) => f.rule === 'agent-denied-burst')!;
    expect(burst).toMatchObject({ eventId: 'agent-0017-CreateUser', resource: TOOL, severity: 'high' });
    expect(burst.frameworks.map((f) => f.id)).toEqual(['LLM06:2025', 'AML.T0053', 'AML.TA0008']);
  });

  it('enters what the agent created into the inventory with createdByAgent', () => {
    expect(report.inventory.find((r) => r.arn === 'arn:aws:dynamodb:us-east-1:111122223333:table/support-cache')).toMatchObject({
      kind: 'agent-created-resource',
      service: 'dynamodb',
      attributes: expect.objectContaining({ createdByAgent: TOOL }),
    });
  });
});

describe('an agent declared by tag (built from the documented shapes)', () => {
  it('is followed from the next log file on, reads included', async () => {
    const dir = temp.dir('ai-visibility-declared-');
    const activity = JSON.parse(readFileSync(SCENARIO[1], 'utf8')).Records as Array<Record<string, unknown>>;
    const base = activity.find((r) => r.eventName === 'AttachRolePolicy')!;
    const bob = { type: 'IAMUser', principalId: 'AIDAEXAMPLEBOB', arn: 'arn:aws:iam::111122223333:user/bob', accountId: '111122223333', userName: 'bob' };
    const tagRole = { ...base, userIdentity: bob, eventName: 'TagRole', eventID: 'tag-1', eventTime: '2025-06-07T10:00:00Z', requestParameters: { roleName: 'triage-bot', tags: [{ key: 'ai-visibility:agent', value: 'true' }] } };
    const identity = JSON.parse(JSON.stringify(base.userIdentity).replaceAll('support-tools-role', 'triage-bot').replaceAll('/service-role/', '/'));
    const read = { ...base, userIdentity: identity, eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', eventID: 'read-1', eventTime: '2025-06-07T10:05:00Z', readOnly: true, requestParameters: { instancesSet: {} } };
    writeFileSync(join(dir, '1.json'), JSON.stringify({ Records: [tagRole] }));
    writeFileSync(join(dir, '2.json'), JSON.stringify({ Records: [read] }));
    const { stdout } = await cli('replay', '--json', '--store', temp.dir('ai-visibility-store-'), dir);
    const declared = JSON.parse(stdout) as ReplayReport;
    expect(declared.agents).toEqual([expect.objectContaining({ arn: 'arn:aws:iam::111122223333:role/triage-bot', identifiedBy: [expect.objectContaining({ how: 'declared', eventId: 'tag-1' })] })]);
    expect(declared.agentActions).toEqual([expect.objectContaining({ eventId: 'read-1', class: ['read'], outcome: 'success' })]);
  });
});

describe('denial bursts across batches, on a real table', () => {
  const records = (file: string) => JSON.parse(readFileSync(file, 'utf8')).Records as Array<Record<string, unknown>>;
  const denials = records(SCENARIO[1]).filter((r) => r.errorCode === 'AccessDenied');
  let sequence = 0;
  const batch = (list: Array<Record<string, unknown>>) =>
    ({
      Records: list.map((r) => ({ messageId: `m-${++sequence}`, receiptHandle: 'h', body: JSON.stringify(toEnvelope(r)), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:capture', awsRegion: 'us-east-1' })),
    }) as unknown as SQSEvent;
  const context = { functionName: 'test', awsRequestId: 'req', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
  const bursts = async (db: LocalDynamoDb) => (await scanTable(db.documents, 'bursts')).filter((i) => typeof i.sk === 'string' && i.sk.endsWith('#agent-denied-burst'));

  it('one denial per batch: one finding, at the denial that completes the burst; a redelivery adds none', async () => {
    const db = await startLocalDynamoDb();
    try {
      await db.createInventoryTable('bursts');
      const handler = localClassifierHandler(db, 'bursts');
      await handler(batch(records(SCENARIO[0])), context); // the setup makes the tool role an agent
      for (const d of denials) expect(await handler(batch([d]), context)).toEqual({ batchItemFailures: [] });
      // The scenario's five denials span 59 s: the default burst is 5 within 5 minutes.
      expect((await bursts(db)).map((f) => f.eventId)).toEqual(['agent-0017-CreateUser']);
      await handler(batch(denials), context);
      await handler(batch(denials.slice(2)), context);
      expect(await bursts(db)).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it("reads a busy agent's denials a burst's worth at a time, nearest first", async () => {
    const db = await startLocalDynamoDb();
    try {
      await db.createInventoryTable('bursts');
      const store = createInventoryStore(db.documents, 'bursts');
      const at = (i: number) => new Date(Date.UTC(2025, 5, 6, 9, 0, 0) + Math.floor(i / 10) * 1000).toISOString();
      await store.putItems(Array.from({ length: 500 }, (_, i) => ({ ...keys.agentDenial(TOOL, at(i), `d-${String(i).padStart(3, '0')}`), entity: ENTITY.agentDenial, time: at(i), eventId: `d-${String(i).padStart(3, '0')}` })));
      const directory = createAgentDirectory(store);
      const before = store.stats.readUnits;
      const found = await directory.deniedBefore(TOOL, at(0), { time: at(499), eventId: 'd-495' }, 5);
      expect(found.map((d) => d.eventId)).toEqual(['d-494', 'd-493', 'd-492', 'd-491', 'd-490']);
      expect(store.stats.readUnits - before).toBeLessThanOrEqual(1);
      expect(await directory.deniedBefore(TOOL, at(490), { time: at(499), eventId: 'd-490' }, 5)).toEqual([]); // first of its second
      expect((await directory.deniedBefore(TOOL, at(480), { time: at(490), eventId: 'd-490' }, 50)).map((d) => d.eventId)).toEqual(['d-489', 'd-488', 'd-487', 'd-486', 'd-485', 'd-484', 'd-483', 'd-482', 'd-481', 'd-480']);
      expect(await directory.deniedBefore('arn:aws:iam::111122223333:role/nobody', at(0), { time: at(499), eventId: 'd-495' }, 5)).toEqual([]);
      // And after a denial (what a late one re-judges), nearest first, up to a time.
      const readsBefore = store.stats.readUnits;
      expect((await directory.deniedAfter(TOOL, { time: at(15), eventId: 'd-015' }, at(499), 5)).map((d) => d.eventId)).toEqual(['d-016', 'd-017', 'd-018', 'd-019', 'd-020']);
      expect(store.stats.readUnits - readsBefore).toBeLessThanOrEqual(1);
      expect((await directory.deniedAfter(TOOL, { time: at(15), eventId: 'd-015' }, at(19), 50)).map((d) => d.eventId)).toEqual(['d-016', 'd-017', 'd-018', 'd-019']);
      expect(await directory.deniedAfter(TOOL, { time: at(499), eventId: 'd-499' }, at(499), 5)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe('ai-visibility agent ARN', () => {
  it('prints the timeline from the local store, whatever path the ARN is given with', async () => {
    const { code, stdout } = await cli('agent', TOOL_WITH_PATH, '--store', STORE, '--json');
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { agent: { arn: string }; actions: Array<{ time: string; eventName: string }> };
    expect(out.agent.arn).toBe(TOOL);
    expect(out.actions.map((a) => a.time)).toEqual([...out.actions.map((a) => a.time)].sort());
    expect(out.actions[0].eventName).toBe('CreateSnapshot');
    const text = await cli('agent', TOOL, '--store', STORE);
    expect(text.stdout).toContain('Timeline: 12 action(s)');
    expect(text.stdout).toContain('sts:AssumeRole  [write,privilege,cross-account]');
  });

  it('reads a deployed table through the SDK with --table and --region', async () => {
    const db = await startLocalDynamoDb({ path: STORE });
    const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    try {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint; // the "deployed" table is the store's
      const { code, stdout } = await cli('agent', TOOL, '--table', LOCAL_TABLE_NAME, '--region', 'us-east-1', '--json');
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as { actions: unknown[] }).actions).toHaveLength(12);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      else process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
      await db.close();
    }
  });

  it('says so when there is no such agent, no store, or bad usage', async () => {
    expect((await cli('agent', 'arn:aws:iam::111122223333:role/nobody', '--store', STORE)).code).toBe(1);
    expect((await cli('agent', TOOL, '--store', join(STORE, 'missing'))).code).toBe(1);
    expect((await cli('agent', 'not-an-arn')).code).toBe(2);
    expect((await cli('agent', TOOL, '--table', 't')).code).toBe(2);
  });
});

describe('the agent capture sync', () => {
  const eventbridge = mockClient(EventBridgeClient);
  const PREFIX = 'ai-visibility-agents-';
  const env = {
    TABLE_NAME: LOCAL_TABLE_NAME,
    EVENT_BUS_NAME: 'default',
    CAPTURE_QUEUE_ARN: 'arn:aws:sqs:us-east-1:111122223333:capture',
    CAPTURE_DLQ_ARN: 'arn:aws:sqs:us-east-1:111122223333:capture-dlq',
    AGENT_RULE_PREFIX: PREFIX,
    EVENT_PATTERN_QUOTA: '2048',
    POWERTOOLS_SERVICE_NAME: 'sync-test',
    POWERTOOLS_METRICS_NAMESPACE: 'AiVisibility',
  };
  const context = { functionName: 'sync', awsRequestId: 'r' } as Context;
  /** A batch of the sync queue carrying these EventBridge events. */
  const requests = (...events: Array<Record<string, unknown>>): SQSEvent => ({
    Records: events.map((e, i) => ({ messageId: `m${i}`, body: JSON.stringify(e), attributes: {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:sync.fifo', awsRegion: 'us-east-1', receiptHandle: 'h' })) as SQSEvent['Records'],
  });
  const watchedAt = (time: string) => ({ source: 'ai-visibility', 'detail-type': 'Principal Watched', time, detail: {} });
  const hourly = { source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), detail: {} };
  let db: LocalDynamoDb;
  const metrics: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write');

  beforeAll(async () => {
    db = await startLocalDynamoDb({ path: STORE });
  });
  afterAll(async () => {
    await db.close();
    stdout.mockRestore();
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  });
  beforeEach(() => {
    eventbridge.reset();
    metrics.length = 0;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    // Powertools writes metrics as EMF lines on stdout: keep the sync's failure metric.
    stdout.mockImplementation((chunk: string | Uint8Array) => {
      const line = String(chunk);
      if (line.includes('AgentRuleSyncFailures')) metrics.push(line);
      return true;
    });
  });
  const failureMetric = () => metrics.map((m) => (JSON.parse(m) as { AgentRuleSyncFailures: number }).AgentRuleSyncFailures);
  const syncHandler = (extra: Record<string, unknown> = {}) => createAgentCaptureSyncHandler(env, { dynamodb: db.client, eventbridge: eventbridge as unknown as EventBridgeClient, logLevel: 'SILENT', ...extra });

  it('creates a rule for the watched principals, targeting the capture queue; a second run changes nothing', async () => {
    const sync = syncHandler();
    eventbridge.on(ListRulesCommand).resolves({ Rules: [{ Name: 'ai-visibility-agents-roles-009', EventPattern: '{}', State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' }] });
    eventbridge.on(PutTargetsCommand).resolves({ FailedEntryCount: 0 });
    eventbridge.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: 'CaptureQueue', Arn: env.CAPTURE_QUEUE_ARN }] });
    const first = await sync(requests(hourly), context);
    expect(first).toMatchObject({ rules: 1, put: 1, removed: 1, failed: [] });
    expect(eventbridge.commandCalls(ListRulesCommand)[0].args[0].input).toMatchObject({ NamePrefix: PREFIX });
    const put = eventbridge.commandCalls(PutRuleCommand)[0].args[0].input;
    expect(put).toMatchObject({ Name: 'ai-visibility-agents-roles-001', EventBusName: 'default', State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' });
    expect(put.EventPattern!.length).toBeLessThanOrEqual(2_048);
    const roles = (JSON.parse(put.EventPattern!) as { detail: { userIdentity: { sessionContext: { sessionIssuer: { arn: string[] } } } } }).detail.userIdentity.sessionContext.sessionIssuer.arn;
    expect(roles).toEqual(expect.arrayContaining([TOOL, TOOL_WITH_PATH, 'arn:aws:iam::111122223333:role/report-writer']));
    expect(eventbridge.commandCalls(PutTargetsCommand)[0].args[0].input.Targets).toEqual([
      { Id: 'CaptureQueue', Arn: env.CAPTURE_QUEUE_ARN, DeadLetterConfig: { Arn: env.CAPTURE_DLQ_ARN }, RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 } },
    ]);
    expect(eventbridge.commandCalls(RemoveTargetsCommand)[0].args[0].input).toMatchObject({ Rule: 'ai-visibility-agents-roles-009', Ids: ['CaptureQueue'] });
    expect(eventbridge.commandCalls(DeleteRuleCommand)[0].args[0].input).toMatchObject({ Name: 'ai-visibility-agents-roles-009' });
    expect(failureMetric()).toEqual([0]);

    eventbridge.reset();
    eventbridge.on(ListRulesCommand).resolves({ Rules: [{ Name: put.Name, EventPattern: put.EventPattern, State: put.State }] });
    expect(await sync(requests(hourly), context)).toMatchObject({ put: 0, removed: 0 });
    expect(eventbridge.commandCalls(PutRuleCommand)).toHaveLength(0);
    // A burst of Principal Watched events published before that run: covered, no run.
    expect(await sync(requests(watchedAt(new Date(Date.now() - 60_000).toISOString()), watchedAt(new Date(Date.now() - 30_000).toISOString())), context)).toMatchObject({ skipped: true });
    // One published since: a run.
    expect(await sync(requests(watchedAt(new Date(Date.now() - 60_000).toISOString()), watchedAt(new Date().toISOString())), context)).not.toHaveProperty('skipped');
  });

  it('applies every rule on its own: a refused one fails the run (retried, metric) and does not stop the others', async () => {
    const sync = syncHandler();
    eventbridge.on(ListRulesCommand).resolves({
      Rules: ['roles-007', 'roles-008'].map((n) => ({ Name: `${PREFIX}${n}`, EventPattern: '{}', State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS' })),
    });
    eventbridge.on(PutRuleCommand).rejects(Object.assign(new Error('Event pattern is not valid. Reason: Event pattern size limit exceeded'), { name: 'InvalidEventPatternException' }));
    eventbridge.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: 'CaptureQueue', Arn: env.CAPTURE_QUEUE_ARN }] });
    eventbridge.on(DeleteRuleCommand, { Name: `${PREFIX}roles-007` }).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(sync(requests(hourly), context)).rejects.toThrow(/2 agent rule change\(s\) failed: put ai-visibility-agents-roles-001: InvalidEventPatternException.*remove ai-visibility-agents-roles-007: ThrottlingException/);
    // The refused put and the throttled delete did not stop the second delete.
    expect(eventbridge.commandCalls(DeleteRuleCommand).map((c) => c.args[0].input.Name)).toEqual([`${PREFIX}roles-007`, `${PREFIX}roles-008`]);
    expect(failureMetric()).toEqual([2]);
  });

  it("removes this deployment's rules, and only them, when CloudFormation deletes the stack, and answers it", async () => {
    const answers: Array<{ url: string; body: Record<string, unknown> }> = [];
    const fetchStub = (async (url: string, init: { body: string }) => {
      answers.push({ url, body: JSON.parse(init.body) as Record<string, unknown> });
      return { ok: true, status: 200 };
    }) as unknown as typeof fetch;
    const sync = syncHandler({ fetch: fetchStub });
    eventbridge.on(ListRulesCommand).resolves({ Rules: [{ Name: `${PREFIX}roles-001` }, { Name: `${PREFIX}users-001` }] });
    eventbridge.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: 'CaptureQueue', Arn: env.CAPTURE_QUEUE_ARN }] });
    const request = {
      RequestType: 'Delete',
      ServiceToken: 'arn:aws:lambda:us-east-1:111122223333:function:sync',
      ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed',
      StackId: 'arn:aws:cloudformation:us-east-1:111122223333:stack/AiVisibility/1',
      RequestId: 'req-1',
      LogicalResourceId: 'AgentCaptureRuleCleanup',
      PhysicalResourceId: 'AgentCaptureRuleCleanup-agent-rules',
      ResourceType: 'Custom::AgentCaptureRules',
      ResourceProperties: { ServiceToken: 'x', RulePrefix: PREFIX },
    } as const;
    expect(await sync(request, context)).toMatchObject({ removed: 2, failed: [] });
    expect(eventbridge.commandCalls(ListRulesCommand)[0].args[0].input).toMatchObject({ NamePrefix: PREFIX });
    expect(eventbridge.commandCalls(DeleteRuleCommand).map((c) => c.args[0].input.Name)).toEqual([`${PREFIX}roles-001`, `${PREFIX}users-001`]);
    expect(answers).toEqual([{ url: request.ResponseURL, body: expect.objectContaining({ Status: 'SUCCESS', RequestId: 'req-1', LogicalResourceId: 'AgentCaptureRuleCleanup', PhysicalResourceId: 'AgentCaptureRuleCleanup-agent-rules', StackId: request.StackId }) }]);

    // A removal that fails is answered FAILED with the reason, never left unanswered.
    eventbridge.reset();
    eventbridge.on(ListRulesCommand).rejects(Object.assign(new Error('not authorized to perform: events:ListRules'), { name: 'AccessDeniedException' }));
    answers.length = 0;
    await sync(request, context);
    expect(answers[0].body).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('AccessDeniedException') });
    // Create and Update change nothing and succeed.
    eventbridge.reset();
    answers.length = 0;
    await sync({ ...request, RequestType: 'Create' } as never, context);
    expect(answers[0].body).toMatchObject({ Status: 'SUCCESS' });
    expect(eventbridge.calls()).toHaveLength(0);
  });
});
