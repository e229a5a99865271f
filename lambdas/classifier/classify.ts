/**
 * classify: one normalized CloudTrail event in, the AI resources, principal and findings it
 * reveals out. Pure: no I/O, no clock, no SDK; the same event always yields the same decision.
 *
 * Each service has a table of rules keyed by event name (rules/*.ts). An event with no rule of
 * its own still counts when it names AI resources: ARNs in `resources[]` or in its request and
 * response are mapped to kinds by their resource type (arn.ts), so `ListTags` on a notebook
 * reveals the notebook. Calls by ai-visibility's own roles are dropped.
 */
import { kindOfArn } from '../core/arn';
import { own } from '../core/own';
import { Collector } from './collector';
import { eventSignal, signal } from './evidence';
import { identifyPrincipal, isOwnActivity } from './principal';
import { AGENTCORE_RULES } from './rules/agentcore';
import { BEDROCK_RULES, type Rule } from './rules/bedrock';
import { EC2_RULES } from './rules/ec2';
import { GUARDDUTY_RULES } from './rules/guardduty';
import { IAM_RULES } from './rules/iam';
import { MARKETPLACE_RULES } from './rules/marketplace';
import { S3_RULES } from './rules/s3';
import { SAGEMAKER_RULES } from './rules/sagemaker';
import type { Classification, NormalizedEvent } from './types';

const RULES_BY_SOURCE: Record<string, { rules: Record<string, Rule>; ai: boolean }> = {
  'bedrock.amazonaws.com': { rules: BEDROCK_RULES, ai: true },
  'bedrock-agentcore.amazonaws.com': { rules: AGENTCORE_RULES, ai: true },
  'sagemaker.amazonaws.com': { rules: SAGEMAKER_RULES, ai: true },
  'ec2.amazonaws.com': { rules: EC2_RULES, ai: false },
  's3.amazonaws.com': { rules: S3_RULES, ai: false },
  'agreement-marketplace.amazonaws.com': { rules: MARKETPLACE_RULES, ai: false },
  'iam.amazonaws.com': { rules: IAM_RULES, ai: false },
  'guardduty.amazonaws.com': { rules: GUARDDUTY_RULES, ai: false },
};

const MAX_SCANNED_STRINGS = 200;
export const OWN_ACTIVITY = 'own activity of ai-visibility';

/** Strings that look like ARNs, from resources[], the request and the response (bounded). */
function arnsIn(event: NormalizedEvent): Array<{ path: string; arn: string }> {
  const found: Array<{ path: string; arn: string }> = [];
  let scanned = 0;
  const walk = (node: unknown, path: string, depth: number) => {
    if (scanned >= MAX_SCANNED_STRINGS || depth > 4 || node === null || node === undefined) return;
    if (typeof node === 'string') {
      scanned++;
      if (node.startsWith('arn:')) found.push({ path, arn: node });
    } else if (Array.isArray(node)) {
      node.forEach((v, i) => walk(v, `${path}.${i}`, depth + 1));
    } else if (typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k, depth + 1);
    }
  };
  (event.record.resources ?? []).forEach((r, i) => walk(r?.ARN ?? r?.arn, `resources.${i}.ARN`, 1));
  walk(event.record.requestParameters, 'requestParameters', 0);
  walk(event.record.responseElements, 'responseElements', 0);
  return found;
}

/** Record every AI resource the event names; never marks anything deleted (no rule said so). */
function discover(c: Collector): void {
  // A deletion is not a sighting of a live resource; a tag removal (SageMaker DeleteTags) is.
  if (c.event.eventName.startsWith('Delete') && c.event.eventName !== 'DeleteTags') return;
  for (const { path, arn } of arnsIn(c.event)) {
    const known = kindOfArn(arn);
    if (!known) continue;
    c.resource(known.kind, known.arn, {
      signals: [eventSignal(c.event), signal(c.event, path, arn, `ARN of a ${known.kind}`)],
      ...(known.kind === 'foundation-model' ? { account: 'aws' } : {}),
    });
  }
}

export function classify(event: NormalizedEvent): Classification {
  if (isOwnActivity(event)) return { resources: [], findings: [], ignoredBecause: OWN_ACTIVITY };
  const service = own(RULES_BY_SOURCE, event.eventSource);
  if (!service) return { resources: [], findings: [], ignoredBecause: `event source ${event.eventSource} is not an AI source` };

  const collector = new Collector(event, identifyPrincipal(event));
  const rule = own(service.rules, event.eventName);
  if (rule) {
    rule(collector);
    // A specific rule that found nothing to record (e.g. an id missing) still lets the generic
    // ARN scan try, so a shape change in one API does not blind us to the resource.
    if (collector.recordedResources === 0 && service.ai) discover(collector);
  } else if (service.ai) {
    discover(collector);
  } else {
    collector.ignore(`${event.eventName} is not an AI-relevant ${event.eventSource} call`);
  }
  return collector.result();
}
