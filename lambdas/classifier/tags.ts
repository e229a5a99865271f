/**
 * The control tags in a request (owner, ignore, expected-idle, idle-action): tags in create
 * requests and tag calls, wherever each service puts them, so owner routing and the tag controls
 * work from the events alone (docs/tagging.md). Shapes, from the API
 * references of each: Bedrock and bedrock-agent `tags: [{key, value}]` or a `tags` map, and
 * `tagKeys` on UntagResource; SageMaker `Tags: [{Key, Value}]` (AddTags, Create*) and `TagKeys`
 * (DeleteTags); EC2 `tagSpecificationSet.items[].tags[]` (RunInstances) and `tagSet.items[]`
 * (CreateTags), `tagSet` on DeleteTags; AgentCore a `tags` map; IAM `tags: [{key, value}]`
 * (TagRole, TagUser, CreateRole, CreateUser) and `tagKeys` (UntagRole, UntagUser). Pure.
 */
import { cut, isPlainObject } from './boundary';
import { str } from './evidence';
import type { NormalizedEvent } from './types';
import { CONTROL_TAGS, PRINCIPAL_CONTROL_KEYS, type ControlAttribute } from '../core/constants';

export interface RequestTag {
  /** The tag's value, or null when the request removes the tag. */
  readonly value: string | null;
  /** Where in the record it was found. */
  readonly path: string;
}

const MAX_DEPTH = 5;
const REMOVAL_EVENTS = new Set(['UntagResource', 'DeleteTags', 'UntagRole', 'UntagUser']);

/** The tag of one key a request sets or removes, or undefined when it does neither. */
export function requestTagOf(requestParameters: unknown, eventName: string, tagKey: string): RequestTag | undefined {
  const removal = REMOVAL_EVENTS.has(eventName);
  let found: RequestTag | undefined;
  const visit = (value: unknown, path: string, depth: number): void => {
    if (found || depth > MAX_DEPTH || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        if (found) return;
        if (typeof v === 'string' && removal && v === tagKey && /tagkeys$/i.test(path)) found = { value: null, path: `${path}.${i}` };
        else if (isPlainObject(v)) {
          const k = v.key ?? v.Key;
          if (k === tagKey) {
            const val = v.value ?? v.Value;
            found = removal ? { value: null, path: `${path}.${i}` } : typeof val === 'string' && val ? { value: val, path: `${path}.${i}` } : undefined;
          } else visit(v, `${path}.${i}`, depth + 1);
        }
      });
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      if (found) return;
      // A tags map: {"ai-visibility:owner": "ml-platform"}.
      if (/^tags$/i.test(k) && isPlainObject(v) && Object.hasOwn(v, tagKey)) {
        const val = v[tagKey];
        if (typeof val === 'string' && val) found = { value: removal ? null : val, path: `${path}.${k}` };
        return;
      }
      visit(v, path ? `${path}.${k}` : k, depth + 1);
    }
  };
  visit(requestParameters, 'requestParameters', 0);
  return found;
}

/** A control tag a request sets or removes: its key, the inventory attribute, the value (null: removed). */
export interface ControlTag extends RequestTag {
  readonly key: string;
  readonly attribute: ControlAttribute;
}

/** The control tags (owner, ignore, expected-idle, idle-action) a request sets or removes, values cut to 256 characters. */
export function controlTagsOf(requestParameters: unknown, eventName: string, keys: readonly string[] = CONTROL_TAGS.map((t) => t.key)): ControlTag[] {
  const out: ControlTag[] = [];
  for (const { key, attribute } of CONTROL_TAGS) {
    if (!keys.includes(key)) continue;
    const tag = requestTagOf(requestParameters, eventName, key);
    if (tag) out.push({ key, attribute, value: tag.value === null ? null : cut(tag.value, 256), path: tag.path });
  }
  return out;
}

/** The control tags an IAM call sets on or removes from a role or user. */
export interface PrincipalTags {
  /** The canonical ARN of the role or user (no path: the events name it by name alone). */
  readonly principal: string;
  readonly tags: readonly ControlTag[];
}

/** The IAM calls that tag a role or user, and the request field that names it. */
const IAM_TAG_CALLS: Readonly<Record<string, 'role' | 'user'>> = {
  TagRole: 'role',
  UntagRole: 'role',
  CreateRole: 'role',
  TagUser: 'user',
  UntagUser: 'user',
  CreateUser: 'user',
};

/**
 * The owner and ignore tags an IAM call sets on or removes from a role or user, or undefined. A
 * failed call changed nothing. The account is the one the event was recorded in (IAM is global:
 * the role is the account's own).
 */
export function principalTagsOf(event: NormalizedEvent): PrincipalTags | undefined {
  if (event.errorCode || event.eventSource !== 'iam.amazonaws.com' || !Object.hasOwn(IAM_TAG_CALLS, event.eventName)) return undefined;
  const entity = IAM_TAG_CALLS[event.eventName];
  const name = str(event.record, `requestParameters.${entity}Name`);
  const account = event.account;
  if (!name || name.includes('/') || !/^\d{12}$/.test(account)) return undefined;
  const tags = controlTagsOf(event.record.requestParameters, event.eventName, PRINCIPAL_CONTROL_KEYS);
  return tags.length > 0 ? { principal: `arn:${event.partition}:iam::${account}:${entity}/${name}`, tags } : undefined;
}
