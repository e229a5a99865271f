/**
 * An enforced guardrail configuration moving to a guardrail version that filters less: the two
 * versions read with bedrock:GetGuardrail (the SDK's GetGuardrailCommand against
 * aws-sdk-client-mock, answering with the Bedrock API Reference's GetGuardrail shape), through
 * the classifier's batch processing into dynalite. The Put records are built from the API
 * reference's PutEnforcedGuardrailConfiguration shape (no real record is public).
 */
import { BedrockClient, GetGuardrailCommand, type GetGuardrailCommandOutput } from '@aws-sdk/client-bedrock';
import { mockClient } from 'aws-sdk-client-mock';
import { guardrailFiltersOf, weakerFilters } from '../../lambdas/core/guardrails';
import { processMessages } from '../../lambdas/classifier/process-batch';
import { awsGuardrailReader } from '../../lambdas/shared/guardrail-reader';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { ENTITY, readFinding } from '../../lambdas/shared/items';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { scanTable } from '../../local/replay/report';
import { documentedRecord } from '../helpers';

const GUARDRAIL = 'arn:aws:bedrock:us-east-1:111122223333:guardrail/gr7example1';
const put = (minute: number, version: string, configId?: string) => ({
  ...documentedRecord('CreateAgent'),
  eventName: 'PutEnforcedGuardrailConfiguration',
  eventID: `put-${minute}-${version}`,
  eventTime: `2026-11-30T10:${String(minute).padStart(2, '0')}:00Z`,
  requestParameters: { ...(configId ? { configId } : {}), guardrailInferenceConfig: { guardrailIdentifier: GUARDRAIL, guardrailVersion: version } },
  responseElements: { configId: 'cfg1abc', updatedAt: '2026-11-30T10:00:00Z' },
});
/** A GetGuardrail answer (Bedrock API Reference): content filters, denied topics, PII, grounding. */
const answer = (strength: 'HIGH' | 'LOW', extra: Record<string, unknown> = {}): GetGuardrailCommandOutput => ({
  name: 'support-guardrail',
  guardrailId: 'gr7example1',
  guardrailArn: GUARDRAIL,
  version: strength === 'HIGH' ? '3' : '4',
  status: 'READY',
  blockedInputMessaging: 'Sorry, I cannot help with that.',
  blockedOutputsMessaging: 'Sorry, I cannot help with that.',
  contentPolicy: { filters: [{ type: 'PROMPT_ATTACK', inputStrength: strength, outputStrength: 'NONE' }, { type: 'HATE', inputStrength: 'HIGH', outputStrength: 'HIGH' }] },
  topicPolicy: { topics: [{ name: 'investment-advice', definition: 'Advice on investments', type: 'DENY' }] },
  sensitiveInformationPolicy: { piiEntities: [{ type: 'US_SOCIAL_SECURITY_NUMBER', action: 'BLOCK' }], regexes: [] },
  contextualGroundingPolicy: { filters: [{ type: 'GROUNDING', threshold: 0.8 }] },
  createdAt: new Date('2026-11-01T00:00:00Z'),
  updatedAt: new Date('2026-11-01T00:00:00Z'),
  $metadata: {},
  ...extra,
}) as GetGuardrailCommandOutput;

describe('what a guardrail version filters (core/guardrails.ts)', () => {
  it('names every way a version filters less, and nothing for one that filters as much or more', () => {
    const strong = guardrailFiltersOf(answer('HIGH'));
    expect(weakerFilters(strong, guardrailFiltersOf(answer('HIGH')))).toEqual([]);
    const weak = guardrailFiltersOf(answer('LOW', { topicPolicy: { topics: [] }, sensitiveInformationPolicy: { piiEntities: [{ type: 'US_SOCIAL_SECURITY_NUMBER', action: 'ANONYMIZE' }] }, contextualGroundingPolicy: { filters: [{ type: 'GROUNDING', threshold: 0.5 }] } }));
    expect(weakerFilters(strong, weak)).toEqual([
      'content filter PROMPT_ATTACK input: HIGH -> LOW',
      'denied topic removed: investment-advice',
      'sensitive information US_SOCIAL_SECURITY_NUMBER: BLOCK -> ANONYMIZE',
      'contextual grounding GROUNDING: 0.8 -> 0.5',
    ]);
    expect(weakerFilters(weak, strong)).toEqual([]);
    // A filter switched off filters nothing, whatever its strength says.
    const off = guardrailFiltersOf(answer('HIGH', { contentPolicy: { filters: [{ type: 'PROMPT_ATTACK', inputStrength: 'HIGH', outputStrength: 'NONE', inputEnabled: false }, { type: 'HATE', inputStrength: 'HIGH', outputStrength: 'HIGH' }] } }));
    expect(weakerFilters(strong, off)).toEqual(['content filter PROMPT_ATTACK input: HIGH -> NONE']);
  });
});

describe('an enforced guardrail moving versions', () => {
  let db: LocalDynamoDb;
  let tables = 0;
  const bedrock = mockClient(BedrockClient);
  beforeAll(async () => {
    db = await startLocalDynamoDb();
  });
  afterAll(async () => db.close());
  beforeEach(() => {
    bedrock.reset();
    bedrock.on(GetGuardrailCommand, { guardrailIdentifier: GUARDRAIL, guardrailVersion: '3' }).resolves(answer('HIGH'));
    bedrock.on(GetGuardrailCommand, { guardrailIdentifier: GUARDRAIL, guardrailVersion: '4' }).resolves(answer('LOW'));
    bedrock.on(GetGuardrailCommand, { guardrailIdentifier: GUARDRAIL, guardrailVersion: '5' }).resolves(answer('HIGH', { version: '5' }));
    bedrock.on(GetGuardrailCommand, { guardrailIdentifier: GUARDRAIL, guardrailVersion: '9' }).rejects(Object.assign(new Error('no such version'), { name: 'ResourceNotFoundException' }));
  });

  async function changed(batches: Array<Array<Record<string, unknown>>>) {
    const table = `guardrails-${++tables}`;
    await db.createInventoryTable(table);
    const store = createInventoryStore(db.documents, table);
    const warnings: string[] = [];
    const log = { warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m) };
    const guardrails = awsGuardrailReader({ log }, () => new BedrockClient({ region: 'us-east-1' }));
    let n = 0;
    for (const batch of batches) {
      const outcome = await processMessages(batch.map((r) => ({ messageId: `m${++n}`, body: JSON.stringify(toEnvelope(r)), receivedAt: '2026-11-30T11:00:00.000Z', source: `test:${n}` })), { store, guardrails, log });
      expect(outcome.failedMessageIds).toEqual([]);
    }
    const findings = (await scanTable(db.documents, table)).filter((i) => i.entity === ENTITY.finding).map((i) => readFinding(i)!).filter((f) => f.rule === 'enforced-guardrail-changed');
    return { findings, warnings };
  }

  it('raises the change as confirmed and high, naming what weakened, when the new version filters less', async () => {
    const { findings } = await changed([[put(0, '3')], [put(5, '4', 'cfg1abc')]]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'high', confidence: 'confirmed' });
    expect(findings[0].summary).toContain('to a version that filters less: content filter PROMPT_ATTACK input: HIGH -> LOW');
    expect(findings[0].signals.some((s) => s.path === 'guardrail filters' && s.value === 'content filter PROMPT_ATTACK input: HIGH -> LOW')).toBe(true);
    expect(bedrock.commandCalls(GetGuardrailCommand).map((c) => c.args[0].input.guardrailVersion).sort()).toEqual(['3', '4']);
  }, 60_000);

  it('compares with the previous Put of the same batch too', async () => {
    const { findings } = await changed([[put(0, '3'), put(5, '4', 'cfg1abc')]]);
    expect(findings).toMatchObject([{ severity: 'high', confidence: 'confirmed' }]);
  }, 60_000);

  it('leaves the change possible and medium when the new version filters as much, when a version cannot be read, and when the events came out of order', async () => {
    expect((await changed([[put(0, '3')], [put(5, '5', 'cfg1abc')]])).findings).toMatchObject([{ severity: 'medium', confidence: 'possible' }]);
    const unreadable = await changed([[put(0, '3')], [put(5, '9', 'cfg1abc')]]);
    expect(unreadable.findings).toMatchObject([{ severity: 'medium', confidence: 'possible' }]);
    expect(unreadable.warnings).toEqual(expect.arrayContaining(['GetGuardrail failed', 'guardrail versions not compared: a GetGuardrail lookup failed']));
    // The newer Put stored first: what came before the older one is unknown.
    expect((await changed([[put(10, '3', 'cfg1abc')], [put(5, '4', 'cfg1abc')]])).findings.every((f) => f.confidence === 'possible')).toBe(true);
  }, 60_000);
});
