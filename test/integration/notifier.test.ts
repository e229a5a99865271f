/**
 * The notifier against a real DynamoDB API (dynalite): the dedup window across batches,
 * redeliveries and its edges, owner routing from the inventory, the severity floor, and what it
 * publishes (SNS mocked with the documented Publish shape). Findings are real: the replay of the
 * fixtures' `Finding Recorded` events.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSEvent } from 'aws-lambda';
import type { NotifiedFinding } from '../../lambdas/core/notifications';
import { dynamoDedupWindows } from '../../lambdas/notifier/dedup';
import { createNotifierHandler } from '../../lambdas/notifier/handler';
import { NOTIFIER_SERVICE, OWNER_TAG_KEY } from '../../lambdas/notifier/environment';
import { houseEnvironment } from '../../lambdas/shared/environment';
import { keys, principalTagsLatest } from '../../lambdas/shared/items';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { cliRunner, useTempDirs } from '../support';
import { FIXTURES } from '../helpers';

const temp = useTempDirs();
const cli = cliRunner();
const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
let db: LocalDynamoDb;
let findings: NotifiedFinding[];
let tables = 0;

beforeAll(async () => {
  const { stdout } = await cli('replay', '--json', '--allow-quarantine', '--store', temp.dir('ai-visibility-notifier-replay-'), FIXTURES);
  findings = (JSON.parse(stdout) as { events: Array<{ 'detail-type': string; detail: { finding?: NotifiedFinding } }> }).events.filter((e) => e['detail-type'] === 'Finding Recorded').map((e) => e.detail.finding!);
  db = await startLocalDynamoDb({ path: temp.dir('ai-visibility-notifier-db-') });
}, 120_000);
afterAll(async () => db.close());

async function table(): Promise<string> {
  const name = `notify-${++tables}`;
  await db.createInventoryTable(name);
  return name;
}

const high = () => findings.find((f) => f.severity === 'high')!;
const again = (f: NotifiedFinding, n: number): NotifiedFinding => ({ ...f, findingId: `${f.findingId}-${n}`, eventId: `${f.eventId}-${n}` });

describe('the dedup window', () => {
  it('sends the first of a rule, resource and principal, counts each repeat once, and reopens after the window saying how many', async () => {
    const windows = dynamoDedupWindows(db.documents, await table(), 24 * HOUR);
    const f = high();
    const key = `${f.rule}#${f.resource}#${f.principal}`;
    expect(await windows.claim(key, f.findingId, T0)).toEqual({ send: true });
    await windows.markSent(key, f.findingId);
    expect(await windows.claim(key, again(f, 1).findingId, T0 + HOUR)).toEqual({ send: false, reason: 'repeat' });
    expect(await windows.claim(key, again(f, 2).findingId, T0 + 2 * HOUR)).toEqual({ send: false, reason: 'repeat' });
    // A redelivered repeat is not counted twice; a redelivered sent finding is not sent twice.
    expect(await windows.claim(key, again(f, 2).findingId, T0 + 3 * HOUR)).toEqual({ send: false, reason: 'repeat' });
    expect(await windows.claim(key, f.findingId, T0 + 3 * HOUR)).toEqual({ send: false, reason: 'already-sent' });
    // The window's edge: one millisecond before it ends, still held; at its end, a new window.
    expect(await windows.claim(key, again(f, 3).findingId, T0 + 24 * HOUR - 1)).toEqual({ send: false, reason: 'repeat' });
    expect(await windows.claim(key, again(f, 4).findingId, T0 + 24 * HOUR)).toEqual({ send: true, repeatsSince: { count: 3, since: new Date(T0).toISOString() } });
  });

  it('sends again a claimed finding whose publish did not happen (at least once), and never after it did', async () => {
    const windows = dynamoDedupWindows(db.documents, await table(), 24 * HOUR);
    const f = high();
    expect(await windows.claim('k', f.findingId, T0)).toEqual({ send: true });
    // The publish failed: no markSent. The redelivery sends.
    expect(await windows.claim('k', f.findingId, T0 + 1000)).toEqual({ send: true });
    await windows.markSent('k', f.findingId);
    expect(await windows.claim('k', f.findingId, T0 + 2000)).toEqual({ send: false, reason: 'already-sent' });
  });

  it('keeps windows apart by principal, and expires them with the table TTL a day after they end', async () => {
    const name = await table();
    const windows = dynamoDedupWindows(db.documents, name, 24 * HOUR);
    expect(await windows.claim('rule#res#alice', 'f1', T0)).toEqual({ send: true });
    expect(await windows.claim('rule#res#bob', 'f2', T0)).toEqual({ send: true });
    const item = (await db.documents.send(new (await import('@aws-sdk/lib-dynamodb')).GetCommand({ TableName: name, Key: keys.notifyWindow('rule#res#alice') }))).Item!;
    expect(item).toMatchObject({ entity: 'notify-window', windowEnds: T0 + 24 * HOUR, expiresAt: Math.floor((T0 + 24 * HOUR) / 1000) + 86_400 });
  });
});

describe('the notifier', () => {
  const sns = mockClient(SNSClient);
  const context = { functionName: 'notifier', awsRequestId: 'r' } as Context;
  const env = (tableName: string, extra: Record<string, string> = {}) => ({
    ...houseEnvironment(NOTIFIER_SERVICE),
    TABLE_NAME: tableName,
    FINDINGS_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:findings',
    MIN_SEVERITY: 'medium',
    DEDUP_WINDOW_HOURS: '24',
    ACCOUNT_OWNERS: JSON.stringify({ '111122223333': 'secops' }),
    OWNER_TAG_KEY,
    ...extra,
  });
  const batch = (...fs: NotifiedFinding[]): SQSEvent => ({
    Records: fs.map((f, i) => ({ messageId: `m${i}`, body: JSON.stringify({ source: 'ai-visibility', 'detail-type': 'Finding Recorded', detail: { finding: f } }) })) as SQSEvent['Records'],
  });
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  });
  afterAll(() => sns.restore());

  it('publishes one message per new finding at or above the floor, per protocol, with its attributes, and holds back repeats across batches', async () => {
    const name = await table();
    let clock = T0;
    const handler = createNotifierHandler(env(name), { dynamodb: db.client, now: () => clock, logLevel: 'SILENT' });
    const f = high();
    const low = { ...findings[0], severity: 'low' as const, findingId: 'low-1', rule: 'endpoint-config-without-kms' };
    expect(await handler(batch(f, low, again(f, 1)), context)).toEqual({ batchItemFailures: [] });
    const calls = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ TopicArn: 'arn:aws:sns:us-east-1:111122223333:findings', MessageStructure: 'json', Subject: expect.stringContaining(f.title.slice(0, 40)) });
    const bodies = JSON.parse(calls[0].Message!) as { default: string; email: string };
    expect(JSON.parse(bodies.default)).toMatchObject({ version: '1.0', source: 'custom', id: f.findingId });
    expect(bodies.email).toContain(f.summary);
    expect(calls[0].MessageAttributes).toMatchObject({ severity: { DataType: 'String', StringValue: 'high' }, rule: { StringValue: f.rule }, account: { StringValue: f.account }, region: { StringValue: f.region }, owner: { StringValue: f.account === '111122223333' ? 'secops' : 'none' } });
    // The next batch, a day later: the repeat held back is reported.
    clock = T0 + 25 * HOUR;
    sns.resetHistory();
    await handler(batch(again(f, 2)), context);
    expect(JSON.parse(sns.commandCalls(PublishCommand)[0].args[0].input.Message!).email).toContain('And 1 more of the same since 2026-12-01T10:00:00.000Z.');
  });

  it("names the account by the account directory (organization mode): its name and OU path, in the email and the chat text", async () => {
    const name = await table();
    const f = high();
    const { accountItem } = await import('../../lambdas/shared/items');
    await db.documents.send(new (await import('@aws-sdk/lib-dynamodb')).PutCommand({ TableName: name, Item: accountItem({ id: f.account, name: 'ml-prod', ouPath: ['Workloads', 'ML'], seenAt: '2026-12-01T00:00:00.000Z' }) }));
    const handler = createNotifierHandler(env(name), { dynamodb: db.client, now: () => T0, logLevel: 'SILENT' });
    await handler(batch(f), context);
    const bodies = JSON.parse(sns.commandCalls(PublishCommand)[0].args[0].input.Message!) as { default: string; email: string };
    expect(bodies.email).toContain(`Where: account ${f.account} (ml-prod, Workloads/ML), region ${f.region}`);
    expect((JSON.parse(bodies.default) as { content: { description: string } }).content.description).toContain(`*Where:* ${f.account} (ml-prod, Workloads/ML) / ${f.region}`);
    // Without a directory entry (single-account mode), the account id alone, as before.
    const other = await table();
    sns.resetHistory();
    await createNotifierHandler(env(other), { dynamodb: db.client, now: () => T0, logLevel: 'SILENT' })(batch(f), context);
    expect((JSON.parse(sns.commandCalls(PublishCommand)[0].args[0].input.Message!) as { email: string }).email).toContain(`Where: account ${f.account}, region ${f.region}`);
  });

  it('routes by the resource owner tag before the account map', async () => {
    const name = await table();
    const f = high();
    await db.documents.send(new (await import('@aws-sdk/lib-dynamodb')).PutCommand({ TableName: name, Item: { ...keys.resource(f.resource), entity: 'resource', arn: f.resource, kind: 'guardrail', tags: { [OWNER_TAG_KEY]: 'ml-platform' } } }));
    const handler = createNotifierHandler(env(name), { dynamodb: db.client, now: () => T0, logLevel: 'SILENT' });
    await handler(batch(f), context);
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.MessageAttributes).toMatchObject({ owner: { StringValue: 'ml-platform' } });
  });

  it('routes by the owner the classifier learned from the events, and falls back when the tag was removed', async () => {
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    const f = high();
    const owners: string[] = [];
    for (const owner of ['data-eng', '']) {
      const name = await table();
      await db.documents.send(new PutCommand({ TableName: name, Item: { ...keys.resource(f.resource), entity: 'resource', arn: f.resource, kind: 'guardrail', owner } }));
      sns.resetHistory();
      await createNotifierHandler(env(name), { dynamodb: db.client, now: () => T0, logLevel: 'SILENT' })(batch(f), context);
      owners.push(sns.commandCalls(PublishCommand)[0].args[0].input.MessageAttributes!.owner.StringValue!);
    }
    expect(owners).toEqual(['data-eng', f.account === '111122223333' ? 'secops' : 'none']);
  });

  it("routes by the principal's owner (the role behind a session) when the resource has none, and by the resource's first", async () => {
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    const f = { ...high(), principal: 'arn:aws:sts::111122223333:assumed-role/DevAdmin/mallory', account: '111122223333' };
    const owners: string[] = [];
    for (const resourceOwner of [undefined, 'ml-platform']) {
      const name = await table();
      await db.documents.send(new PutCommand({ TableName: name, Item: { ...keys.principalTags('arn:aws:iam::111122223333:role/DevAdmin'), ...principalTagsLatest('arn:aws:iam::111122223333:role/DevAdmin'), owner: 'red-team' } }));
      if (resourceOwner) await db.documents.send(new PutCommand({ TableName: name, Item: { ...keys.resource(f.resource), entity: 'resource', arn: f.resource, kind: 'guardrail', owner: resourceOwner } }));
      sns.resetHistory();
      await createNotifierHandler(env(name), { dynamodb: db.client, now: () => T0, logLevel: 'SILENT' })(batch(f), context);
      owners.push(sns.commandCalls(PublishCommand)[0].args[0].input.MessageAttributes!.owner.StringValue!);
    }
    expect(owners).toEqual(['red-team', 'ml-platform']);
  });

  it('fails alone the message it could not publish, and sends it on redelivery', async () => {
    const name = await table();
    const [a, b] = findings.filter((f) => f.severity === 'high' && f.rule !== high().rule).slice(0, 2).concat(high()).slice(0, 2);
    sns.on(PublishCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' })).resolves({ MessageId: 'sns-2' });
    const handler = createNotifierHandler(env(name), { dynamodb: db.client, now: () => T0, logLevel: 'SILENT' });
    expect(await handler(batch(a, b), context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    expect(await handler(batch(a), context)).toEqual({ batchItemFailures: [] });
    expect(await handler(batch(a, b), context)).toEqual({ batchItemFailures: [] }); // both already sent: nothing more
    expect(sns.commandCalls(PublishCommand)).toHaveLength(3);
  });
});
