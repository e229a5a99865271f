/**
 * The records the classifier reads and the decisions it makes.
 *
 * Data flows one way: a raw input (EventBridge envelope or CloudTrail record) is normalized into
 * a `NormalizedEvent`; `classify` turns that into a `Classification` (resources, the principal,
 * findings: the observation types of the domain core), each part carrying the `Signal`s that
 * justify it; the item module turns those into table items.
 */
import type { FindingObservation, PrincipalObservation, ResourceObservation } from '../core/model';

/** A CloudTrail record as CloudTrail writes it (only the fields the classifier reads are typed). */
export interface CloudTrailRecord {
  eventVersion?: string;
  eventID?: string;
  eventTime?: string;
  eventSource?: string;
  eventName?: string;
  eventType?: string;
  eventCategory?: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  userIdentity?: UserIdentity;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown> | null;
  errorCode?: string;
  errorMessage?: string;
  readOnly?: boolean | string;
  managementEvent?: boolean | string;
  recipientAccountId?: string;
  sessionCredentialFromConsole?: boolean | string;
  resources?: Array<{ ARN?: string; arn?: string; type?: string; accountId?: string }>;
  [key: string]: unknown;
}

export interface UserIdentity {
  type?: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  userName?: string;
  invokedBy?: string;
  sessionContext?: {
    sessionIssuer?: { type?: string; principalId?: string; arn?: string; accountId?: string; userName?: string };
    attributes?: { creationDate?: string; mfaAuthenticated?: string };
    sourceIdentity?: string;
  };
  [key: string]: unknown;
}

/** A CloudTrail record that passed validation, with the fields every rule needs resolved. */
export interface NormalizedEvent {
  /** The CloudTrail eventID, or `derived:sha256:...` of the record when the exporter dropped it. */
  readonly eventId: string;
  readonly eventIdDerived: boolean;
  /** ISO 8601 UTC with milliseconds: comparable as a string. */
  readonly time: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly region: string;
  /** The account the event happened in (recipientAccountId), or the caller's account. */
  readonly account: string;
  readonly partition: string;
  readonly readOnly: boolean;
  readonly errorCode?: string;
  readonly record: CloudTrailRecord;
  /** What the typed boundary bounded or dropped (boundary.ts); empty for a well-formed record. */
  readonly notes: readonly string[];
}

export interface Classification {
  readonly resources: readonly ResourceObservation[];
  readonly principal?: PrincipalObservation;
  readonly findings: readonly FindingObservation[];
  /** Why nothing was recorded, when nothing was (e.g. "own activity", "not a GPU instance type"). */
  readonly ignoredBecause?: string;
}
