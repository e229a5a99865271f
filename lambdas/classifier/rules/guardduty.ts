/**
 * GuardDuty findings about AI workloads (the opt-in `GuardDutyAiFindings` rule), read as
 * GuardDuty's service event: `serviceEventDetails` is the finding (GuardDuty API Reference,
 * "Finding", "Resource": `resource.accessKeyDetails` names the identity, `resource.modelDetails`
 * the invoked models, `resource.bedrockGuardrailDetails.guardrails` the guardrails).
 *
 * What ai-visibility adds to GuardDuty: the finding lands on the inventory's model or guardrail
 * (its lineage, owner and tags) and on the principal GuardDuty names (its agent profile and
 * ledger, when it is an agent), raised as `guardduty-ai-finding`, corroborated: GuardDuty saw it.
 */
import { kindOfArn, resolveModelId } from '../../core/arn';
import type { Severity } from '../../core/model';
import { eventSignal, fieldSignal, list, str } from '../evidence';
import type { Collector } from '../collector';
import type { Rule } from './bedrock';

const F = 'serviceEventDetails';

/** GuardDuty's severity number as ours (GuardDuty User Guide, "Severity levels for GuardDuty findings"). */
export function severityOf(value: unknown): Severity {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return 'medium';
  if (n >= 9) return 'critical';
  if (n >= 7) return 'high';
  if (n >= 4) return 'medium';
  return 'low';
}

/** The IAM identity of `resource.accessKeyDetails`, as the inventory names principals. */
function principalOf(c: Collector): string | undefined {
  const e = c.event;
  const userType = str(e.record, `${F}.resource.accessKeyDetails.userType`);
  const userName = str(e.record, `${F}.resource.accessKeyDetails.userName`);
  const account = str(e.record, `${F}.accountId`) ?? e.account;
  if (userType === 'Root') return `arn:${e.partition}:iam::${account}:root`;
  if (!userName) return undefined;
  if (userType === 'IAMUser') return `arn:${e.partition}:iam::${account}:user/${userName}`;
  if (userType === 'AssumedRole' || userType === 'Role') return `arn:${e.partition}:iam::${account}:role/${userName}`;
  return undefined;
}

function finding(c: Collector): void {
  const e = c.event;
  const type = str(e.record, `${F}.type`) ?? 'unknown type';
  const models = list(e.record, `${F}.resource.modelDetails`)
    .map((m, i) => ({ i, id: typeof m === 'object' && m !== null ? (m as { modelId?: unknown }).modelId : undefined }))
    .filter((m): m is { i: number; id: string } => typeof m.id === 'string' && m.id.length > 0);
  const guardrails = list(e.record, `${F}.resource.bedrockGuardrailDetails.guardrails`)
    .map((g, i) => ({ i, arn: typeof g === 'object' && g !== null ? (g as { arn?: unknown }).arn : undefined }))
    .filter((g): g is { i: number; arn: string } => typeof g.arn === 'string');
  const resources: string[] = [];
  for (const m of models) {
    const resolved = resolveModelId(e, m.id);
    if (!resolved) continue;
    c.resource(resolved.kind, resolved.arn, { signals: [fieldSignal(e, `${F}.resource.modelDetails.${m.i}.modelId`, `named by GuardDuty ${type}`)], onlyIfKnown: resolved.kind !== 'foundation-model', ...(resolved.kind === 'foundation-model' ? { account: 'aws' } : {}) });
    resources.push(resolved.arn);
  }
  for (const g of guardrails) {
    const known = kindOfArn(g.arn);
    if (!known) continue;
    c.resource('guardrail', known.arn, { onlyIfKnown: true, signals: [fieldSignal(e, `${F}.resource.bedrockGuardrailDetails.guardrails.${g.i}.arn`, `intervened (GuardDuty ${type})`)] });
    resources.push(known.arn);
  }
  const principal = principalOf(c);
  const id = str(e.record, `${F}.id`);
  c.finding('guardduty-ai-finding', {
    resource: resources[0] ?? `arn:${e.partition}:bedrock:${e.region}::foundation-model/*`,
    severity: severityOf(e.record.serviceEventDetails && (e.record.serviceEventDetails as { severity?: unknown }).severity),
    ...(principal ? { principal } : {}),
    summary: `GuardDuty ${type}${principal ? ` for ${principal}` : ''}${resources.length ? ` on ${resources.join(', ')}` : ''}: ${str(e.record, `${F}.title`) ?? 'see the GuardDuty finding'} (corroborated by GuardDuty${id ? `, finding ${id}` : ''}).`,
    signals: [
      eventSignal(e, 'corroborated by GuardDuty'),
      fieldSignal(e, `${F}.type`),
      ...(id ? [fieldSignal(e, `${F}.id`)] : []),
      ...(principal ? [fieldSignal(e, `${F}.resource.accessKeyDetails.userName`)] : []),
    ],
  });
}

export const GUARDDUTY_RULES: Record<string, Rule> = { GuardDutyFinding: finding };
