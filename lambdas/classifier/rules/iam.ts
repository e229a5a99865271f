/**
 * IAM (`iam.amazonaws.com`): long-term Bedrock API keys. A long-term key is an IAM
 * service-specific credential for `bedrock.amazonaws.com` (IAM API Reference,
 * "CreateServiceSpecificCredential", "ServiceSpecificCredential"); the console makes a user
 * `BedrockAPIKey-<suffix>` for it, and the API can attach one to any user, at most two per user.
 * It works from anywhere, as that user, until it expires (`credentialAgeDays`) or is deleted.
 *
 * Update, reset and delete name only the user and the credential id, and serve CodeCommit and
 * Keyspaces credentials too: they change only keys the inventory knows, or any key of a
 * console-made `BedrockAPIKey-*` user (so a delete that arrives before its create still wins).
 * IAM logs to us-east-1.
 */
import { bedrockApiKeyArn } from '../../core/arn';
import { eventSignal, fieldSignal, str } from '../evidence';
import type { Collector } from '../collector';
import type { NormalizedEvent } from '../types';
import type { Rule } from './bedrock';

export const BEDROCK_SERVICE_NAME = 'bedrock.amazonaws.com';
/** The user the console creates for a key it makes. */
export const CONSOLE_KEY_USER = /^BedrockAPIKey-/;
const CREDENTIAL = 'responseElements.serviceSpecificCredential';

/** IAM's CloudTrail dates ("Nov 30, 2026, 10:00:00 AM", UTC without a zone) or ISO ones, as ISO. */
export function iamDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const iso = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Date.parse(`${value} UTC`);
  return Number.isNaN(iso) ? undefined : new Date(iso).toISOString();
}

const keyArn = (e: NormalizedEvent, userName: string, id: string) => bedrockApiKeyArn(e.partition, e.account, userName, id);

function created(c: Collector): void {
  const e = c.event;
  if (str(e.record, 'requestParameters.serviceName') !== BEDROCK_SERVICE_NAME) {
    c.ignore('a service-specific credential for another service');
    return;
  }
  const userName = str(e.record, `${CREDENTIAL}.userName`) ?? str(e.record, 'requestParameters.userName');
  const id = str(e.record, `${CREDENTIAL}.serviceSpecificCredentialId`);
  if (e.errorCode || !userName || !id) return;
  const arn = keyArn(e, userName, id);
  const expiresAt = iamDate(str(e.record, `${CREDENTIAL}.expirationDate`));
  const creator = c.principalArn;
  c.resource('bedrock-api-key', arn, {
    signals: [fieldSignal(e, `${CREDENTIAL}.serviceSpecificCredentialId`, 'a long-term Bedrock API key'), fieldSignal(e, 'requestParameters.serviceName')],
    attributes: {
      userName,
      credentialId: id,
      createdAt: iamDate(str(e.record, `${CREDENTIAL}.createDate`)) ?? e.time,
      ...(expiresAt ? { expiresAt } : {}),
      // IAM's own status (Active, Inactive, Expired): `status` is the inventory's lifecycle.
      keyStatus: str(e.record, `${CREDENTIAL}.status`) ?? 'Active',
      ...(creator ? { createdBy: creator } : {}),
      alias: str(e.record, `${CREDENTIAL}.serviceCredentialAlias`),
    },
  });
  // Worse: a key on an existing user (all of that user's Bedrock permissions, hidden among its
  // other credentials) rather than the console's own key user; or minted with a long-term access key.
  const existingUser = !CONSOLE_KEY_USER.test(userName);
  const longTermCaller = /^AKIA/.test(str(e.record, 'userIdentity.accessKeyId') ?? '');
  const why = [existingUser ? `on the existing user ${userName} (not a BedrockAPIKey-* key user)` : '', longTermCaller ? 'by a caller using a long-term access key' : ''].filter(Boolean);
  c.finding('bedrock-api-key-created', {
    resource: arn,
    ...(why.length ? { severity: 'high' as const } : {}),
    summary: `A long-term Bedrock API key was created for ${userName}${why.length ? `, ${why.join(' and ')}` : ''}; it ${expiresAt ? `expires ${expiresAt}` : 'never expires'} and works from anywhere until deleted.`,
    signals: [
      eventSignal(e, 'long-term Bedrock API key created'),
      fieldSignal(e, `${CREDENTIAL}.userName`),
      ...(longTermCaller ? [fieldSignal(e, 'userIdentity.accessKeyId', 'a long-term access key')] : []),
      ...(expiresAt ? [fieldSignal(e, `${CREDENTIAL}.expirationDate`)] : []),
    ],
  });
}

/** A known key's status set, reset or removed. */
function changed(update: (c: Collector) => { status?: 'deleted'; attributes: Record<string, string>; note: string } | undefined): Rule {
  return (c) => {
    const userName = str(c.event.record, 'requestParameters.userName');
    const id = str(c.event.record, 'requestParameters.serviceSpecificCredentialId');
    const change = update(c);
    if (!userName || !id || !change) return;
    c.resource('bedrock-api-key', keyArn(c.event, userName, id), {
      // A console key user's credential is a Bedrock key whatever arrives first; another user's
      // may be a CodeCommit or Keyspaces one, so only a key the inventory knows changes.
      onlyIfKnown: !CONSOLE_KEY_USER.test(userName),
      ...(change.status ? { status: change.status } : {}),
      signals: [fieldSignal(c.event, 'requestParameters.serviceSpecificCredentialId', change.note)],
      attributes: change.attributes,
    });
  };
}

export const IAM_RULES: Record<string, Rule> = {
  CreateServiceSpecificCredential: created,
  UpdateServiceSpecificCredential: changed((c) => {
    const status = str(c.event.record, 'requestParameters.status');
    return status ? { attributes: { keyStatus: status, keyStatusChangedAt: c.event.time }, note: `key set ${status}` } : undefined;
  }),
  ResetServiceSpecificCredential: changed((c) => ({ attributes: { resetAt: c.event.time }, note: 'key secret reset' })),
  DeleteServiceSpecificCredential: changed(() => ({ status: 'deleted', attributes: {}, note: 'key deleted' })),
};
