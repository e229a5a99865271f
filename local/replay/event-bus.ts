/**
 * What the default event bus does with a CloudTrail record, simulated: wrap it in the envelope
 * CloudTrail delivers to EventBridge, then match it against the capture rules, honouring each
 * rule's state (a plain ENABLED rule never receives read-only management events).
 */
import { createHash } from 'node:crypto';
import { captureRules, CLOUDTRAIL_API_CALL, type CaptureRuleSpec } from '../../lib/capture/patterns';
import { compileEventPattern, type CompiledPattern } from './event-pattern';
import { own } from '../../lambdas/core/own';

const DETAIL_TYPE_BY_EVENT_TYPE: Record<string, string> = {
  AwsApiCall: CLOUDTRAIL_API_CALL,
  AwsServiceEvent: 'AWS Service Event via CloudTrail',
  AwsConsoleAction: 'AWS Console Action via CloudTrail',
  AwsConsoleSignIn: 'AWS Console Sign In via CloudTrail',
};

/** EventBridge sources that are not simply "aws." + the event source's service prefix. */
const SOURCE_EXCEPTIONS: Record<string, string> = {
  'monitoring.amazonaws.com': 'aws.cloudwatch',
  'signin.amazonaws.com': 'aws.signin',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isEnvelope(value: unknown): value is Record<string, unknown> & { detail: Record<string, unknown> } {
  return isObject(value) && typeof value['detail-type'] === 'string' && isObject(value.detail);
}

/** Wrap a CloudTrail record the way CloudTrail delivers it to EventBridge. */
export function toEnvelope(record: Record<string, unknown>): Record<string, unknown> {
  const eventSource = typeof record.eventSource === 'string' ? record.eventSource : '';
  const source = sourceOf(eventSource);
  const eventType = typeof record.eventType === 'string' ? record.eventType : 'AwsApiCall';
  return {
    version: '0',
    // EventBridge assigns a fresh UUID; CloudTrail's eventID (itself a UUID) keeps replays deterministic.
    id: typeof record.eventID === 'string' ? record.eventID : createHash('sha256').update(JSON.stringify(record)).digest('hex').slice(0, 32),
    'detail-type': own(DETAIL_TYPE_BY_EVENT_TYPE, eventType) ?? CLOUDTRAIL_API_CALL,
    source,
    account: record.recipientAccountId ?? (isObject(record.userIdentity) ? record.userIdentity.accountId : undefined),
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}

/** Read-only management events reach only rules in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS. */
function isReadOnlyManagementEvent(detail: Record<string, unknown>): boolean {
  const readOnly = detail.readOnly === true || detail.readOnly === 'true';
  const category = detail.eventCategory;
  const management = detail.managementEvent === true || detail.managementEvent === 'true' || category === 'Management' || (category === undefined && detail.managementEvent === undefined);
  return readOnly && management;
}

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

/** The EventBridge `source` of a CloudTrail event source. */
export function sourceOf(eventSource: string): string {
  return own(SOURCE_EXCEPTIONS, eventSource) ?? `aws.${eventSource.replace(/\.amazonaws\.com$/, '')}`;
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
