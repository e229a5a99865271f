/**
 * The owner tag in a request: tags in create requests and tag calls, wherever each service puts
 * them, so owner routing (notifications) works from the events alone. Shapes, from the API
 * references of each: Bedrock and bedrock-agent `tags: [{key, value}]` or a `tags` map, and
 * `tagKeys` on UntagResource; SageMaker `Tags: [{Key, Value}]` (AddTags, Create*) and `TagKeys`
 * (DeleteTags); EC2 `tagSpecificationSet.items[].tags[]` (RunInstances) and `tagSet.items[]`
 * (CreateTags), `tagSet` on DeleteTags; AgentCore a `tags` map. Pure.
 */
import { isPlainObject } from './boundary';

export interface OwnerTag {
  /** The owner, or null when the request removes the tag. */
  readonly owner: string | null;
  /** Where in the record it was found. */
  readonly path: string;
}

const MAX_DEPTH = 5;
const REMOVAL_EVENTS = new Set(['UntagResource', 'DeleteTags']);

/** The owner tag a request sets or removes, or undefined when it does neither. */
export function ownerTagOf(requestParameters: unknown, eventName: string, tagKey: string): OwnerTag | undefined {
  const removal = REMOVAL_EVENTS.has(eventName);
  let found: OwnerTag | undefined;
  const visit = (value: unknown, path: string, depth: number): void => {
    if (found || depth > MAX_DEPTH || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        if (found) return;
        if (typeof v === 'string' && removal && v === tagKey && /tagkeys$/i.test(path)) found = { owner: null, path: `${path}.${i}` };
        else if (isPlainObject(v)) {
          const k = v.key ?? v.Key;
          if (k === tagKey) {
            const val = v.value ?? v.Value;
            found = removal ? { owner: null, path: `${path}.${i}` } : typeof val === 'string' && val ? { owner: val, path: `${path}.${i}` } : undefined;
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
        if (typeof val === 'string' && val) found = { owner: removal ? null : val, path: `${path}.${k}` };
        return;
      }
      visit(v, path ? `${path}.${k}` : k, depth + 1);
    }
  };
  visit(requestParameters, 'requestParameters', 0);
  return found;
}
