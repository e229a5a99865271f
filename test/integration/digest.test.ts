/**
 * The digest of a period, from a replayed store (the fixtures) and from items built with the
 * item module's own builders: counts that add up to the report's, owners apart, the period's
 * edges, idle GPUs ranked by waste.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { buildDigests, renderDigest } from '../../lambdas/digest/digest';
import { createDigestHandler } from '../../lambdas/digest/handler';
import { DIGEST_SERVICE } from '../../lambdas/digest/environment';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { LOCAL_TABLE_NAME } from '../../local/handlers';
import { startLocalDynamoDb } from '../../local/replay/local-dynamodb';
import { OWNER_TAG_KEY } from '../../lambdas/core/constants';
import { ENTITY, keys } from '../../lambdas/shared/items';
import type { ReplayResult } from '../../local/replay/replay';
import { cliRunner, useTempDirs } from '../support';
import { FIXTURES } from '../helpers';

const temp = useTempDirs();
const cli = cliRunner();

describe('replay --digest', () => {
  it('sums up the replayed period as the report does, with the repeats the notifier held back', async () => {
    const { code, stdout } = await cli('replay', '--json', '--allow-quarantine', '--digest', '--store', temp.dir('ai-visibility-digest-'), FIXTURES);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as ReplayResult;
    const d = report.digest!.everything;
    expect(d.owner).toBeNull();
    expect(d.newResources.reduce((n, r) => n + r.count, 0)).toBe(report.inventory.length);
    expect(d.findings.reduce((n, f) => n + f.count, 0)).toBe(report.findings.length);
    expect(Object.values(d.findingsBySeverity).reduce((n, c) => n + c, 0)).toBe(report.findings.length);
    expect(d.agents).toHaveLength(report.agents.length);
    expect(d.health.quarantined).toBe(report.stats.quarantined);
    // The notifier held back one repeat of a rule, resource and principal within its window.
    expect(d.findings.reduce((n, f) => n + f.heldBack, 0)).toBeGreaterThan(0);
    // The agent that deleted a bucket shows its riskiest action first.
    const tool = d.agents.find((a) => a.arn.endsWith('role/support-tools-role'))!;
    expect(tool.riskiest[0]).toMatchObject({ eventName: 'DeleteBucket', classes: expect.arrayContaining(['destructive']) });
    expect(report.digest!.byOwner).toEqual([]); // the fixtures name no owner
  }, 120_000);

  it('prints the digest after the report', async () => {
    const { stdout } = await cli('replay', '--allow-quarantine', '--digest', '--store', temp.dir('ai-visibility-digest-text-'), FIXTURES);
    for (const title of ['ai-visibility digest:', 'New AI resources', 'Findings (', 'Agents identified', 'Top idle GPUs', 'Pipeline health']) expect(stdout).toContain(title);
  }, 120_000);
});

describe('digests by owner', () => {
  const since = '2026-12-01T00:00:00.000Z';
  const until = '2026-12-02T00:00:00.000Z';
  const resource = (arn: string, account: string, firstSeen: string, extra: Record<string, unknown> = {}) => ({ ...keys.resource(arn), entity: ENTITY.resource, arn, kind: 'gpu-instance', service: 'ec2', account, region: 'us-east-1', status: 'active', firstSeen, lastSeen: firstSeen, firstEventId: 'e', lastEventId: 'e', ...extra });
  const finding = (arn: string, account: string, time: string, rule: string, severity: string) => ({ ...keys.finding(arn, time, `ev-${rule}`, rule), entity: ENTITY.finding, rule, severity, title: rule, summary: rule, confidence: 'confirmed', resource: arn, principal: null, eventId: `ev-${rule}`, time, account, region: 'us-east-1', frameworks: [], signals: [] });
  const utilization = (arn: string, account: string, end: string, verdict: string, wastedPerHour: number) => ({ ...keys.utilization(arn, end, 's1'), entity: ENTITY.utilization, sweepId: 's1', window: { start: since, end }, account, region: 'us-east-1', resource: arn, kind: 'gpu-instance', verdict, instanceType: 'p5.48xlarge', wastedPerHour, accelerators: [], foundBy: ['discovery'], evidence: [] });
  const A = 'arn:aws:ec2:us-east-1:111122223333:instance/i-a';
  const B = 'arn:aws:ec2:us-east-1:444455556666:instance/i-b';
  const C = 'arn:aws:ec2:us-east-1:444455556666:instance/i-c';
  const items = [
    resource(A, '111122223333', '2026-12-01T08:00:00.000Z', { owner: 'ml-platform' }),
    resource(B, '444455556666', '2026-12-01T09:00:00.000Z', { tags: { [OWNER_TAG_KEY]: 'research' } }),
    resource(C, '444455556666', '2026-11-30T09:00:00.000Z'), // before the period
    finding(A, '111122223333', '2026-12-01T08:05:00.000Z', 'gpu-idle', 'medium'),
    finding(B, '444455556666', '2026-12-01T09:05:00.000Z', 'gpu-memory-held-idle', 'medium'),
    finding(C, '444455556666', '2026-12-01T23:59:59.999Z', 'gpu-no-telemetry', 'medium'), // the period's last millisecond
    finding(C, '444455556666', until, 'gpu-underutilized', 'low'), // the next period
    utilization(A, '111122223333', '2026-12-01T10:00:00.000Z', 'idle', 98.32),
    utilization(B, '444455556666', '2026-12-01T10:00:00.000Z', 'memory-held-idle', 12.24),
    utilization(C, '444455556666', '2026-12-01T10:00:00.000Z', 'busy', 0),
  ];

  it('gives each owner its own findings, resources and idle GPUs, and everything to the digest of everything', () => {
    const { everything, byOwner } = buildDigests({ since, until, items, ownerTagKey: OWNER_TAG_KEY, accountOwners: { '444455556666': 'data-eng' } });
    expect(everything.findings.map((f) => f.rule).sort()).toEqual(['gpu-idle', 'gpu-memory-held-idle', 'gpu-no-telemetry']);
    expect(everything.newResources.reduce((n, r) => n + r.count, 0)).toBe(2);
    expect(everything.idleGpus.map((g) => g.resource)).toEqual([A, B]); // by waste, busy ones left out
    expect(byOwner.map((d) => [d.owner, d.findings.map((f) => f.rule)])).toEqual([
      ['data-eng', ['gpu-no-telemetry']],
      ['ml-platform', ['gpu-idle']],
      ['research', ['gpu-memory-held-idle']],
    ]);
    const research = byOwner.find((d) => d.owner === 'research')!;
    expect(research.idleGpus.map((g) => g.resource)).toEqual([B]);
    expect(research.health).toEqual({ quarantined: 0, deadLettered: {} });
    const text = renderDigest(research);
    expect(text).toContain('ai-visibility digest for research');
    expect(text).toContain('$12.24 an hour');
    expect(text).not.toContain('Pipeline health');
  });
});

describe('the scheduled digest', () => {
  it('reads the table and the dead-letter queues, and publishes one digest for everything, let through every filtered subscription', async () => {
    const store = temp.dir('ai-visibility-digest-scheduled-');
    await cli('replay', '--allow-quarantine', '--store', store, FIXTURES);
    const db = await startLocalDynamoDb({ path: store });
    const sns = mockClient(SNSClient);
    const sqs = mockClient(SQSClient);
    try {
      sns.on(PublishCommand).resolves({ MessageId: 'm' });
      sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '3' } });
      process.env.POWERTOOLS_METRICS_DISABLED = 'true';
      const handler = createDigestHandler(
        {
          ...houseEnvironment(DIGEST_SERVICE),
          TABLE_NAME: LOCAL_TABLE_NAME,
          FINDINGS_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:findings',
          // The fixtures span years: a period that takes them all.
          PERIOD_HOURS: '99999',
          API_KEY_MAX_AGE_DAYS: '90',
          DEAD_LETTER_QUEUES: JSON.stringify({ capture: 'https://sqs.us-east-1.amazonaws.com/111122223333/capture-dlq' }),
          ACCOUNT_OWNERS: '{}',
          OWNER_TAG_KEY,
        },
        { dynamodb: db.client, sns: sns as unknown as SNSClient, sqs: sqs as unknown as SQSClient, now: () => Date.parse('2026-12-02T08:00:00.000Z'), logLevel: 'SILENT' },
      );
      const result = await handler({}, { functionName: 'digest', awsRequestId: 'r' } as Context);
      expect(result).toMatchObject({ published: 1, owners: [] });
      const input = sns.commandCalls(PublishCommand)[0].args[0].input;
      expect(input.MessageAttributes).toMatchObject({ kind: { StringValue: 'digest' }, severity: { StringValue: 'digest' }, rule: { StringValue: 'digest' }, account: { StringValue: 'all' }, owner: { StringValue: 'none' } });
      const bodies = JSON.parse(input.Message!) as { default: string; email: string };
      expect(bodies.email).toContain('New AI resources');
      expect(bodies.email).toContain('3 message(s) in the capture dead-letter queue');
      expect(JSON.parse(bodies.default)).toMatchObject({ version: '1.0', source: 'custom', metadata: { threadId: 'digest#all', eventType: 'digest' } });
    } finally {
      sns.restore();
      sqs.restore();
      await db.close();
    }
  }, 120_000);
});

describe('long-term Bedrock API keys in the digest', () => {
  const key = (id: string, fields: Record<string, unknown>) => ({
    ...keys.resource(`arn:aws:iam::111122223333:bedrock-api-key/BedrockAPIKey-${id}/ACCA${id}`),
    entity: ENTITY.resource,
    arn: `arn:aws:iam::111122223333:bedrock-api-key/BedrockAPIKey-${id}/ACCA${id}`,
    kind: 'bedrock-api-key',
    service: 'iam',
    account: '111122223333',
    region: 'us-east-1',
    status: 'active',
    firstSeen: '2026-01-01T00:00:00.000Z',
    userName: `BedrockAPIKey-${id}`,
    keyStatus: 'Active',
    ...fields,
  });
  const until = '2026-12-01T00:00:00.000Z';
  const items = [
    // The key's user, as the classifier keeps it: its bearer-token calls are the key's use.
    { ...keys.principal('arn:aws:iam::111122223333:user/BedrockAPIKey-older'), entity: ENTITY.principal, arn: 'arn:aws:iam::111122223333:user/BedrockAPIKey-older', lastBearerTokenCallAt: '2026-11-29T08:00:00.000Z', bearerTokenCallDays: new Set(['2026-11-28', '2026-11-29']) },
    key('old', { createdAt: '2026-08-01T00:00:00.000Z' }),
    key('older', { createdAt: '2026-01-15T00:00:00.000Z', expiresAt: '2027-01-15T00:00:00.000Z' }),
    key('young', { createdAt: '2026-11-01T00:00:00.000Z' }),
    key('inactive', { createdAt: '2026-01-01T00:00:00.000Z', keyStatus: 'Inactive' }),
    key('deleted', { createdAt: '2026-01-01T00:00:00.000Z', status: 'deleted' }),
    key('expired', { createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-06-01T00:00:00.000Z' }),
  ];

  it('lists the active keys older than the limit, oldest first, and says when each expires', () => {
    const { everything } = buildDigests({ since: '2026-11-30T00:00:00.000Z', until, items, ownerTagKey: OWNER_TAG_KEY });
    expect(everything.oldApiKeys.map((k) => [k.userName, k.ageDays, k.expiresAt, k.lastUsedAt, k.daysUsed])).toEqual([
      ['BedrockAPIKey-older', 320, '2027-01-15T00:00:00.000Z', '2026-11-29T08:00:00.000Z', 2],
      ['BedrockAPIKey-old', 122, null, null, 0],
    ]);
    const text = renderDigest(everything);
    expect(text).toContain('Long-term Bedrock API keys older than 90 days');
    expect(text).toContain('BedrockAPIKey-old in 111122223333: 122 days old (created 2026-08-01T00:00:00.000Z), never expires, no use seen');
    expect(text).toContain('expires 2027-01-15T00:00:00.000Z, last used 2026-11-29T08:00:00.000Z (on 2 day(s) seen)');
    expect(buildDigests({ since: '2026-11-30T00:00:00.000Z', until, items, ownerTagKey: OWNER_TAG_KEY, apiKeyMaxAgeDays: 200 }).everything.oldApiKeys.map((k) => k.userName)).toEqual(['BedrockAPIKey-older']);
  });
});
