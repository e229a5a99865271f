/**
 * The Security Hub export: real findings (the fixtures' replay) in ASFF, batched within the
 * BatchImportFindings limits, imported against a client mock answering with the documented
 * response shape (SuccessCount, FailedCount, FailedFindings[{Id, ErrorCode, ErrorMessage}]),
 * FailedFindings retried, and the findings of a deleted resource archived from a real table.
 */
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import { asffOf, BATCH_IMPORT_LIMITS, importBatches, securityHubId, type ExportedFinding } from '../../lambdas/core/security-hub';
import { REDACTED } from '../../lambdas/core/notifications';
import { createSecurityHubExportHandler } from '../../lambdas/security-hub-export/handler';
import { SECURITY_HUB_EXPORT_SERVICE } from '../../lambdas/security-hub-export/environment';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { LOCAL_TABLE_NAME } from '../../local/handlers';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { cliRunner, useTempDirs } from '../support';
import { FIXTURES } from '../helpers';

const temp = useTempDirs();
const cli = cliRunner();
const STORE = temp.dir('ai-visibility-securityhub-');
const NOW = '2026-12-02T00:00:00.000Z';
let findings: ExportedFinding[];
let db: LocalDynamoDb;

beforeAll(async () => {
  const { stdout } = await cli('replay', '--json', '--allow-quarantine', '--store', STORE, FIXTURES);
  findings = (JSON.parse(stdout) as { events: Array<{ 'detail-type': string; detail: { finding?: ExportedFinding } }> }).events.filter((e) => e['detail-type'] === 'Finding Recorded').map((e) => e.detail.finding!);
  db = await startLocalDynamoDb({ path: STORE });
}, 120_000);
afterAll(async () => db.close());

type Asff = Record<string, unknown> & {
  FindingProviderFields: { Severity: { Label: string }; Types: string[] };
  Types: string[];
  Compliance: { RelatedRequirements: string[] };
  ProductFields: Record<string, string>;
  Resources: Array<Record<string, unknown>>;
  ProductArn: string;
};

describe('ASFF', () => {
  const REQUIRED = ['AwsAccountId', 'CreatedAt', 'Description', 'GeneratorId', 'Id', 'ProductArn', 'Resources', 'SchemaVersion', 'Severity', 'Title', 'Types', 'UpdatedAt'];

  it('renders every real finding with the required attributes, the provider fields, the frameworks and the evidence', () => {
    for (const f of findings) {
      const a = asffOf(f, { partition: 'aws', now: NOW }) as Asff;
      for (const k of REQUIRED) expect([f.rule, k, a[k] !== undefined]).toEqual([f.rule, k, true]);
      expect(a).toMatchObject({ SchemaVersion: '2018-10-08', GeneratorId: f.rule, AwsAccountId: f.account, CreatedAt: f.time, UpdatedAt: NOW, RecordState: 'ACTIVE' });
      expect(a.ProductArn).toBe(`arn:aws:securityhub:${f.region}:${f.account}:product/${f.account}/default`);
      expect(a.FindingProviderFields.Severity.Label).toBe(f.severity.toUpperCase());
      expect(a.FindingProviderFields.Types).toEqual(a.Types);
      for (const t of a.Types as string[]) expect(t).toMatch(/^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)\//);
      for (const x of f.frameworks) expect((a.Compliance.RelatedRequirements as string[]).some((r) => r.includes(x.id))).toBe(true);
      expect(Object.keys(a.ProductFields).filter((k) => k.startsWith('ai-visibility/evidence/'))).toHaveLength(Math.min(f.signals.length, 40));
      expect(a.Resources[0]).toMatchObject({ Id: f.resource, Partition: 'aws', Region: f.region });
      expect(Buffer.byteLength(JSON.stringify(a))).toBeLessThan(BATCH_IMPORT_LIMITS.findingBytes);
    }
  });

  it('gives a rule on a resource one stable Id, so a repeat updates the finding, and types resources where Security Hub has a type', () => {
    const f = findings[0];
    expect(securityHubId({ ...f, eventId: 'other', time: NOW } as ExportedFinding)).toBe(securityHubId(f));
    expect(securityHubId({ ...f, resource: `${f.resource}-2` })).not.toBe(securityHubId(f));
    const typeOf = (resource: string) => (asffOf({ ...f, resource }, { partition: 'aws', now: NOW }).Resources as Array<{ Type: string }>)[0].Type;
    expect(typeOf('arn:aws:ec2:us-east-1:111122223333:instance/i-1')).toBe('AwsEc2Instance');
    expect(typeOf('arn:aws:s3:::bucket')).toBe('AwsS3Bucket');
    expect(typeOf('arn:aws:iam::111122223333:role/r')).toBe('AwsIamRole');
    expect(typeOf('arn:aws:bedrock:us-east-1:111122223333:guardrail/g')).toBe('Other');
  });

  it('redacts credential-looking evidence', () => {
    const a = asffOf({ ...findings[0], signals: [{ eventName: 'CreateFunction20150331', path: 'requestParameters.environment.variables.API_TOKEN', value: 'sk-live-1234' }] }, { partition: 'aws', now: NOW });
    expect(JSON.stringify(a)).not.toContain('sk-live-1234');
    expect(JSON.stringify(a)).toContain(REDACTED);
  });
});

describe('batches', () => {
  const asff = (i: number, extra: Record<string, unknown> = {}) => ({ ...asffOf({ ...findings[0], resource: `arn:aws:s3:::bucket-${i}` }, { partition: 'aws', now: NOW }), ...extra });

  it('hold at most 100 findings and 6 MB', () => {
    expect(importBatches(Array.from({ length: 250 }, (_, i) => asff(i))).batches.map((b) => b.length)).toEqual([100, 100, 50]);
    const big = Array.from({ length: 60 }, (_, i) => asff(i, { ProductFields: { 'ai-visibility/note': 'x'.repeat(200_000) } }));
    const { batches } = importBatches(big);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(BATCH_IMPORT_LIMITS.bytes);
    expect(batches.flat()).toHaveLength(60);
  });

  it('drop the evidence of a finding over 240 KB, and leave out (and name) one still over', () => {
    const evidence = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`ai-visibility/evidence/${i}`, 'e'.repeat(2_048 * 4)]));
    const { batches, tooLarge } = importBatches([asff(1, { ProductFields: evidence }), asff(2, { Note: { Text: 'n'.repeat(300_000) } })]);
    expect(batches.flat()).toHaveLength(1);
    expect((batches[0][0].ProductFields as Record<string, string>)['ai-visibility/evidence']).toMatch(/omitted/);
    expect(tooLarge).toEqual([asff(2).Id]);
  });
});

describe('the exporter', () => {
  const hub = mockClient(SecurityHubClient);
  const context = { functionName: 'export', awsRequestId: 'r' } as Context;
  const env = { ...houseEnvironment(SECURITY_HUB_EXPORT_SERVICE), TABLE_NAME: LOCAL_TABLE_NAME, PARTITION: 'aws', ORGANIZATION_MODE: 'false' };
  const events = (...bodies: unknown[]): SQSEvent => ({ Records: bodies.map((b, i) => ({ messageId: `m${i}`, body: JSON.stringify(b) })) as SQSEvent['Records'] });
  const recorded = (f: ExportedFinding) => ({ 'detail-type': 'Finding Recorded', detail: { finding: f } });
  const handler = () => createSecurityHubExportHandler(env, { store: createInventoryStore(db.documents, LOCAL_TABLE_NAME), securityHub: () => new SecurityHubClient({ region: 'us-east-1' }), now: () => Date.parse(NOW), logLevel: 'SILENT' });
  beforeEach(() => {
    hub.reset();
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  });
  afterAll(() => hub.restore());

  it('imports the findings of a batch in one call, and retries the ones Security Hub refused, once', async () => {
    const [a, b, c] = findings;
    hub.on(BatchImportFindingsCommand).resolvesOnce({ SuccessCount: 2, FailedCount: 1, FailedFindings: [{ Id: securityHubId(b), ErrorCode: 'InvalidInput', ErrorMessage: 'Finding was rejected' }] }).resolves({ SuccessCount: 1, FailedCount: 0, FailedFindings: [] });
    expect(await handler()(events(recorded(a), recorded(b), recorded(c)), context)).toEqual({ batchItemFailures: [] });
    const calls = hub.commandCalls(BatchImportFindingsCommand).map((x) => x.args[0].input.Findings!.map((f) => f.Id));
    expect(calls).toEqual([[securityHubId(a), securityHubId(b), securityHubId(c)], [securityHubId(b)]]);
  });

  it('fails alone the message whose finding is still refused, and the whole batch when the API fails', async () => {
    const [a, b] = findings;
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1, FailedCount: 1, FailedFindings: [{ Id: securityHubId(b), ErrorCode: 'InvalidInput', ErrorMessage: 'no' }] });
    expect(await handler()(events(recorded(a), recorded(b)), context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    hub.reset();
    hub.on(BatchImportFindingsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    expect((await handler()(events(recorded(a), recorded(b)), context)).batchItemFailures).toHaveLength(2);
  });

  it("archives a deleted resource's findings, read from the table", async () => {
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1, FailedCount: 0, FailedFindings: [] });
    const f = findings.find((x) => x.rule === 'guardrail-deleted')!;
    await handler()(events({ 'detail-type': 'Resource Changed', detail: { resource: { arn: f.resource, status: 'deleted' }, changed: ['status'] } }), context);
    const sent = hub.commandCalls(BatchImportFindingsCommand)[0].args[0].input.Findings!;
    expect(sent.map((x) => x.Id)).toContain(securityHubId(f));
    for (const x of sent) expect(x).toMatchObject({ RecordState: 'ARCHIVED', Resources: [expect.objectContaining({ Id: f.resource })] });
  });
});

describe('the exporter, per account and region', () => {
  const context = { functionName: 'export', awsRequestId: 'r', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:export' } as Context;
  const env = { ...houseEnvironment(SECURITY_HUB_EXPORT_SERVICE), TABLE_NAME: LOCAL_TABLE_NAME, PARTITION: 'aws', ORGANIZATION_MODE: 'true' };
  const events = (...bodies: unknown[]): SQSEvent => ({ Records: bodies.map((b, i) => ({ messageId: `m${i}`, body: JSON.stringify(b) })) as SQSEvent['Records'] });
  const recorded = (f: ExportedFinding) => ({ 'detail-type': 'Finding Recorded', detail: { finding: f } });

  it("sends each account's findings to its own Security Hub in the finding's region, and a member whose role is refused fails alone", async () => {
    const { MemberRoleUnavailableError, memberRoleArn } = await import('../../lambdas/shared/member-credentials');
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const [a, b, c] = findings;
    // The replay's findings, moved to a member account and another region ("built from the real record": only the place changes).
    const member = { ...b, account: '444455556666', region: 'eu-west-1' };
    const refusedMember = { ...c, account: '777788889999', region: 'us-east-1' };
    const sent: Array<[string, string, string[]]> = [];
    const client = (account: string, region: string) => ({
      send: async (command: BatchImportFindingsCommand) => {
        if (account === '777788889999') throw new MemberRoleUnavailableError(account, memberRoleArn('aws', account), 'AccessDenied');
        sent.push([account, region, (command.input.Findings ?? []).map((f) => String(f.AwsAccountId))]);
        return { SuccessCount: command.input.Findings?.length ?? 0, FailedCount: 0, FailedFindings: [] };
      },
    });
    const handler = createSecurityHubExportHandler(env, { store: createInventoryStore(db.documents, LOCAL_TABLE_NAME), securityHub: client, now: () => Date.parse(NOW), logLevel: 'SILENT' });
    const out = await handler(events(recorded(a), recorded(member), recorded(refusedMember)), context);
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    expect(sent.sort()).toEqual([
      [a.account, a.region, [a.account]],
      ['444455556666', 'eu-west-1', ['444455556666']],
    ].sort());
  });
});
