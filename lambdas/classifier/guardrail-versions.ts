/**
 * The enforced guardrail's versions compared: when a PutEnforcedGuardrailConfiguration changes
 * which guardrail or version an account-region enforces, the two versions' filters are read
 * (CloudTrail does not log them; core/guardrails.ts) and, where the new one filters less, the
 * batch's `enforced-guardrail-changed` finding becomes confirmed and high, naming what weakened.
 *
 * What was enforced before is the configuration item as stored (or the batch's previous Put to
 * it). A stored item newer than the event (the events came out of order) says nothing about what
 * came before this one: no comparison then. A lookup that fails leaves the finding as it was.
 */
import { weakerFilters, type GuardrailReader } from '../core/guardrails';
import type { Signal } from '../core/model';
import type { InventoryStore } from '../shared/inventory-store';
import { keys, keyString, readResource } from '../shared/items';
import type { BatchEvent } from './agents/analyze';
import type { Classification } from './types';

export type { GuardrailReader };

const CHANGED = 'enforced-guardrail-changed';

interface Enforced {
  readonly guardrail: string;
  readonly version: string;
}

const enforcedOf = (configuration: Readonly<Record<string, unknown>> | undefined): Enforced | undefined =>
  typeof configuration?.guardrail === 'string' && typeof configuration.guardrailVersion === 'string' ? { guardrail: configuration.guardrail, version: configuration.guardrailVersion } : undefined;

/** The batch's classifications with the changed-configuration findings the comparison settles. */
export async function compareEnforcedGuardrails(batch: readonly BatchEvent[], store: Pick<InventoryStore, 'getItems'>, read: GuardrailReader, log?: { warn(message: string, extra: Record<string, unknown>): void }): Promise<Map<string, Classification>> {
  // Every Put of the batch sets what is enforced; those that change an existing configuration are judged.
  const changes = batch
    .map((b) => ({ b, config: b.classification.resources.find((r) => r.kind === 'enforced-guardrail-config' && r.status === 'active') }))
    .filter((x): x is { b: BatchEvent; config: NonNullable<typeof x.config> } => x.config !== undefined)
    .sort((x, y) => (x.b.event.time < y.b.event.time ? -1 : x.b.event.time > y.b.event.time ? 1 : 0));
  const out = new Map<string, Classification>();
  if (!changes.some((c) => c.b.classification.findings.some((f) => f.rule === CHANGED))) return out;
  const stored = await store.getItems([...new Set(changes.map((c) => c.config.arn))].map((arn) => keys.resource(arn)));
  const previous = new Map<string, { enforced?: Enforced; time: string }>();
  for (const arn of new Set(changes.map((c) => c.config.arn))) {
    const item = readResource(stored.get(keyString(keys.resource(arn))));
    if (item) previous.set(arn, { enforced: enforcedOf(item.configuration), time: item.lastSeen });
  }
  for (const { b, config } of changes) {
    const before = previous.get(config.arn);
    const now = enforcedOf(config.attributes);
    previous.set(config.arn, { enforced: now, time: b.event.time });
    if (!b.classification.findings.some((f) => f.rule === CHANGED)) continue;
    if (!before?.enforced || !now || before.time >= b.event.time) continue;
    if (before.enforced.guardrail === now.guardrail && before.enforced.version === now.version) continue;
    const place = { account: b.event.account, region: b.event.region };
    const [was, is] = await Promise.all([read({ ...place, ...before.enforced }), read({ ...place, ...now })]);
    if (!was || !is) {
      log?.warn('guardrail versions not compared: a GetGuardrail lookup failed', { config: config.arn, before: before.enforced, after: now });
      continue;
    }
    const weaker = weakerFilters(was, is);
    if (weaker.length === 0) continue;
    const signals: Signal[] = weaker.slice(0, 6).map((w) => ({ eventName: b.event.eventName, path: 'guardrail filters', value: w, note: `bedrock:GetGuardrail of ${before.enforced!.guardrail} version ${before.enforced!.version} and ${now.guardrail} version ${now.version}` }));
    out.set(b.messageId, {
      ...b.classification,
      findings: b.classification.findings.map((f) =>
        f.rule === CHANGED
          ? {
              ...f,
              severity: 'high',
              confidence: 'confirmed',
              summary: `${f.summary} It moves from ${before.enforced!.guardrail} version ${before.enforced!.version} to a version that filters less: ${weaker.join('; ')}.`,
              signals: [...f.signals, ...signals],
            }
          : f,
      ),
    });
  }
  return out;
}
