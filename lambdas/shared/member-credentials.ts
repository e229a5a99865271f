/**
 * Organization mode: credentials for acting in a member account, by assuming its member role
 * (`arn:<partition>:iam::<account>:role/ai-visibility/ai-visibility-member`, docs/organization.md)
 * through the STS endpoint of the region worked in (the SDK's regional endpoint: a regional STS
 * outage or latency stays in that region).
 *
 * Each account's credentials are kept until five minutes before they expire, so a sweep or a
 * batch of tags costs one AssumeRole per account and container, not one per call. A refusal
 * (the role missing, its trust broken, an account outside the organization) is a
 * `MemberRoleUnavailableError` naming the account and the cause, remembered for five minutes so a
 * broken account is not asked again on every call; the caller isolates it (that account fails,
 * the others go on) and reports it. The hub's own account needs no role: its own credentials.
 */
import { MEMBER_ROLE_NAME, OWN_ROLE_PATH } from '../core/constants';
import { partitionOfRegion } from '../core/arn';
import { finding } from '../core/findings';
import type { FindingObservation } from '../core/model';

export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** STS AssumeRole in a region; throws what STS answered. */
export type AssumeRole = (input: { roleArn: string; sessionName: string; region: string }) => Promise<TemporaryCredentials>;

/** An SDK v3 credential provider (what a client's `credentials` option takes). */
export type CredentialProvider = () => Promise<TemporaryCredentials>;

export class MemberRoleUnavailableError extends Error {
  constructor(
    readonly account: string,
    readonly roleArn: string,
    readonly reason: string,
  ) {
    super(`member role ${roleArn} cannot be assumed (${reason}): is the member stack deployed in account ${account}, and its trust intact? (docs/organization.md)`);
    this.name = 'MemberRoleUnavailableError';
  }
}

export const REFRESH_BEFORE_MS = 5 * 60_000;
export const FAILURE_TTL_MS = 5 * 60_000;

export function memberRoleArn(partition: string, account: string): string {
  return `arn:${partition}:iam::${account}:role${OWN_ROLE_PATH}${MEMBER_ROLE_NAME}`;
}

/** STS errors that mean "this role cannot be assumed from here", not "try again". */
const REFUSALS = /AccessDenied|NoSuchEntity|InvalidIdentityToken|RegionDisabled|ExpiredToken|MalformedPolicyDocument|ValidationError/;

export interface MemberCredentials {
  /** Undefined for the hub's own account (its own credentials), else a provider for the member role. */
  (account: string, region: string): CredentialProvider | undefined;
}

export function memberCredentials(deps: { assumeRole: AssumeRole; hubAccount: string; sessionName: string; now?: () => number }): MemberCredentials {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { credentials?: TemporaryCredentials; failed?: { error: MemberRoleUnavailableError; until: number }; pending?: Promise<TemporaryCredentials> }>();
  return (account, region) => {
    if (account === deps.hubAccount) return undefined;
    const roleArn = memberRoleArn(partitionOfRegion(region), account);
    return async () => {
      const entry = cache.get(account) ?? {};
      cache.set(account, entry);
      if (entry.credentials && entry.credentials.expiration.getTime() - REFRESH_BEFORE_MS > now()) return entry.credentials;
      if (entry.failed && entry.failed.until > now()) throw entry.failed.error;
      entry.pending ??= deps
        .assumeRole({ roleArn, sessionName: deps.sessionName, region })
        .then((credentials) => {
          entry.credentials = credentials;
          entry.failed = undefined;
          return credentials;
        })
        .catch((error: unknown) => {
          const name = (error as { name?: string }).name ?? '';
          if (!REFUSALS.test(name)) throw error; // throttling, network: the caller's retry decides
          const refused = new MemberRoleUnavailableError(account, roleArn, `${name}: ${(error as Error).message}`.slice(0, 500));
          entry.failed = { error: refused, until: now() + FAILURE_TTL_MS };
          throw refused;
        })
        .finally(() => {
          entry.pending = undefined;
        });
      return entry.pending;
    };
  };
}

/** AssumeRole over the SDK, one STS client per region (regional endpoints), loaded on first use. */
export function stsAssumeRole(): AssumeRole {
  const clients = new Map<string, import('@aws-sdk/client-sts').STSClient>();
  return async ({ roleArn, sessionName, region }) => {
    const { AssumeRoleCommand, STSClient } = await import('./member-credentials-sts');
    let sts = clients.get(region);
    if (!sts) {
      sts = new STSClient({ region });
      clients.set(region, sts);
    }
    const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName.slice(0, 64), DurationSeconds: 3600 }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw Object.assign(new Error('AssumeRole answered without credentials'), { name: 'ValidationError' });
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  };
}

/**
 * The finding a refused member role raises: once per account and day (its event id names both,
 * so every refusal of the day writes the same item), on the role, with the cause.
 */
export function memberRoleFinding(error: MemberRoleUnavailableError, region: string, at: number, raisedBy: string): FindingObservation {
  const day = new Date(at).toISOString().slice(0, 10);
  return finding('member-role-unavailable', { eventId: `member-role-unavailable:${error.account}:${day}`, time: `${day}T00:00:00.000Z`, account: error.account, region }, {
    resource: error.roleArn,
    principal: null,
    summary: `${raisedBy} could not assume ${error.roleArn} (${error.reason}): account ${error.account} is not swept, tagged or looked up until it can.`,
    signals: [{ eventName: 'sts:AssumeRole', path: 'error', value: error.reason, note: `refused to ${raisedBy}` }],
  });
}

/**
 * Member credentials for a handler that learns its own account at its first invocation (from the
 * function's ARN): until then, and for the hub's own account, none (its own credentials).
 */
export function lazyMemberCredentials(sessionName: string, assumeRole: () => AssumeRole = stsAssumeRole): { credentials: MemberCredentials; learn(invokedFunctionArn: string | undefined): void } {
  let inner: MemberCredentials | undefined;
  return {
    credentials: (account, region) => inner?.(account, region),
    learn(invokedFunctionArn) {
      const hubAccount = invokedFunctionArn?.split(':')[4];
      if (!inner && hubAccount && /^\d{12}$/.test(hubAccount)) inner = memberCredentials({ assumeRole: assumeRole(), hubAccount, sessionName });
    },
  };
}
