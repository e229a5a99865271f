/**
 * What an event bus's resource policy does with a `PutEvents` from another account, simulated:
 * the statements of the synthesized policy (AWS::Events::EventBusPolicy) evaluated against the
 * request's context, the way IAM evaluates a resource-based policy for a cross-account caller
 * (IAM User Guide, "Policy evaluation logic"): an explicit Deny wins, else an Allow whose
 * principal, action, resource and every condition match, else the implicit deny. Only what bus
 * policies use is modelled: `Principal` "*" or account ids, `Action`/`Resource` with `*`
 * wildcards, and the `StringEquals`/`StringLike`/`ArnEquals`/`ArnLike` operators (a key missing
 * from the context fails its condition, as IAM does without `IfExists`).
 */

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal: '*' | { readonly AWS: string | readonly string[] };
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface PutEventsRequest {
  /** The caller's account. */
  readonly account: string;
  readonly action: string;
  /** The bus ARN. */
  readonly resource: string;
  /** Condition keys of the request: `aws:PrincipalOrgID` (absent for a caller outside any organization), `aws:PrincipalAccount`... */
  readonly context: Readonly<Record<string, string>>;
}

export type Decision = { readonly allowed: true; readonly by: string } | { readonly allowed: false; readonly reason: string };

const list = (v: string | readonly string[]) => (typeof v === 'string' ? [v] : [...v]);
const glob = (pattern: string, value: string, ignoreCase = false) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, ignoreCase ? 'i' : '').test(value);

function principalMatches(p: PolicyStatement['Principal'], account: string): boolean {
  if (p === '*') return true;
  return list(p.AWS).some((a) => a === '*' || a === account || a === `arn:aws:iam::${account}:root` || new RegExp(`^arn:aws[a-z-]*:iam::${account}:root$`).test(a));
}

function conditionsHold(condition: PolicyStatement['Condition'], context: PutEventsRequest['context']): string | undefined {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const actual = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
      if (actual === undefined) return `${key} is not in the request`;
      const values = list(expected);
      const ok =
        operator === 'StringEquals' || operator === 'ArnEquals'
          ? values.includes(actual)
          : operator === 'StringLike' || operator === 'ArnLike'
            ? values.some((v) => glob(v, actual))
            : undefined;
      if (ok === undefined) throw new Error(`condition operator ${operator} is not modelled`);
      if (!ok) return `${key}=${actual} is not ${values.join(' or ')}`;
    }
  }
  return undefined;
}

/** Whether the bus policy lets the request through. */
export function evaluateBusPolicy(statements: readonly PolicyStatement[], request: PutEventsRequest): Decision {
  const applicable = statements.filter((s) => principalMatches(s.Principal, request.account) && list(s.Action).some((a) => glob(a, request.action, true)) && list(s.Resource).some((r) => glob(r, request.resource)));
  const why: string[] = [];
  const matching = applicable.filter((s) => {
    const failed = conditionsHold(s.Condition, request.context);
    if (failed) why.push(`${s.Sid ?? 'statement'}: ${failed}`);
    return failed === undefined;
  });
  const deny = matching.find((s) => s.Effect === 'Deny');
  if (deny) return { allowed: false, reason: `denied by ${deny.Sid ?? 'a Deny statement'}` };
  const allow = matching.find((s) => s.Effect === 'Allow');
  if (allow) return { allowed: true, by: allow.Sid ?? 'an Allow statement' };
  return { allowed: false, reason: applicable.length === 0 ? 'no statement applies to this principal, action and bus (implicit deny)' : `implicit deny: ${why.join('; ')}` };
}
