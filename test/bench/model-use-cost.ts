/**
 * What the LLMjacking detections cost (bench section 11): the reconnaissance reads the ModelRecon
 * rule now captures (dropped before, so everything they cost is extra), and the model-use step's
 * work on invocations (captured before; the step's writes and reads are the extra).
 *
 * Events: the real InvokeModel record (fixtures/cloudtrail/ai, sumologic-documentation), with
 * fresh eventIDs, 20 callers (IAM users), times spread over a day, and for the reads the event
 * name of a reconnaissance read; through processMessages against dynalite, batches of 1,000.
 *
 * Prices (us-east-1, November 2026 price pages): DynamoDB on demand $0.625 per million write
 * request units and $0.125 per million read request units; SQS $0.40 per million requests (a send
 * per message, receives and deletes in tens: 1.2 requests a message); Lambda $0.0000166667 per
 * GB-second at the classifier's 1 GB (handler time against dynalite, an upper bound: a local
 * DynamoDB answers slower than DynamoDB does) and $0.20 per million invocations (one per 1,000
 * messages). EventBridge does not charge for AWS service events on the default bus.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processMessages, type InboundMessage } from '../../lambdas/classifier/process-batch';
import { DEFAULT_MODEL_USE_SETTINGS } from '../../lambdas/classifier/model-use';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { toEnvelope } from '../../local/replay/event-bus';
import { startLocalDynamoDb } from '../../local/replay/local-dynamodb';

const INVOKE = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'cloudtrail', 'ai', 'sumologic-documentation__InvokeModel.json'), 'utf8')) as Record<string, unknown>;
const EVENTS = 10_000;
const BATCH = 1_000;
const READS = ['ListFoundationModels', 'GetFoundationModelAvailability', 'ListFoundationModelAgreementOffers', 'GetUseCaseForModelAccess'];

function events(kind: 'recon' | 'invoke'): InboundMessage[] {
  const start = Date.parse('2026-11-02T00:00:00Z');
  return Array.from({ length: EVENTS }, (_, i) => {
    const user = `bench-user-${i % 20}`;
    const identity = { ...(INVOKE.userIdentity as object), arn: `arn:aws:iam::956882123456:user/${user}`, userName: user };
    const time = new Date(start + Math.floor((i * 86_400_000) / EVENTS)).toISOString();
    const record =
      kind === 'recon'
        ? { ...INVOKE, userIdentity: identity, eventName: READS[i % READS.length], requestParameters: null, eventTime: time, eventID: randomUUID() }
        : { ...INVOKE, userIdentity: identity, awsRegion: i % 2 ? 'us-west-2' : 'us-east-1', eventTime: time, eventID: randomUUID() };
    return { messageId: `${kind}-${i}`, body: JSON.stringify(toEnvelope(record)), receivedAt: time, source: `bench#${i}` };
  });
}

async function measure(messages: readonly InboundMessage[], withModelUse: boolean) {
  const db = await startLocalDynamoDb();
  try {
    await db.createInventoryTable('bench-model-use');
    const store = createInventoryStore(db.documents, 'bench-model-use');
    const started = process.hrtime.bigint();
    let findings = 0;
    for (let i = 0; i < messages.length; i += BATCH) {
      const outcome = await processMessages(messages.slice(i, i + BATCH), { store, ...(withModelUse ? { modelUse: { settings: DEFAULT_MODEL_USE_SETTINGS } } : {}) });
      findings += outcome.stats.findings;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const n = messages.length;
    return { wcu: store.stats.writeUnits / n, rcu: store.stats.readUnits / n, requests: store.stats.requests / n, seconds, findings };
  } finally {
    await db.close();
  }
}

const perMillion = (m: { wcu: number; rcu: number; seconds: number }, events: number, withQueue: boolean) => {
  const dynamodb = m.wcu * 0.625 + m.rcu * 0.125;
  const lambda = (m.seconds / events) * 1e6 * 0.0000166667 + (1e6 / BATCH) * 0.2e-6;
  const sqs = withQueue ? 1.2 * 0.4 : 0;
  return { dynamodb, lambda, sqs, total: dynamodb + lambda + sqs };
};

export async function modelUseCost(): Promise<string[]> {
  const recon = await measure(events('recon'), true);
  const invokes = events('invoke');
  const without = await measure(invokes, false);
  const withStep = await measure(invokes, true);
  const r = perMillion(recon, EVENTS, true);
  const delta = { wcu: withStep.wcu - without.wcu, rcu: withStep.rcu - without.rcu, requests: withStep.requests - without.requests, seconds: Math.max(0, withStep.seconds - without.seconds) };
  const d = perMillion(delta, EVENTS, false);
  const usd = (x: number) => `$${x.toFixed(2)}`;
  return [
    `\n  Model reconnaissance captured (ModelRecon; ${EVENTS.toLocaleString('en-US')} reads by 20 IAM users over a day, batch ${BATCH.toLocaleString('en-US')}): ${recon.wcu.toFixed(3)} WCU, ${recon.rcu.toFixed(3)} RCU, ${recon.requests.toFixed(3)} requests per read, ${((recon.seconds * 1e6) / EVENTS).toFixed(0)} µs of handler work against dynalite (${recon.findings} findings)`,
    `    per million reads: DynamoDB ${usd(r.dynamodb)}, SQS ${usd(r.sqs)}, Lambda ${usd(r.lambda)} (at most): ${usd(r.total)} in all (none of it was spent before: the reads were dropped)`,
    `  The model-use step on invocations (${EVENTS.toLocaleString('en-US')} InvokeModel, 20 callers, 2 regions): +${delta.wcu.toFixed(3)} WCU, +${delta.rcu.toFixed(3)} RCU, +${delta.requests.toFixed(3)} requests per invocation (${without.wcu.toFixed(3)} WCU without it), +${((delta.seconds * 1e6) / EVENTS).toFixed(0)} µs of handler work`,
    `    per million invocations: DynamoDB +${usd(d.dynamodb)}, Lambda +${usd(d.lambda)} (at most): +${usd(d.total)}`,
  ];
}
