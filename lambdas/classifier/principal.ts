/**
 * Who made the call, and what kind of actor it is, decided from the event's identity block.
 *
 * The principal key is the IAM identity that persists across calls: the role for workloads
 * (their session names are random), the role *session* for people signing in through
 * IAM Identity Center or the console (one SSO role is shared by many people; the session name is
 * the person). Callers without an IAM identity get a `urn:ai-visibility:` identifier: AWS
 * services, other accounts, and JWT-authenticated callers of AgentCore gateways.
 *
 * The base role is `human`, `service` or `unknown`; `classify` raises it to `ai-application`
 * when the call invokes or customizes a model.
 */
import { canonicalPrincipal, roleOfSession } from '../core/arn';
import { OWN_ROLE_PATH } from '../core/constants';
import { at, signal, str } from './evidence';
import type { NormalizedEvent } from './types';
import type { PrincipalObservation, PrincipalRole, Signal } from '../core/model';

/** True for calls made by ai-visibility's own roles (never classified: no self-triggering). */
export function isOwnActivity(event: NormalizedEvent): boolean {
  const issuer = str(event.record, 'userIdentity.sessionContext.sessionIssuer.arn');
  return issuer !== undefined && issuer.includes(`:role${OWN_ROLE_PATH}`);
}

const BROWSER = /^Mozilla\/|^(?:[a-z0-9-]+\.)?console\.[a-z0-9.-]*amazonaws\.com$|^signin\.amazonaws\.com$|^AWS Internal$/;

/**
 * A person at a keyboard: a console session, a browser, an IAM Identity Center permission set,
 * or the root user. Such a caller is never taken for an AI agent.
 */
export function isInteractiveSession(event: NormalizedEvent): boolean {
  const record = event.record;
  if (record.userIdentity?.type === 'Root') return true;
  if (record.sessionCredentialFromConsole === true || record.sessionCredentialFromConsole === 'true') return true;
  if (BROWSER.test(str(record, 'userAgent') ?? '')) return true;
  return (str(record, 'userIdentity.sessionContext.sessionIssuer.arn') ?? '').includes('/aws-reserved/sso.amazonaws.com/');
}

export function identifyPrincipal(event: NormalizedEvent): Omit<PrincipalObservation, 'role'> & { baseRole: PrincipalRole } | undefined {
  const identity = event.record.userIdentity;
  if (!identity || typeof identity !== 'object') return undefined;
  const type = typeof identity.type === 'string' ? identity.type : 'Unknown';
  const account = str(identity, 'accountId') && identity.accountId !== 'anonymous' ? (identity.accountId as string) : event.account;
  const typeSignal = signal(event, 'userIdentity.type', type);
  const userAgent = str(event.record, 'userAgent') ?? '';
  const fromConsole = event.record.sessionCredentialFromConsole === true || event.record.sessionCredentialFromConsole === 'true';
  const invokedBy = str(identity, 'invokedBy');

  // A call made with a Bedrock API key (long-term, or a short-term one minted from a session)
  // carries callWithBearerToken: the principal is marked with it, for the agent and behaviour rules.
  const bearer = at(event.record, 'additionalEventData.callWithBearerToken');
  const bearerSignals = bearer === true || bearer === 'true' ? [signal(event, 'additionalEventData.callWithBearerToken', bearer, 'called with a Bedrock API key (bearer token)')] : [];
  const result = (arn: string, baseRole: PrincipalRole, signals: Signal[]) => {
    const canonical = canonicalPrincipal(arn);
    return { arn: canonical, ...(canonical !== arn ? { iamArn: arn } : {}), type, account, baseRole, signals: [typeSignal, ...signals, ...bearerSignals] };
  };

  switch (type) {
    case 'Root':
      return result(identity.arn ?? `arn:${event.partition}:iam::${account}:root`, 'human', []);
    case 'IAMUser':
    case 'FederatedUser':
    case 'SAMLUser':
    case 'IdentityCenterUser': {
      const arn = identity.arn ?? `urn:ai-visibility:${type}:${account}:${identity.userName ?? identity.principalId ?? 'unknown'}`;
      if (invokedBy) return result(arn, 'service', [signal(event, 'userIdentity.invokedBy', invokedBy)]);
      return result(arn, 'human', []);
    }
    case 'AssumedRole': {
      const issuerArn = str(identity, 'sessionContext.sessionIssuer.arn');
      const sessionArn = identity.arn;
      const roleArn = issuerArn ?? (sessionArn ? roleOfSession(sessionArn) : undefined);
      if (!roleArn && !sessionArn) return result(`urn:ai-visibility:AssumedRole:${account}:${identity.principalId ?? 'unknown'}`, 'unknown', []);
      if (roleArn?.includes('/aws-service-role/')) {
        return result(roleArn, 'service', [signal(event, 'userIdentity.sessionContext.sessionIssuer.arn', roleArn, 'service-linked role')]);
      }
      if (invokedBy) return result(roleArn ?? sessionArn!, 'service', [signal(event, 'userIdentity.invokedBy', invokedBy)]);
      const human: Signal[] = [];
      if (roleArn?.includes('/aws-reserved/sso.amazonaws.com/')) {
        human.push(signal(event, 'userIdentity.sessionContext.sessionIssuer.arn', roleArn, 'IAM Identity Center permission set'));
      }
      if (fromConsole) human.push(signal(event, 'sessionCredentialFromConsole', true));
      if (BROWSER.test(userAgent)) human.push(signal(event, 'userAgent', userAgent, 'browser or console'));
      if (human.length > 0) return result(sessionArn ?? roleArn!, 'human', human);
      return result(roleArn ?? sessionArn!, 'service', [
        signal(event, issuerArn ? 'userIdentity.sessionContext.sessionIssuer.arn' : 'userIdentity.arn', roleArn ?? sessionArn!, 'role used programmatically'),
      ]);
    }
    case 'WebIdentityUser':
      return result(identity.arn ?? `urn:ai-visibility:WebIdentityUser:${account}:${identity.userName ?? 'unknown'}`, 'service', []);
    case 'AWSService':
      return result(`urn:ai-visibility:service:${invokedBy ?? 'unknown'}`, 'service', invokedBy ? [signal(event, 'userIdentity.invokedBy', invokedBy)] : []);
    case 'AWSAccount': {
      // AgentCore gateway data events: the caller authenticated with a JWT, not IAM.
      const claims = at(event.record, 'additionalEventData.jwt.claims');
      const iss = str(claims, 'iss');
      const sub = str(claims, 'sub') ?? str(claims, 'client_id');
      if (iss && sub) {
        return {
          arn: `urn:ai-visibility:jwt:${iss}#${sub}`,
          type: 'JWT',
          account: event.account,
          baseRole: 'unknown',
          signals: [typeSignal, signal(event, 'additionalEventData.jwt.claims.iss', iss), signal(event, 'additionalEventData.jwt.claims.sub', sub)],
        };
      }
      const callerAccount = str(identity, 'accountId') ?? 'anonymous';
      return result(`urn:ai-visibility:account:${callerAccount}`, 'unknown', [signal(event, 'userIdentity.accountId', callerAccount)]);
    }
    default:
      return result(identity.arn ?? `urn:ai-visibility:${type}:${account}:${identity.principalId ?? 'unknown'}`, 'unknown', []);
  }
}
