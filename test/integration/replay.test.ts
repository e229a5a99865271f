/**
 * The local replay and its CLI, end to end: input formats, the stack's own patterns, the real
 * handler against dynalite, the `--json` contract, problem reporting and exit codes.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startLocalDynamoDb } from '../../local/replay/local-dynamodb';
import { localClassifierHandler } from '../../local/handlers';
import { replayInto } from '../../local/replay/replay';
import { buildReport, scanTable, type ReplayReport } from '../../local/replay/report';
import { FIXTURES, aiFixture, documentedRecord, nonAiRecords } from '../helpers';
import { cliRunner, useTempDirs } from '../support';

const temp = useTempDirs();
const STORE = temp.dir('ai-visibility-store-');

/** The CLI, with its embedded DynamoDB in a temporary directory rather than the working tree. */
const cli = cliRunner({ store: STORE });

async function replayJson(...paths: string[]): Promise<{ code: number; report: ReplayReport }> {
  const { code, stdout } = await cli('replay', '--json', ...paths);
  return { code, report: JSON.parse(stdout) as ReplayReport };
}

const tmp = () => temp.dir('ai-visibility-replay-');

describe('ai-visibility replay --json', () => {
  it('prints exactly one JSON document with the schemaVersion 1 fields, and exits 3 because a record was quarantined', async () => {
    const { code, stdout } = await cli('replay', '--json', join(FIXTURES, 'ai'));
    expect(code).toBe(3);
    const report = JSON.parse(stdout) as ReplayReport; // throws if stdout held anything else
    expect(report.schemaVersion).toBe(1);
    expect(report.stats).toEqual({ records: 15, matched: 15, notMatched: 0, classified: 14, ignored: 0, quarantined: 1, problems: 0, files: 15 });
    expect(Object.keys(report.inventory[0])).toEqual(expect.arrayContaining(['arn', 'kind', 'service', 'account', 'region', 'status', 'signals']));
    expect(Object.keys(report.principals[0])).toEqual(expect.arrayContaining(['arn', 'role']));
    expect(Object.keys(report.findings[0])).toEqual(expect.arrayContaining(['rule', 'severity', 'resource', 'principal', 'eventId', 'time', 'frameworks']));
    expect(report.quarantine).toEqual([{ source: expect.stringContaining('cloud-custodian__CreateModelCustomizationJob__1.json'), reason: 'missing eventTime: the event cannot be ordered against others' }]);
  });

  it('reports what the real records show: kinds, roles and findings', async () => {
    const { report } = await replayJson(join(FIXTURES, 'ai'));
    expect(report.findings.map((f) => f.rule).sort()).toEqual(['gpu-launch-refused', 'guardrail-deleted', 'guardrail-weakened', 'invocation-logging-disabled']);
    expect(report.inventory.find((r) => r.arn === 'arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo')).toMatchObject({ kind: 'guardrail', status: 'deleted' });
    expect(report.principals.find((p) => p.arn === 'arn:aws:iam::956882123456:user/himan')).toMatchObject({ role: 'ai-application' });
  });

  it('matches nothing in the non-AI records and exits 0', async () => {
    const { code, report } = await replayJson(join(FIXTURES, 'non-ai'));
    expect(code).toBe(0);
    expect(report.stats).toMatchObject({ records: nonAiRecords().length, matched: 0, classified: 0, quarantined: 0 });
    expect(report.inventory).toEqual([]);
  });

  it('starts no store for input no rule takes, and leaves a kept store empty, as every replay starts from empty', async () => {
    const store = temp.dir('ai-visibility-store-');
    const withStore = cliRunner({ store });
    expect((await withStore('replay', '--json', join(FIXTURES, 'ai'))).code).toBe(3);
    const held = readdirSync(store).filter((f) => f !== 'ai-visibility.lock');
    expect(held.length).toBeGreaterThan(0);
    // Non-AI records only: nothing is delivered, so no store is started; the earlier replay is gone.
    const { code, stdout } = await withStore('replay', '--json', join(FIXTURES, 'non-ai'));
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as ReplayReport).inventory).toEqual([]);
    expect(readdirSync(store)).toEqual([]);
    const agent = await withStore('agent', 'arn:aws:iam::956882123456:user/himan');
    expect(agent.code).toBe(1);
    expect(agent.stderr).toContain('holds no replay');
  });

  it('replays the bundled samples by default, readably, and --allow-quarantine exits 0', async () => {
    const { code, stdout } = await cli('replay', '--allow-quarantine');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ai-visibility replay: \d+ records from \d+ file\(s\); \d+ matched the capture rules/);
    expect(stdout).toContain('Inventory:');
    expect(stdout).toContain('[HIGH] agent-gateway-without-authorizer');
  });

  it('refuses bad usage with exit code 2', async () => {
    expect((await cli('replay', '--batch-size', 'many')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('replay', '--no-such-flag')).code).toBe(2);
    expect((await cli('--help')).code).toBe(0);
  });
});

describe('input formats', () => {
  const dir = tmp();
  const invoke = aiFixture('InvokeModel');
  const guardrail = aiFixture('DeleteGuardrail');
  const run = documentedRecord('RunInstances');

  // A CloudTrail S3 log file, gzipped and named as CloudTrail names them.
  writeFileSync(join(dir, '111122223333_CloudTrail_us-east-1_20250605T1000Z_abc.json.gz'), gzipSync(JSON.stringify({ Records: [invoke, guardrail] })));
  // A JSON array of EventBridge envelopes.
  writeFileSync(join(dir, 'envelopes.json'), JSON.stringify([{ version: '0', id: 'x', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2', account: '111122223333', time: '2025-06-05T10:00:00Z', region: 'us-east-1', resources: [], detail: run }]));
  // JSON lines with a broken line in the middle.
  writeFileSync(join(dir, 'events.jsonl'), `${JSON.stringify(documentedRecord('CreateAgent'))}\n{"eventSource": broken\n${JSON.stringify(documentedRecord('CreateKnowledgeBase'))}\n`);
  // `aws cloudtrail lookup-events` output.
  mkdirSync(join(dir, 'nested'));
  writeFileSync(join(dir, 'nested', 'lookup.json'), JSON.stringify({ Events: [{ EventId: 'x', EventName: 'CreateGateway', CloudTrailEvent: JSON.stringify(documentedRecord('CreateGateway')) }] }));
  // CloudTrail Lake GetQueryResults rows.
  writeFileSync(join(dir, 'nested', 'lake.json'), JSON.stringify({ QueryStatus: 'FINISHED', QueryResultRows: [[{ eventJson: JSON.stringify(documentedRecord('CreateTrainingJob')) }]] }));
  // Things that cannot be read.
  writeFileSync(join(dir, 'garbage.json'), 'this is not json at all');
  writeFileSync(join(dir, 'empty.json'), '');
  writeFileSync(join(dir, 'not-a-record.json'), JSON.stringify([42]));

  it('reads every format, reports each unreadable file or line with its reason, and goes on', async () => {
    const { code, report } = await replayJson(dir);
    expect(code).toBe(3);
    expect(report.stats.files).toBe(8);
    expect(report.stats.matched).toBe(7);
    expect(report.stats.classified).toBe(7);
    const kinds = report.inventory.map((r) => r.kind).sort();
    // foundation models: the one invoked, the agent's and the knowledge base's embedding model
    expect(kinds).toEqual(['agent', 'agent-gateway', 'foundation-model', 'foundation-model', 'foundation-model', 'gpu-instance', 'guardrail', 'knowledge-base', 'training-job']);
    expect(report.quarantine).toEqual(
      expect.arrayContaining([
        { source: join(dir, 'events.jsonl:2'), reason: expect.stringContaining('not valid JSON') },
        { source: join(dir, 'garbage.json'), reason: expect.stringContaining('not JSON, JSON lines or a CloudTrail log file') },
        { source: join(dir, 'empty.json'), reason: 'empty file' },
        { source: join(dir, 'not-a-record.json#0'), reason: 'not a CloudTrail record or EventBridge envelope (no eventSource)' },
      ]),
    );
    expect(report.quarantine).toHaveLength(4);
    // Three are files or lines (problems), one a record (quarantined).
    expect(report.stats).toMatchObject({ problems: 3, quarantined: 1 });
    expect(report.stats.records).toBe(report.stats.notMatched + report.stats.classified + report.stats.quarantined);
  });
});

describe('replaying is idempotent', () => {
  it('a second replay of the same files into the same table changes nothing', async () => {
    const db = await startLocalDynamoDb();
    try {
      await db.createInventoryTable('replay-twice');
      const handler = localClassifierHandler(db, 'replay-twice');
      const paths = [join(FIXTURES, 'ai'), join(FIXTURES, 'documented')];
      await replayInto(paths, { handler }, { batchSize: 7 });
      const first = await scanTable(db.documents, 'replay-twice');
      await replayInto(paths, { handler }, { batchSize: 3 });
      const second = await scanTable(db.documents, 'replay-twice');
      const sort = (items: Record<string, unknown>[]) => items.sort((a, b) => `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`));
      expect(sort(second)).toEqual(sort(first));
    } finally {
      await db.close();
    }
  });
});

describe('messages the handler keeps failing', () => {
  it('are redelivered, then reported as dead-lettered, and not counted as classified', async () => {
    const db = await startLocalDynamoDb();
    try {
      await db.createInventoryTable('dead-letters');
      const real = localClassifierHandler(db, 'dead-letters');
      const deliveries: string[] = [];
      // A handler that cannot write one record (as if DynamoDB kept refusing it).
      const handler: typeof real = async (event, context) => {
        const response = await real(event, context);
        const stuck = event.Records.filter((r) => r.messageId.endsWith('DeleteGuardrail__Guardrail-Deleted.json'));
        deliveries.push(...stuck.map((r) => r.messageId));
        return { batchItemFailures: [...response.batchItemFailures, ...stuck.map((r) => ({ itemIdentifier: r.messageId }))] };
      };
      const run = await replayInto([join(FIXTURES, 'ai')], { handler }, { maxDeliveries: 3 });
      expect(deliveries).toHaveLength(3);
      expect(run.deadLettered).toBe(1);
      expect(run.problems).toEqual([{ source: expect.stringContaining('DeleteGuardrail__Guardrail-Deleted.json'), reason: 'not written after 3 deliveries (deployed: moved to the dead-letter queue)' }]);
      const report = buildReport(await scanTable(db.documents, 'dead-letters'), run);
      expect(report.stats).toMatchObject({ matched: 15, classified: 13, quarantined: 2 });
    } finally {
      await db.close();
    }
  });
});

describe('rule states in the replay', () => {
  it('delivers read-only InvokeModel (rule state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS), drops GetFoundationModel, and takes an IAM user\'s ListFoundationModels as reconnaissance (ModelRecon)', async () => {
    const dir = tmp();
    const invoke = aiFixture('InvokeModel');
    const other = { type: 'IAMUser', principalId: 'AIDAEXAMPLECAROL', arn: 'arn:aws:iam::111122223333:user/carol', accountId: '111122223333', userName: 'carol' };
    const get = { ...invoke, userIdentity: other, eventName: 'GetFoundationModel', eventID: 'get-1' };
    writeFileSync(join(dir, 'two.json'), JSON.stringify({ Records: [invoke, get] }));
    expect((await replayJson(dir)).report.stats).toMatchObject({ records: 2, matched: 1 });
    const list = { ...get, eventName: 'ListFoundationModels', eventID: 'list-1' };
    writeFileSync(join(dir, 'two.json'), JSON.stringify({ Records: [invoke, list] }));
    expect((await replayJson(dir)).report.stats).toMatchObject({ records: 2, matched: 2 });
  });

  it("keeps the same read by the principal that just invoked a model: it is watched, and the trail reader keeps a watched principal's every call", async () => {
    const dir = tmp();
    const invoke = aiFixture('InvokeModel');
    const list = { ...invoke, eventName: 'GetFoundationModel', eventID: 'get-1' };
    writeFileSync(join(dir, 'two.json'), JSON.stringify({ Records: [list, invoke] }));
    expect((await replayJson(dir)).report.stats).toMatchObject({ records: 2, matched: 2 });
    const { stdout } = await cli('replay', '--json', '--agent-capture', 'rules', dir);
    expect((JSON.parse(stdout) as ReplayReport).stats).toMatchObject({ records: 2, matched: 1 });
  });
});

describe('the bundled samples', () => {
  it('keep their attribution', () => {
    const sources = readFileSync(join(FIXTURES, 'SOURCES.md'), 'utf8');
    expect(sources).toContain('panther-labs/panther-analysis');
    expect(sources).toContain('documented/');
  });
});
