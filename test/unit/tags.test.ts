/**
 * The owner tag learned from the events: tags in create requests and tag calls, in each
 * service's documented shape. The records are real ones or built from the documented API shapes
 * (test/fixtures/cloudtrail/SOURCES.md), with the tag parameters each API documents added.
 */
import { classify } from '../../lambdas/classifier/classify';
import { ownerTagOf } from '../../lambdas/classifier/tags';
import { OWNER_TAG_KEY } from '../../lambdas/core/constants';
import { aiFixture, documentedRecord, normalized } from '../helpers';

const KEY = OWNER_TAG_KEY;
const withParams = (record: Record<string, unknown>, params: Record<string, unknown>, eventName?: string) => ({
  ...record,
  ...(eventName ? { eventName } : {}),
  requestParameters: { ...(record.requestParameters as Record<string, unknown>), ...params },
});

describe('the owner tag in a request', () => {
  it('is found in each documented shape', () => {
    expect(ownerTagOf({ name: 'g', tags: [{ key: 'team', value: 'x' }, { key: KEY, value: 'ml-platform' }] }, 'CreateGuardrail', KEY)).toEqual({ owner: 'ml-platform', path: 'requestParameters.tags.1' });
    expect(ownerTagOf({ resourceARN: 'arn', tags: [{ key: KEY, value: 'data-eng' }] }, 'TagResource', KEY)?.owner).toBe('data-eng');
    expect(ownerTagOf({ EndpointName: 'e', Tags: [{ Key: KEY, Value: 'fraud' }] }, 'CreateEndpoint', KEY)?.owner).toBe('fraud');
    expect(ownerTagOf({ ResourceArn: 'arn', Tags: [{ Key: KEY, Value: 'fraud' }] }, 'AddTags', KEY)?.owner).toBe('fraud');
    expect(ownerTagOf({ tagSpecificationSet: { items: [{ resourceType: 'instance', tags: [{ key: KEY, value: 'research' }] }] } }, 'RunInstances', KEY)).toEqual({ owner: 'research', path: 'requestParameters.tagSpecificationSet.items.0.tags.0' });
    expect(ownerTagOf({ resourcesSet: { items: [{ resourceId: 'i-1' }] }, tagSet: { items: [{ key: KEY, value: 'research' }] } }, 'CreateTags', KEY)?.owner).toBe('research');
    expect(ownerTagOf({ agentRuntimeName: 'r', tags: { [KEY]: 'agents' } }, 'CreateAgentRuntime', KEY)?.owner).toBe('agents');
  });

  it('is removed by the untag calls', () => {
    expect(ownerTagOf({ resourceARN: 'arn', tagKeys: [KEY] }, 'UntagResource', KEY)).toEqual({ owner: null, path: 'requestParameters.tagKeys.0' });
    expect(ownerTagOf({ ResourceArn: 'arn', TagKeys: ['other', KEY] }, 'DeleteTags', KEY)?.owner).toBeNull();
    expect(ownerTagOf({ resourcesSet: { items: [{ resourceId: 'i-1' }] }, tagSet: { items: [{ key: KEY }] } }, 'DeleteTags', KEY)?.owner).toBeNull();
  });

  it('is absent when no tag names it, and never read from a prototype member', () => {
    expect(ownerTagOf({ tags: [{ key: 'team', value: 'x' }] }, 'CreateGuardrail', KEY)).toBeUndefined();
    expect(ownerTagOf({ tags: JSON.parse('{"__proto__": {"ai-visibility:owner": "evil"}}') as unknown }, 'CreateGuardrail', KEY)).toBeUndefined();
    expect(ownerTagOf(undefined, 'CreateGuardrail', KEY)).toBeUndefined();
  });
});

describe('the classifier records the owner on the resource', () => {
  it('from a create request (SageMaker CreateEndpoint, real record with the documented Tags added)', () => {
    const event = normalized(withParams(aiFixture('CreateEndpoint'), { Tags: [{ Key: KEY, Value: 'fraud-detection' }] }));
    const [resource] = classify(event).resources;
    expect(resource.attributes.owner).toBe('fraud-detection');
    expect(resource.signals).toContainEqual(expect.objectContaining({ path: 'requestParameters.Tags.0', value: 'fraud-detection', note: 'owner tag' }));
  });

  it('from a create request of Bedrock (CreateGuardrail, built from the documented shape) and EC2 (RunInstances)', () => {
    const guardrail = classify(normalized(withParams(documentedRecord('CreateGuardrail'), { tags: [{ key: KEY, value: 'ml-platform' }] }))).resources;
    expect(guardrail.map((r) => r.attributes.owner)).toContain('ml-platform');
    const instances = classify(normalized(withParams(documentedRecord('RunInstances'), { tagSpecificationSet: { items: [{ resourceType: 'instance', tags: [{ key: KEY, value: 'research' }] }] } }))).resources;
    expect(instances.length).toBeGreaterThan(0);
    for (const r of instances) expect(r.attributes.owner).toBe('research');
  });

  it('and none when the request carries no owner tag', () => {
    for (const r of classify(normalized(aiFixture('CreateEndpoint'))).resources) expect(r.attributes.owner).toBeUndefined();
  });
});
