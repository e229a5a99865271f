/**
 * A CloudTrail record as EventBridge carries it: the envelope CloudTrail delivers to the default
 * bus ("AWS API Call via CloudTrail" and its siblings), built from a log file's record. The trail
 * reader sends such envelopes to the capture queue, exactly as a capture rule would; the local
 * replay matches the stack's rules against them.
 */
import { sha256Hex } from '../core/hash';
import { CLOUDTRAIL_API_CALL } from '../core/constants';
import { own } from '../core/own';

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
    id: typeof record.eventID === 'string' ? record.eventID : sha256Hex(JSON.stringify(record)).slice(0, 32),
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
export function isReadOnlyManagementEvent(detail: Record<string, unknown>): boolean {
  const readOnly = detail.readOnly === true || detail.readOnly === 'true';
  const category = detail.eventCategory;
  const management = detail.managementEvent === true || detail.managementEvent === 'true' || category === 'Management' || (category === undefined && detail.managementEvent === undefined);
  return readOnly && management;
}

/** The EventBridge `source` of a CloudTrail event source. */
export function sourceOf(eventSource: string): string {
  return own(SOURCE_EXCEPTIONS, eventSource) ?? `aws.${eventSource.replace(/\.amazonaws\.com$/, '')}`;
}

