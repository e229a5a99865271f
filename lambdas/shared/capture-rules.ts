/**
 * What the default event bus does with a CloudTrail record, simulated: wrap it in the envelope
 * CloudTrail delivers to EventBridge, then match it against the capture rules, honouring each
 * rule's state (a plain ENABLED rule never receives read-only management events).
 */
import { captureRules, type CaptureRuleSpec } from '../core/capture-patterns';
import { compileEventPattern, type CompiledPattern } from './event-pattern';
import { isEnvelope, isReadOnlyManagementEvent, toEnvelope } from './cloudtrail-envelope';

export { isEnvelope, sourceOf, toEnvelope } from './cloudtrail-envelope';

export interface CompiledRule {
  readonly spec: CaptureRuleSpec;
  readonly matches: CompiledPattern;
}

export interface CompiledRules extends ReadonlyArray<CompiledRule> {
  /**
   * The CloudTrail event sources some rule can match, when every rule names its `source`
   * exactly (as EventBridge itself indexes rules by source); undefined otherwise.
   */
  readonly eventSources?: ReadonlySet<string>;
}

export function compileRules(rules: readonly CaptureRuleSpec[] = captureRules()): CompiledRules {
  const compiled: CompiledRule[] & { eventSources?: ReadonlySet<string> } = rules.map((spec) => ({ spec, matches: compileEventPattern(spec.pattern) }));
  // Rules for other detail types (service state changes) never see a bare CloudTrail record.
  const forCloudTrail = rules.filter((r) => {
    const types = r.pattern['detail-type'];
    return !Array.isArray(types) || types.some((t) => typeof t !== 'string' || t.includes('via CloudTrail'));
  });
  const pinned = forCloudTrail.map((r) => (r.pattern.detail as Record<string, unknown> | undefined)?.eventSource);
  if (pinned.every((p) => Array.isArray(p) && p.every((v) => typeof v === 'string'))) {
    compiled.eventSources = new Set((pinned as string[][]).flat());
  }
  return compiled;
}

/** Whether a bare CloudTrail record can reach any rule at all (cheap check before wrapping it). */
export function mayMatch(record: Record<string, unknown>, rules: CompiledRules): boolean {
  return rules.eventSources === undefined || (typeof record.eventSource === 'string' && rules.eventSources.has(record.eventSource));
}

/** The ids of the rules an envelope reaches. */
export function matchingRules(envelope: Record<string, unknown>, rules: readonly CompiledRule[]): string[] {
  const readOnly = isEnvelope(envelope) && isReadOnlyManagementEvent(envelope.detail);
  const out: string[] = [];
  for (const rule of rules) {
    if (readOnly && !rule.spec.includeReadOnlyManagementEvents) continue;
    if (rule.matches(envelope)) out.push(rule.spec.id);
  }
  return out;
}

/** A value read from a log file, on the default bus: the envelope a rule takes, nothing, or why it is no CloudTrail record. */
export type Capture = { kind: 'not-matched' } | { kind: 'problem'; reason: string } | { kind: 'captured'; envelope: Record<string, unknown> };

/**
 * What the bus does with a value read from a log file (an envelope, or a bare record it wraps):
 * the envelope some rule takes (with `anyRule`, the envelope whatever the rules), `not-matched`,
 * or a problem for what is no CloudTrail record. Throws where the value cannot be serialized
 * (a record nested too deeply to hash for its id): the caller reports it.
 */
export function captureOf(value: unknown, rules: CompiledRules, anyRule = false): Capture {
  let envelope: Record<string, unknown>;
  if (isEnvelope(value)) envelope = value;
  else if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Record<string, unknown>).eventSource === 'string') {
    if (!mayMatch(value as Record<string, unknown>, rules)) return { kind: 'not-matched' };
    envelope = toEnvelope(value as Record<string, unknown>);
  } else {
    return { kind: 'problem', reason: 'not a CloudTrail record or EventBridge envelope (no eventSource)' };
  }
  if (!anyRule && matchingRules(envelope, rules).length === 0) return { kind: 'not-matched' };
  return { kind: 'captured', envelope };
}
