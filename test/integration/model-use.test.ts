/**
 * The LLMjacking detections on model use, through the classifier's batch processing into
 * dynalite: each sequence is delivered in two batches, in order and out of order, and gives
 * the same findings either way.
 *
 * The invocation is a real record (fixtures/cloudtrail/ai, sumologic-documentation InvokeModel:
 * an IAM user with a long-term key, us-west-2). The reconnaissance reads, refused invocations,
 * role sessions and other regions are built from it and the documented CloudTrail shapes of
 * Bedrock's ListFoundationModels / GetFoundationModelAvailability and error records (no real
 * records of them are public): the tests say which fields they change.
 */
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { processMessages, type InboundMessage } from '../../lambdas/classifier/process-batch';
import { DEFAULT_MODEL_USE_SETTINGS, type ModelUseSettings } from '../../lambdas/classifier/model-use';
import { ENTITY, readFinding } from '../../lambdas/shared/items';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { scanTable } from '../../local/replay/report';
import { aiFixture } from '../helpers';
import { buildDigests, renderDigest } from '../../lambdas/digest/digest';
import { OWNER_TAG_KEY } from '../../lambdas/core/constants';

const INVOKE = aiFixture('sumologic-documentation__InvokeModel');
const USER = 'arn:aws:iam::956882123456:user/himan';
const MODEL = 'arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0';
const at = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString().replace('.000Z', 'Z');
const T0 = '2024-10-01T11:52:37Z';

type Rec = Record<string, unknown>;
let serial = 0;
/** The real invocation with the fields a test changes (a fresh eventID each time). */
function invoke(changes: Rec = {}): Rec {
  return { ...structuredClone(INVOKE), eventID: `invoke-${++serial}`, requestID: `req-${serial}`, ...changes };
}
/** A reconnaissance read by the same caller: the record of a read-only Bedrock control-plane call. */
function recon(eventName: string, changes: Rec = {}): Rec {
  return { ...invoke(changes), eventName, requestParameters: null, responseElements: null, eventID: `recon-${++serial}`, tlsDetails: { clientProvidedHostHeader: 'bedrock.us-west-2.amazonaws.com' }, ...changes };
}
/** A role session of an application (programmatic, no console). */
const ROLE_IDENTITY = {
  type: 'AssumedRole',
  principalId: 'AROAEXAMPLEAPP00001:rag-worker',
  arn: 'arn:aws:sts::956882123456:assumed-role/rag-service/rag-worker',
  accountId: '956882123456',
  accessKeyId: 'ASIAEXAMPLEAPP00001',
  sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEAPP00001', arn: 'arn:aws:iam::956882123456:role/rag-service', accountId: '956882123456', userName: 'rag-service' }, attributes: { creationDate: '2024-10-01T00:00:00Z', mfaAuthenticated: 'false' } },
};
const ROLE = 'arn:aws:iam::956882123456:role/rag-service';

describe('model use (LLMjacking)', () => {
  let db: LocalDynamoDb;
  let tables = 0;
  beforeAll(async () => {
    db = await startLocalDynamoDb();
  });
  afterAll(async () => db.close());

  /** Deliver `batches` one after the other into a fresh table; its findings. */
  async function deliver(batches: Rec[][], settings: ModelUseSettings = DEFAULT_MODEL_USE_SETTINGS) {
    const table = `model-use-${++tables}`;
    await db.createInventoryTable(table);
    const store = createInventoryStore(db.documents, table);
    let n = 0;
    for (const batch of batches) {
      const messages: InboundMessage[] = batch.map((r) => ({ messageId: `m${++n}`, body: JSON.stringify(toEnvelope(r)), receivedAt: '2024-10-05T00:00:00.000Z', source: `test:${n}` }));
      const outcome = await processMessages(messages, { store, modelUse: { settings, now: () => Date.parse('2024-10-05T00:00:00Z') } });
      expect(outcome.failedMessageIds).toEqual([]);
    }
    const items = await scanTable(db.documents, table);
    return { items, findings: items.filter((i) => i.entity === ENTITY.finding).map((i) => readFinding(i)!) };
  }
  const ofRule = <F extends { rule: string }>(findings: F[], rule: string) => findings.filter((f) => f.rule === rule);

  describe('model-recon-then-invoke', () => {
    const reads = [recon('ListFoundationModels', { eventTime: at(T0, -7) }), recon('GetFoundationModelAvailability', { eventTime: at(T0, -6) })];
    const first = invoke();

    it.each([
      ['recon first', [reads, [first]]],
      ['invocation first (out of order)', [[first], reads]],
    ])('raises it once whatever the order of arrival (%s)', async (_order, batches) => {
      const { findings } = await deliver(batches);
      const raised = ofRule(findings, 'model-recon-then-invoke');
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({ resource: MODEL, principal: USER, eventId: first.eventID, time: '2024-10-01T11:52:37.000Z', severity: 'high', region: 'us-west-2' });
      expect(raised[0].summary).toContain('ListFoundationModels');
      expect(raised[0].frameworks.map((f) => f.id)).toEqual(expect.arrayContaining(['LLM10:2025', 'AML.TA0008', 'T1496']));
    }, 60_000);

    it('is not raised for a principal with a history of invoking (the same recon by an application role)', async () => {
      const id = { userIdentity: ROLE_IDENTITY };
      const { findings } = await deliver([[invoke({ ...id, eventTime: at(T0, -3 * 24 * 60) })], [recon('ListFoundationModels', { ...id, eventTime: at(T0, -5) }), invoke({ ...id })]]);
      expect(ofRule(findings, 'model-recon-then-invoke')).toEqual([]);
    }, 60_000);

    it('is not raised when the first invocation comes after the window, or for a known AI application', async () => {
      const late = await deliver([[recon('ListFoundationModels', { eventTime: at(T0, -16) })], [invoke()]]);
      expect(ofRule(late.findings, 'model-recon-then-invoke')).toEqual([]);
      const id = { userIdentity: ROLE_IDENTITY };
      const known = await deliver([[recon('ListFoundationModels', { ...id, eventTime: at(T0, -5) })], [invoke(id)]], { ...DEFAULT_MODEL_USE_SETTINGS, knownAiApplications: ['arn:aws:iam::*:role/rag-*'] });
      expect(ofRule(known.findings, 'model-recon-then-invoke')).toEqual([]);
      // Not known: the same sequence raises it, at medium (a role session, not a long-term key).
      const unknown = await deliver([[recon('ListFoundationModels', { ...id, eventTime: at(T0, -5) })], [invoke(id)]]);
      expect(ofRule(unknown.findings, 'model-recon-then-invoke')).toMatchObject([{ principal: ROLE, severity: 'medium' }]);
    }, 60_000);

    it('counts a refused first attempt (access tested with a call that fails validation)', async () => {
      const probe = invoke({ errorCode: 'ValidationException', errorMessage: 'max_tokens_to_sample: range: 1..1,000,000' });
      const { findings } = await deliver([[probe], [recon('GetUseCaseForModelAccess', { eventTime: at(T0, -1) })]]);
      expect(ofRule(findings, 'model-recon-then-invoke')).toMatchObject([{ eventId: probe.eventID }]);
    }, 60_000);
  });

  describe('model-invoked-new-region', () => {
    const baseline = invoke({ eventTime: at(T0, -3 * 24 * 60) });
    const east = invoke({ awsRegion: 'us-east-1', eventTime: T0 });

    it.each([
      ['baseline first', [[baseline], [east]]],
      ['new region first (a history import arrives newest first)', [[east], [baseline]]],
    ])('raises it for the region the account never used, once (%s)', async (_order, batches) => {
      const { findings, items } = await deliver([...batches, [invoke({ awsRegion: 'us-east-1', eventTime: at(T0, 5) })]]);
      const raised = ofRule(findings, 'model-invoked-new-region');
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({ region: 'us-east-1', eventId: east.eventID, principal: USER, resource: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0', severity: 'high' });
      expect(raised[0].summary).toContain('us-west-2');
      expect(items.find((i) => i.scope === 'region' && i.region === 'us-east-1')?.flaggedAt).toBeDefined();
    }, 60_000);

    it('is not raised within the baseline (the first day of use), nor for the same region', async () => {
      const sameDay = await deliver([[invoke({ eventTime: at(T0, -60) })], [invoke({ awsRegion: 'us-east-1' })]]);
      expect(ofRule(sameDay.findings, 'model-invoked-new-region')).toEqual([]);
      const same = await deliver([[baseline], [invoke()]]);
      expect(ofRule(same.findings, 'model-invoked-new-region')).toEqual([]);
    }, 60_000);

    it('ignores refused invocations: the account did not use the region', async () => {
      const { findings } = await deliver([[baseline], [invoke({ awsRegion: 'us-east-1', errorCode: 'AccessDeniedException' })]]);
      expect(ofRule(findings, 'model-invoked-new-region')).toEqual([]);
    }, 60_000);
  });

  describe('model-first-use', () => {
    const appBaseline = invoke({ userIdentity: ROLE_IDENTITY, eventTime: at(T0, -3 * 24 * 60) });
    const other = (changes: Rec) => invoke({ requestParameters: { modelId: 'meta.llama3-70b-instruct-v1:0' }, ...changes });

    it.each([
      ['in order', (x: Rec) => [[appBaseline], [x]]],
      ['out of order', (x: Rec) => [[x], [appBaseline]]],
    ])('raises it (low) for a model the account never used, called by a principal with no history (%s)', async (_order, batches) => {
      const newModel = other({});
      // Out of order, the account's baseline comes after the model's first use: judged then.
      const { findings, items } = await deliver(batches(newModel));
      const raised = ofRule(findings, 'model-first-use');
      expect(raised).toHaveLength(1);
      const llama = 'arn:aws:bedrock:us-west-2::foundation-model/meta.llama3-70b-instruct-v1:0';
      expect(raised[0]).toMatchObject({ severity: 'low', eventId: newModel.eventID, resource: llama, principal: USER });
      // A digest item: below the notifications' default floor, listed in the day's digest.
      const { everything } = buildDigests({ since: '2024-10-01T00:00:00.000Z', until: '2024-10-02T00:00:00.000Z', items, ownerTagKey: OWNER_TAG_KEY });
      expect(everything.modelsFirstUsed).toEqual([{ model: llama, account: '956882123456', principal: USER, time: '2024-10-01T11:52:37.000Z' }]);
      expect(renderDigest(everything)).toContain(`Models used for the first time (not by a known AI application)\n  - ${llama} in 956882123456, by ${USER} at 2024-10-01T11:52:37.000Z`);
    }, 60_000);

    it('is not raised for a known AI application (one that has invoked models for longer than the baseline)', async () => {
      const { findings } = await deliver([[appBaseline], [other({ userIdentity: ROLE_IDENTITY })]]);
      expect(ofRule(findings, 'model-first-use')).toEqual([]);
    }, 60_000);
  });

  describe('model-invocation-probing', () => {
    const refused = (minutes: number, errorCode: string) => invoke({ eventTime: at(T0, minutes), errorCode, errorMessage: 'refused' });
    const burst = Array.from({ length: 10 }, (_, i) => refused(i * 0.4, i % 2 ? 'AccessDeniedException' : 'ValidationException'));

    it.each([
      ['in order', [burst.slice(0, 5), burst.slice(5)]],
      ['out of order', [burst.slice(5), burst.slice(0, 5)]],
    ])('raises it at the refusal that completes 10 within 5 minutes (%s)', async (_order, batches) => {
      const { findings } = await deliver(batches);
      const raised = ofRule(findings, 'model-invocation-probing');
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({ eventId: burst[9].eventID, principal: USER, resource: MODEL, severity: 'high' });
    }, 60_000);

    it('is not raised for 9 refusals, nor for 10 spread over more than the window', async () => {
      const nine = await deliver([burst.slice(0, 4), burst.slice(4, 9)]);
      expect(ofRule(nine.findings, 'model-invocation-probing')).toEqual([]);
      const spread = Array.from({ length: 10 }, (_, i) => refused(i * 0.6, 'AccessDeniedException'));
      const slow = await deliver([spread.slice(5), spread.slice(0, 5)]);
      expect(ofRule(slow.findings, 'model-invocation-probing')).toEqual([]);
    }, 60_000);
  });

  it('keeps its markers for days after they were written, and its first-of items for good', async () => {
    const { items } = await deliver([[recon('ListFoundationModels', { eventTime: at(T0, -2) }), invoke({ errorCode: 'AccessDeniedException' })]]);
    const markers = items.filter((i) => i.entity === ENTITY.modelUseMarker);
    expect(markers.map((m) => m.marker).sort()).toEqual(['RECON', 'REFUSED']);
    for (const m of markers) expect(m.expiresAt).toBe(Math.floor(Date.parse('2024-10-05T00:00:00Z') / 1000) + 7 * 86_400);
    expect(items.filter((i) => i.entity === ENTITY.modelUseFirst).map((i) => i.scope)).toEqual(['principal']);
  }, 60_000);
});
