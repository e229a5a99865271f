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

/** Prefix of the tags users set to steer ai-visibility, and that it sets itself. */
export const TAG_PREFIX = 'ai-visibility:';
