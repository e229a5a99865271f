/**
 * The EventBridge rules that bring in *every* CloudTrail call of the watched principals (AI
 * agents, and model callers that may turn out to be agents), whatever the service. Pure: the
 * sync Lambda turns the list into rules on the bus, the local replay evaluates it directly.
 *
 * Mechanism: exact-match lists of principal ARNs, split into as many rules as the event-pattern
 * size quota needs. That quota is 2,048 characters by default and can be raised to 4,096
 * (EventBridge User Guide, "Amazon EventBridge quotas": "Event pattern size"); the rules are sized
 * for the default unless the deployment says the quota was raised. Exact matches do not count
 * against the quota of 30 wildcard rules per bus; at the default size a rule holds about 17
 * ARNs of 100 characters (40 of 50), so the default quota of 300 rules per bus covers thousands
 * of agents. Roles are matched on `userIdentity.sessionContext.sessionIssuer.arn` (with their IAM path when it is known, and
 * without), users on `userIdentity.arn`. Calls a service makes on a principal's behalf
 * (`userIdentity.invokedBy`) are not the agent's own actions: the pattern leaves them out, so
 * they are never delivered or paid for. The rules use ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS:
 * an agent's reads are actions too.
 */
import { AGENT_RULE_PREFIX, CLOUDTRAIL_API_CALL, DEFAULT_PATTERN_QUOTA } from '../core/constants';
import { compileEventPattern } from './event-pattern';

export { AGENT_RULE_PREFIX, DEFAULT_PATTERN_QUOTA };

export interface WatchedPrincipal {
  /** Canonical principal ARN (roles and users without their path). */
  readonly principal: string;
  /** The exact IAM ARN, when known and different. */
  readonly iamArn?: string;
  /** An agent, or a model caller that may become one (a candidate). Undefined: an agent. */
  readonly reason?: 'agent' | 'candidate';
}

export interface AgentRule {
  readonly name: string;
  readonly description: string;
  readonly pattern: Record<string, unknown>;
}

export interface AgentRuleOptions {
  /** Name prefix of the rules (one per deployment). @default AGENT_RULE_PREFIX */
  readonly prefix?: string;
  /** The account's event-pattern size quota. @default DEFAULT_PATTERN_QUOTA */
  readonly patternQuota?: number;
}

const ROLE = /^arn:[^:]+:iam::\d{12}:role\//;
const USER = /^arn:[^:]+:iam::\d{12}:user\//;

function chunk(values: string[], limit: number, build: (values: string[]) => Record<string, unknown>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let current: string[] = [];
  for (const v of values) {
    if (current.length > 0 && JSON.stringify(build([...current, v])).length > limit) {
      out.push(build(current));
      current = [];
    }
    current.push(v);
  }
  if (current.length > 0) out.push(build(current));
  return out;
}

/** Not a call made on the principal's behalf by a service. */
const OWN_CALLS = { invokedBy: [{ exists: false }] };
const apiCalls = (detail: Record<string, unknown>) => ({ 'detail-type': [CLOUDTRAIL_API_CALL], detail });

/** The rules for a set of watched principals; the same set always yields the same rules. */
export function agentCaptureRules(watched: readonly WatchedPrincipal[], options: AgentRuleOptions = {}): AgentRule[] {
  const prefix = options.prefix ?? AGENT_RULE_PREFIX;
  const limit = options.patternQuota ?? DEFAULT_PATTERN_QUOTA;
  const roles = new Set<string>();
  const users = new Set<string>();
  for (const w of watched) {
    for (const arn of [w.principal, w.iamArn].filter((a): a is string => typeof a === 'string')) {
      if (ROLE.test(arn)) roles.add(arn);
      else if (USER.test(arn)) users.add(arn);
    }
  }
  const rules: AgentRule[] = [];
  chunk([...roles].sort(), limit, (arns) => apiCalls({ userIdentity: { sessionContext: { sessionIssuer: { arn: arns } }, ...OWN_CALLS } })).forEach((pattern, i) =>
    rules.push({ name: `${prefix}roles-${String(i + 1).padStart(3, '0')}`, description: 'ai-visibility: every call of watched AI agent roles', pattern }),
  );
  chunk([...users].sort(), limit, (arns) => apiCalls({ userIdentity: { arn: arns, ...OWN_CALLS } })).forEach((pattern, i) =>
    rules.push({ name: `${prefix}users-${String(i + 1).padStart(3, '0')}`, description: 'ai-visibility: every call of watched AI agent users', pattern }),
  );
  return rules;
}

/**
 * The ARNs the agent rules match a call on, where they are strings: its session issuer's (roles)
 * and its caller's own (users). A call whose ARNs are none of the watched ones matches no agent
 * rule (every pattern names one of the two fields), so a reader can set aside calls by them alone.
 */
export function callerArns(detail: unknown): string[] {
  const identity = (detail as { userIdentity?: { arn?: unknown; sessionContext?: { sessionIssuer?: { arn?: unknown } } } } | undefined)?.userIdentity;
  if (!identity) return [];
  const out: string[] = [];
  const issuer = identity.sessionContext?.sessionIssuer?.arn;
  if (typeof issuer === 'string') out.push(issuer);
  if (typeof identity.arn === 'string') out.push(identity.arn);
  return out;
}

/** Every ARN the watched principals' rules name (their principal and IAM ARNs). */
export function watchedArns(watched: readonly WatchedPrincipal[]): Set<string> {
  return new Set(watched.flatMap((w) => [w.principal, w.iamArn].filter((a): a is string => typeof a === 'string')));
}

/**
 * Whether a CloudTrail envelope is a call of one of the watched principals: the agent capture
 * rules' own patterns, evaluated by the EventBridge pattern model (event-pattern.ts), so the trail
 * reader keeps exactly what the rules would deliver. A set lookup on the two ARN fields goes
 * first (a necessary condition of every pattern: `callerArns`), so a record of anyone else costs
 * one or two hash lookups.
 */
export function watchedMatcher(watched: readonly WatchedPrincipal[]): (envelope: Record<string, unknown>) => boolean {
  // One rule per kind: the size quota shapes rules on a bus, not what they match.
  const patterns = agentCaptureRules(watched, { patternQuota: Number.MAX_SAFE_INTEGER }).map((r) => compileEventPattern(r.pattern));
  const arns = watchedArns(watched);
  return (envelope) => {
    if (!callerArns(envelope.detail).some((arn) => arns.has(arn))) return false;
    return patterns.some((matches) => matches(envelope));
  };
}
