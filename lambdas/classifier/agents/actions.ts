/**
 * What an agent's action is: its classes, outcome and the resources it touched, decided from the
 * CloudTrail record alone. Pure.
 *
 * Classes (an action may have several):
 * - read / write: the record's `readOnly` flag (falling back to the verb);
 * - provision: Create*, Run*, Start*, Launch*, Request*, Allocate*, Import*, Register*;
 * - destructive: Delete*, Terminate*, Remove*, Destroy*, Purge*, Deregister*, Empty*;
 * - privilege: anything that changes who may do what: IAM and Organizations writes, STS role
 *   assumption, KMS key policies and grants, resource policies elsewhere (Put*Policy, *Permission*);
 * - data-access: S3 object calls, Secrets Manager secret values, SSM parameters, KMS decryption;
 * - cross-account: the resource belongs to, or the role assumed is in, another account;
 * - denied: refused for authorization (AccessDenied, UnauthorizedOperation, ...).
 */
import type { NormalizedEvent } from '../types';
import { at, str } from '../evidence';
import { own } from '../../core/own';

export const ACTION_CLASSES = ['read', 'write', 'provision', 'destructive', 'privilege', 'data-access', 'cross-account', 'denied'] as const;
export type ActionClass = (typeof ACTION_CLASSES)[number];

const PROVISION = /^(Create|Run|Start|Launch|Request|Allocate|Import|Register|Invoke(?:Model)?Async)/;
const DESTRUCTIVE = /^(Delete|Terminate|Remove|Destroy|Purge|Deregister|Empty)/;
const READ_VERB = /^(Get|List|Describe|Head|Search|Lookup|Query|Scan|Select|Batch(?:Get|Describe)|Check|Validate|Preview|Test|View|Download|Retrieve|Invoke|Converse|Count)/;
const DENIED = /AccessDenied|UnauthorizedOperation|Unauthorized|Forbidden|NotAuthorized|AuthorizationError|InvalidClientTokenId|SignatureDoesNotMatch|ExpiredToken/i;

const PRIVILEGE_SOURCES = new Set(['iam.amazonaws.com', 'organizations.amazonaws.com', 'sso.amazonaws.com', 'identitystore.amazonaws.com', 'sso-directory.amazonaws.com']);
const PRIVILEGE_EVENTS: Record<string, RegExp> = {
  'sts.amazonaws.com': /^(AssumeRole|AssumeRoleWithSAML|AssumeRoleWithWebIdentity|AssumeRoot|GetFederationToken|GetSessionToken)$/,
  'kms.amazonaws.com': /^(PutKeyPolicy|CreateGrant|RetireGrant|RevokeGrant|ReplicateKey|UpdatePrimaryRegion)$/,
};
/** Resource policies and permissions in any service: they decide who else may act. */
const POLICY_EVENT = /(Policy|Permission|AccessControl|Acl)$|^(Put|Set|Update|Add|Remove|Delete|Attach|Detach).*(Policy|Permission|Acl)/;

const DATA_ACCESS: Record<string, RegExp> = {
  's3.amazonaws.com': /^(GetObject|PutObject|CopyObject|DeleteObject|DeleteObjects|GetObjectAcl|RestoreObject|SelectObjectContent|UploadPart|CompleteMultipartUpload)$/,
  'secretsmanager.amazonaws.com': /^(GetSecretValue|BatchGetSecretValue|PutSecretValue)$/,
  'ssm.amazonaws.com': /^(GetParameter|GetParameters|GetParametersByPath|GetParameterHistory|PutParameter)$/,
  'kms.amazonaws.com': /^(Decrypt|GenerateDataKey|GenerateDataKeyWithoutPlaintext|ReEncrypt)$/,
  'dynamodb.amazonaws.com': /^(GetItem|BatchGetItem|Query|Scan|PutItem|UpdateItem|DeleteItem|BatchWriteItem|ExecuteStatement)$/,
};

/** Secret material: what `agent-secret-access` is about. */
export function isSecretAccess(event: NormalizedEvent): boolean {
  if (event.eventSource === 'secretsmanager.amazonaws.com') return /^(GetSecretValue|BatchGetSecretValue)$/.test(event.eventName);
  if (event.eventSource === 'ssm.amazonaws.com' && /^GetParameter/.test(event.eventName)) {
    // SecureString values only come back decrypted when asked for.
    return at(event.record, 'requestParameters.withDecryption') === true;
  }
  return false;
}

export function isDenied(event: NormalizedEvent): boolean {
  if (event.errorCode !== undefined) return DENIED.test(event.errorCode);
  const status = at(event.record, 'responseElements.statusCode');
  return status === 401 || status === 403;
}

const ACCOUNT_IN_ARN = /^arn:[^:]+:[^:]*:[^:]*:(\d{12}):/;

/** The ARNs in a part of a record (request or response), at most `limit`, at most `maxDepth` levels down. */
export function arnsIn(root: unknown, limit: number, maxDepth: number): string[] {
  const out = new Set<string>();
  const walk = (node: unknown, depth: number) => {
    if (out.size >= limit || depth > maxDepth || node === null || node === undefined) return;
    if (typeof node === 'string') {
      if (node.startsWith('arn:')) out.add(node);
    } else if (typeof node === 'object') {
      for (const v of Object.values(node)) walk(v, depth + 1);
    }
  };
  walk(root, 0);
  return [...out];
}

/** ARNs the action touched: CloudTrail's `resources[]`, else ARNs in the request. */
export function touchedResources(event: NormalizedEvent, limit = 20): string[] {
  const listed = new Set<string>();
  for (const r of event.record.resources ?? []) {
    const arn = r?.ARN ?? r?.arn;
    if (typeof arn === 'string') listed.add(arn);
  }
  return (listed.size > 0 ? [...listed] : arnsIn(event.record.requestParameters, limit, 3)).slice(0, limit);
}

/** The account the caller acts from (the identity's account). */
function callerAccount(event: NormalizedEvent): string | undefined {
  const account = str(event.record, 'userIdentity.accountId');
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

export function isCrossAccount(event: NormalizedEvent, resources: readonly string[]): boolean {
  const caller = callerAccount(event);
  if (!caller) return false;
  if (event.account !== 'unknown' && /^\d{12}$/.test(event.account) && event.account !== caller) return true;
  const assumed = str(event.record, 'requestParameters.roleArn');
  if (event.eventSource === 'sts.amazonaws.com' && assumed) {
    const m = ACCOUNT_IN_ARN.exec(assumed);
    if (m && m[1] !== caller) return true;
  }
  return resources.some((arn) => {
    const m = ACCOUNT_IN_ARN.exec(arn);
    return m !== null && m[1] !== caller;
  });
}

/** The record's readOnly flag; older records without one are judged by their verb. */
export function isReadOnly(event: NormalizedEvent): boolean {
  return event.record.readOnly === undefined ? READ_VERB.test(event.eventName) : event.readOnly;
}

export function classifyAction(event: NormalizedEvent, resources: readonly string[]): ActionClass[] {
  const { eventName, eventSource } = event;
  const classes = new Set<ActionClass>();
  const readOnly = isReadOnly(event);
  classes.add(readOnly ? 'read' : 'write');
  if (!readOnly && PROVISION.test(eventName)) classes.add('provision');
  if (!readOnly && DESTRUCTIVE.test(eventName)) classes.add('destructive');
  if ((PRIVILEGE_SOURCES.has(eventSource) && !readOnly) || own(PRIVILEGE_EVENTS, eventSource)?.test(eventName) || (!readOnly && POLICY_EVENT.test(eventName))) {
    classes.add('privilege');
  }
  if (own(DATA_ACCESS, eventSource)?.test(eventName)) classes.add('data-access');
  if (isCrossAccount(event, resources)) classes.add('cross-account');
  if (isDenied(event)) classes.add('denied');
  return ACTION_CLASSES.filter((c) => classes.has(c));
}

/** The outcome of an action: `success`, or the error code. */
export function outcomeOf(event: NormalizedEvent): string {
  if (event.errorCode) return event.errorCode;
  // AgentCore gateway data events report failures in the response, not in errorCode.
  const status = at(event.record, 'responseElements.statusCode');
  if (typeof status === 'number' && status >= 400) return `HTTP ${status}`;
  return 'success';
}
