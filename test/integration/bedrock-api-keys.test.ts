/**
 * A long-term Bedrock API key through the deployed classifier on a real DynamoDB API (dynalite):
 * created, used with a bearer token, set inactive, deleted, in any order of arrival. Records are
 * built from the IAM API reference's shapes (CreateServiceSpecificCredential,
 * ServiceSpecificCredential) and a documented InvokeModel with `callWithBearerToken`.
 */
import { ENTITY } from '../../lambdas/shared/items';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { classifyInto } from '../support/pipeline';
import { documentedRecord } from '../helpers';

const A = '111122223333';
const USER = 'BedrockAPIKey-x7qz';
const ID = 'ACCAEXAMPLE123456789';
const KEY = `arn:aws:iam::${A}:bedrock-api-key/${USER}/${ID}`;
const admin = { type: 'AssumedRole', principalId: 'AROAEXAMPLE:admin', arn: `arn:aws:sts::${A}:assumed-role/Admin/admin`, accountId: A, accessKeyId: 'ASIAEXAMPLE', sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${A}:role/Admin`, userName: 'Admin' } } };
const iam = (eventName: string, minute: number, requestParameters: Record<string, unknown>, responseElements: unknown = null) => ({
  eventVersion: '1.09', eventSource: 'iam.amazonaws.com', eventName, eventType: 'AwsApiCall', readOnly: false, managementEvent: true, awsRegion: 'us-east-1', sourceIPAddress: '203.0.113.10', userAgent: 'aws-cli/2.27.0',
  eventTime: `2026-11-30T10:${String(minute).padStart(2, '0')}:00Z`, eventID: `key-${eventName}-${minute}`, recipientAccountId: A, userIdentity: admin, requestParameters, responseElements,
});
const CREATE = iam('CreateServiceSpecificCredential', 0, { userName: USER, serviceName: 'bedrock.amazonaws.com', credentialAgeDays: 30 }, { serviceSpecificCredential: { createDate: 'Nov 30, 2026, 10:00:00 AM', expirationDate: 'Dec 30, 2026, 10:00:00 AM', serviceName: 'bedrock.amazonaws.com', serviceCredentialAlias: `${USER}-at-${A}`, serviceSpecificCredentialId: ID, userName: USER, status: 'Active' } });
const INACTIVE = iam('UpdateServiceSpecificCredential', 5, { userName: USER, serviceSpecificCredentialId: ID, status: 'Inactive' });
const DELETE = iam('DeleteServiceSpecificCredential', 9, { userName: USER, serviceSpecificCredentialId: ID });
const USE = { ...documentedRecord('InvokeModel'), eventID: 'key-use', eventTime: '2026-11-30T10:02:00Z', userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${A}:user/${USER}`, accountId: A, userName: USER }, additionalEventData: { callWithBearerToken: true } };

describe('a Bedrock API key in the inventory', () => {
  let db: LocalDynamoDb;
  let tables = 0;
  beforeAll(async () => {
    db = await startLocalDynamoDb();
  });
  afterAll(async () => db.close());

  /** The key's item and the table's findings after the classifier took the records, one batch each, in this order. */
  async function after(...records: Array<Record<string, unknown>>) {
    const items = await classifyInto(db, `keys-${++tables}`, records.map((r) => JSON.stringify(toEnvelope(r))), 1);
    return {
      key: items.find((i) => i.entity === ENTITY.resource && i.arn === KEY),
      findings: items.filter((i) => i.entity === ENTITY.finding).map((i) => i.rule),
      principal: items.find((i) => i.entity === ENTITY.principal && String(i.arn).endsWith(`user/${USER}`)),
    };
  }

  it('goes through create, use, inactive and delete, with its finding once', async () => {
    const created = await after(CREATE);
    expect(created.key).toMatchObject({ kind: 'bedrock-api-key', status: 'active', keyStatus: 'Active', userName: USER, expiresAt: '2026-12-30T10:00:00.000Z', createdBy: `arn:aws:iam::${A}:role/Admin` });
    expect(created.findings).toEqual(['bedrock-api-key-created']);

    const used = await after(CREATE, USE, INACTIVE);
    expect(used.key).toMatchObject({ status: 'active', keyStatus: 'Inactive', keyStatusChangedAt: '2026-11-30T10:05:00.000Z' });
    expect(JSON.stringify(used.principal)).toContain('callWithBearerToken');
    // The key's use, on its user: the newest bearer-token call, and the days with any (a set: a redelivery counts once).
    expect(used.principal).toMatchObject({ lastBearerTokenCallAt: '2026-11-30T10:02:00.000Z' });
    expect([...(used.principal!.bearerTokenCallDays as Set<string>)]).toEqual(['2026-11-30']);
    const again = await after(CREATE, USE, { ...USE, eventID: 'key-use-2', eventTime: '2026-12-01T09:00:00Z' }, USE);
    expect(again.principal).toMatchObject({ lastBearerTokenCallAt: '2026-12-01T09:00:00.000Z' });
    expect([...(again.principal!.bearerTokenCallDays as Set<string>)].sort()).toEqual(['2026-11-30', '2026-12-01']);

    const deleted = await after(CREATE, USE, INACTIVE, DELETE);
    expect(deleted.key).toMatchObject({ status: 'deleted' });
    expect(deleted.findings).toEqual(['bedrock-api-key-created']);
  }, 60_000);

  it('ends deleted whatever the order of arrival; a change to an unknown credential of another user records nothing', async () => {
    expect((await after(DELETE, INACTIVE, CREATE)).key).toMatchObject({ status: 'deleted', keyStatus: 'Inactive' });
    const other = (r: ReturnType<typeof iam>) => ({ ...r, requestParameters: { ...(r.requestParameters as object), userName: 'ci-deployer' } });
    const table = await after(other(INACTIVE), other(DELETE));
    expect(table.key).toBeUndefined();
    expect(table.findings).toEqual([]);
  }, 60_000);
});
