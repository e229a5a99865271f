/**
 * The EventBridge rules that bring in *every* CloudTrail call of the watched principals (AI
 * agents, and model callers that may turn out to be agents), whatever the service. Pure: the
 * sync Lambda turns the list into rules on the bus, the local replay evaluates it directly.
 *
 * Mechanism: exact-match lists of principal ARNs, split into as many rules as the 4,096-character
 * pattern limit needs. Exact matches do not count against the quota of 30 wildcard rules per
 * bus; each rule holds about 40 roles, so the default quota of 300 rules per bus covers
 * thousands of agents. Roles are matched on `userIdentity.sessionContext.sessionIssuer.arn` (with
 * their IAM path when it is known, and without), users on `userIdentity.arn`. The rules use
 * ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS: an agent's reads are actions too.
 */
import { AGENT_RULE_PREFIX, CLOUDTRAIL_API_CALL } from '../core/constants';

export { AGENT_RULE_PREFIX };
/** Stay clear of EventBridge's 4,096-character pattern limit. */
export const MAX_PATTERN_CHARS = 3_900;

export interface WatchedPrincipal {
  /** Canonical principal ARN (roles and users without their path). */
  readonly principal: string;
  /** The exact IAM ARN, when known and different. */
  readonly iamArn?: string;
}

export interface AgentRule {
  readonly name: string;
  readonly description: string;
  readonly pattern: Record<string, unknown>;
}

const ROLE = /^arn:[^:]+:iam::\d{12}:role\//;
const USER = /^arn:[^:]+:iam::\d{12}:user\//;

function chunk(values: string[], build: (values: string[]) => Record<string, unknown>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let current: string[] = [];
  for (const v of values) {
    if (current.length > 0 && JSON.stringify(build([...current, v])).length > MAX_PATTERN_CHARS) {
      out.push(build(current));
      current = [];
    }
    current.push(v);
  }
  if (current.length > 0) out.push(build(current));
  return out;
}

const apiCalls = (detail: Record<string, unknown>) => ({ 'detail-type': [CLOUDTRAIL_API_CALL], detail });

/** The rules for a set of watched principals; the same set always yields the same rules. */
export function agentCaptureRules(watched: readonly WatchedPrincipal[]): AgentRule[] {
  const roles = new Set<string>();
  const users = new Set<string>();
  for (const w of watched) {
    for (const arn of [w.principal, w.iamArn].filter((a): a is string => typeof a === 'string')) {
      if (ROLE.test(arn)) roles.add(arn);
      else if (USER.test(arn)) users.add(arn);
    }
  }
  const rules: AgentRule[] = [];
  chunk([...roles].sort(), (arns) => apiCalls({ userIdentity: { sessionContext: { sessionIssuer: { arn: arns } } } })).forEach((pattern, i) =>
    rules.push({ name: `${AGENT_RULE_PREFIX}roles-${String(i + 1).padStart(3, '0')}`, description: 'ai-visibility: every call of watched AI agent roles', pattern }),
  );
  chunk([...users].sort(), (arns) => apiCalls({ userIdentity: { arn: arns } })).forEach((pattern, i) =>
    rules.push({ name: `${AGENT_RULE_PREFIX}users-${String(i + 1).padStart(3, '0')}`, description: 'ai-visibility: every call of watched AI agent users', pattern }),
  );
  return rules;
}
