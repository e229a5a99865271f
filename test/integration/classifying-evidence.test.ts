/**
 * Why a resource is its kind stays on it (`classifiedBy`) when later events replace its latest
 * evidence: a real GPU launch (fixtures/cloudtrail/ai, RunInstances of a p2.xlarge) followed by a
 * StopInstances of the same instance (the documented StopInstances record, pointed at it),
 * through the deployed classifier on dynalite, and the launch delivered again after the stop.
 * (A stop delivered before any launch names an instance the inventory does not know: it is not
 * recorded, as before.)
 */
import { readResource } from '../../lambdas/shared/items';
import { CLASSIFYING_SIGNALS } from '../../lambdas/shared/items/inventory';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { classifyInto } from '../support/pipeline';
import { aiFixture, documentedRecord } from '../helpers';

const LAUNCH = aiFixture('RunInstances__Successful-Unusual-EC2.json');
const INSTANCE = 'arn:aws:ec2:us-west-2:111122223333:instance/i-07d06021b0da55115';
const STOP = {
  ...documentedRecord('StopInstances'),
  eventID: 'stop-after-launch',
  eventTime: '2024-12-16T19:41:07Z',
  awsRegion: 'us-west-2',
  recipientAccountId: '111122223333',
  requestParameters: { instancesSet: { items: [{ instanceId: 'i-07d06021b0da55115' }] }, force: false },
  responseElements: { instancesSet: { items: [{ instanceId: 'i-07d06021b0da55115', currentState: { code: 64, name: 'stopping' }, previousState: { code: 16, name: 'running' } }] } },
};

describe('classifying evidence', () => {
  let db: LocalDynamoDb;
  let tables = 0;
  beforeAll(async () => {
    db = await startLocalDynamoDb();
  });
  afterAll(async () => db.close());

  async function instanceAfter(...records: Array<Record<string, unknown>>) {
    const items = await classifyInto(db, `evidence-${++tables}`, records.map((r) => JSON.stringify(toEnvelope(r))), 1);
    return readResource(items.find((i) => i.arn === INSTANCE));
  }

  it.each([
    ['launch, then stop', [LAUNCH, STOP]],
    ['the launch delivered again after the stop', [LAUNCH, STOP, LAUNCH]],
  ])('keeps why an instance is a GPU instance beside its latest event (%s)', async (_order, records) => {
    const item = await instanceAfter(...records);
    expect(item).toMatchObject({ kind: 'gpu-instance', lastEventId: 'stop-after-launch' });
    expect(item!.signals.every((s) => s.eventName === 'StopInstances')).toBe(true);
    expect(item!.classifiedBy).toMatchObject({ eventName: 'RunInstances', eventId: LAUNCH.eventID });
    expect(item!.classifiedBy!.signals.some((s) => String(s.value) === 'p2.xlarge')).toBe(true);
    expect(item!.classifiedBy!.signals.length).toBeLessThanOrEqual(CLASSIFYING_SIGNALS);
  }, 60_000);
});
