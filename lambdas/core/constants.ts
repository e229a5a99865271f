/**
 * Constants shared by the deployed Lambdas and the CDK app (the CDK side imports them from
 * here, never the other way round, so handlers bundle without CDK code).
 */

/**
 * IAM path of every role ai-visibility creates. CloudTrail records the path in
 * `userIdentity.sessionContext.sessionIssuer.arn`, which is how the capture rules and the
 * classifier recognise (and drop) the stack's own calls.
 */
export const OWN_ROLE_PATH = '/ai-visibility/';
/** Organization mode: the role the hub assumes in each member account (`<OWN_ROLE_PATH><name>`, docs/organization.md). */
export const MEMBER_ROLE_NAME = 'ai-visibility-member';

/** Prefix of the tags users set to steer ai-visibility, and that it sets itself. */
export const TAG_PREFIX = 'ai-visibility:';

/** The tag (value `true`) that declares an IAM role or user an AI agent. */
export const AGENT_TAG_KEY = `${TAG_PREFIX}agent`;

/** The tag whose value is a resource's owner: notifications are routed by it. */
export const OWNER_TAG_KEY = `${TAG_PREFIX}owner`;

/** `true` on a resource or principal: no findings, notifications or tags for it (docs/tagging.md). */
export const IGNORE_TAG_KEY = `${TAG_PREFIX}ignore`;

/** `true` on an accelerator resource: idle verdicts raise no finding (docs/tagging.md). */
export const EXPECTED_IDLE_TAG_KEY = `${TAG_PREFIX}expected-idle`;

/** `notify` or `stop` on an accelerator resource: the opt-in remediation of idle ones (docs/tagging.md). */
export const IDLE_ACTION_TAG_KEY = `${TAG_PREFIX}idle-action`;

/** The tags that steer the system, and the inventory attribute each becomes. */
export const CONTROL_TAGS = [
  { key: OWNER_TAG_KEY, attribute: 'owner' },
  { key: IGNORE_TAG_KEY, attribute: 'ignore' },
  { key: EXPECTED_IDLE_TAG_KEY, attribute: 'expectedIdle' },
  { key: IDLE_ACTION_TAG_KEY, attribute: 'idleAction' },
] as const;
export type ControlAttribute = (typeof CONTROL_TAGS)[number]['attribute'];

/** The control tags a principal (an IAM role or user) carries. */
export const PRINCIPAL_CONTROL_KEYS: readonly string[] = [OWNER_TAG_KEY, IGNORE_TAG_KEY];

/** The detail-type of CloudTrail API calls on EventBridge. */
export const CLOUDTRAIL_API_CALL = 'AWS API Call via CloudTrail';

/** The rule state that also delivers read-only management events (a plain ENABLED rule skips them). */
export const ENABLED_WITH_READ_ONLY_EVENTS = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

/**
 * How every capture rule, static or per agent, delivers to the capture queue: EventBridge
 * retries for a day, then hands the event to the dead-letter queue.
 */
export const CAPTURE_TARGET = { id: 'CaptureQueue', maximumEventAgeInSeconds: 86_400, maximumRetryAttempts: 185 } as const;

/**
 * Service events that are not CloudTrail records but carry what no CloudTrail record does, read
 * as a CloudTrail service event (`serviceEventDetails`) of their service. Amazon Bedrock's
 * "Model Customization Job State Change" names the custom model a job produced
 * (`detail.outputModelArn`): CreateModelCustomizationJob returns only the job.
 */
export const SERVICE_STATE_EVENTS: Record<string, { source: string; eventSource: string; eventName: string }> = {
  'Model Customization Job State Change': { source: 'aws.bedrock', eventSource: 'bedrock.amazonaws.com', eventName: 'ModelCustomizationJobStateChange' },
  // GuardDuty's findings (opt-in rule: guardDutyAiFindings), read as GuardDuty's own service event.
  'GuardDuty Finding': { source: 'aws.guardduty', eventSource: 'guardduty.amazonaws.com', eventName: 'GuardDutyFinding' },
};

/** Name prefix of the EventBridge rules the agent capture sync owns (lambdas/shared/agent-capture.ts). */
export const AGENT_RULE_PREFIX = 'ai-visibility-agents-';

/** EventBridge's default event-pattern size quota, in characters (raisable to 4,096 by request). */
export const DEFAULT_PATTERN_QUOTA = 2_048;

/** EventBridge rule names: at most 64 characters of [.\-_A-Za-z0-9] (PutRule API reference). */
export const MAX_RULE_NAME = 64;

/** The longest suffix an agent rule's name gets after its prefix (`roles-001`). */
export const AGENT_RULE_SUFFIX_CHARS = 'roles-001'.length;

/** The largest message SQS takes by default, and the largest event EventBridge delivers: 256 KiB (SQS Developer Guide, "Amazon SQS message quotas"). */
export const MAX_MESSAGE_BYTES = 256 * 1024;
