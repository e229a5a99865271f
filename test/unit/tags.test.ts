/**
 * The owner tag learned from the events: tags in create requests and tag calls, in each
 * service's documented shape. The records are real ones or built from the documented API shapes
 * (test/fixtures/cloudtrail/SOURCES.md), with the tag parameters each API documents added.
 */
import { classify } from '../../lambdas/classifier/classify';
import { requestTagOf, principalTagsOf } from '../../lambdas/classifier/tags';
import { taggedPrincipalOf } from '../../lambdas/core/arn';
import { EXPECTED_IDLE_TAG_KEY, IDLE_ACTION_TAG_KEY, IGNORE_TAG_KEY, OWNER_TAG_KEY } from '../../lambdas/core/constants';
import { aiFixture, documentedRecord, FIXTURES, normalized, readJson } from '../helpers';

const KEY = OWNER_TAG_KEY;
/** A principal's owner tag as principalTagsOf reports it. */
const principalOwnerOf = (event: ReturnType<typeof normalized>, key: string) => {
  const p = principalTagsOf(event);
  const t = p?.tags.find((x) => x.key === key);
  return p && t ? { principal: p.principal, owner: t.value, path: t.path } : undefined;
};
const documentedActivity = (eventName: string) => structuredClone((readJson(`${FIXTURES}/documented/agents-2-activity.json`).Records as Record<string, unknown>[]).find((r) => r.eventName === eventName)!);
const withParams = (record: Record<string, unknown>, params: Record<string, unknown>, eventName?: string) => ({
  ...record,
  ...(eventName ? { eventName } : {}),
  requestParameters: { ...(record.requestParameters as Record<string, unknown>), ...params },
});

describe('the owner tag in a request', () => {
  it('is found in each documented shape', () => {
    expect(requestTagOf({ name: 'g', tags: [{ key: 'team', value: 'x' }, { key: KEY, value: 'ml-platform' }] }, 'CreateGuardrail', KEY)).toEqual({ value: 'ml-platform', path: 'requestParameters.tags.1' });
    expect(requestTagOf({ resourceARN: 'arn', tags: [{ key: KEY, value: 'data-eng' }] }, 'TagResource', KEY)?.value).toBe('data-eng');
    expect(requestTagOf({ EndpointName: 'e', Tags: [{ Key: KEY, Value: 'fraud' }] }, 'CreateEndpoint', KEY)?.value).toBe('fraud');
    expect(requestTagOf({ ResourceArn: 'arn', Tags: [{ Key: KEY, Value: 'fraud' }] }, 'AddTags', KEY)?.value).toBe('fraud');
    expect(requestTagOf({ tagSpecificationSet: { items: [{ resourceType: 'instance', tags: [{ key: KEY, value: 'research' }] }] } }, 'RunInstances', KEY)).toEqual({ value: 'research', path: 'requestParameters.tagSpecificationSet.items.0.tags.0' });
    expect(requestTagOf({ resourcesSet: { items: [{ resourceId: 'i-1' }] }, tagSet: { items: [{ key: KEY, value: 'research' }] } }, 'CreateTags', KEY)?.value).toBe('research');
    expect(requestTagOf({ agentRuntimeName: 'r', tags: { [KEY]: 'agents' } }, 'CreateAgentRuntime', KEY)?.value).toBe('agents');
  });

  it('is removed by the untag calls', () => {
    expect(requestTagOf({ resourceARN: 'arn', tagKeys: [KEY] }, 'UntagResource', KEY)).toEqual({ value: null, path: 'requestParameters.tagKeys.0' });
    expect(requestTagOf({ ResourceArn: 'arn', TagKeys: ['other', KEY] }, 'DeleteTags', KEY)?.value).toBeNull();
    expect(requestTagOf({ resourcesSet: { items: [{ resourceId: 'i-1' }] }, tagSet: { items: [{ key: KEY }] } }, 'DeleteTags', KEY)?.value).toBeNull();
  });

  it('is absent when no tag names it, and never read from a prototype member', () => {
    expect(requestTagOf({ tags: [{ key: 'team', value: 'x' }] }, 'CreateGuardrail', KEY)).toBeUndefined();
    expect(requestTagOf({ tags: JSON.parse('{"__proto__": {"ai-visibility:owner": "evil"}}') as unknown }, 'CreateGuardrail', KEY)).toBeUndefined();
    expect(requestTagOf(undefined, 'CreateGuardrail', KEY)).toBeUndefined();
  });
});

describe('the classifier records the owner on the resource', () => {
  it('from a create request (SageMaker CreateEndpoint, real record with the documented Tags added)', () => {
    const event = normalized(withParams(aiFixture('CreateEndpoint'), { Tags: [{ Key: KEY, Value: 'fraud-detection' }] }));
    const [resource] = classify(event).resources;
    expect(resource.attributes.owner).toBe('fraud-detection');
    expect(resource.signals).toContainEqual(expect.objectContaining({ path: 'requestParameters.Tags.0', value: 'fraud-detection', note: 'ai-visibility:owner tag' }));
  });

  it('from a create request of Bedrock (CreateGuardrail, built from the documented shape) and EC2 (RunInstances)', () => {
    const guardrail = classify(normalized(withParams(documentedRecord('CreateGuardrail'), { tags: [{ key: KEY, value: 'ml-platform' }] }))).resources;
    expect(guardrail.map((r) => r.attributes.owner)).toContain('ml-platform');
    const instances = classify(normalized(withParams(documentedRecord('RunInstances'), { tagSpecificationSet: { items: [{ resourceType: 'instance', tags: [{ key: KEY, value: 'research' }] }] } }))).resources;
    expect(instances.length).toBeGreaterThan(0);
    for (const r of instances) expect(r.attributes.owner).toBe('research');
  });

  it('from SageMaker AddTags, and removed by DeleteTags, a tag call and not a deletion (built from the API reference request shape)', () => {
    const endpoint = 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-model';
    const call = (eventName: string, requestParameters: Record<string, unknown>) => normalized({ ...aiFixture('CreateEndpoint'), eventName, requestParameters, responseElements: null });
    expect(classify(call('AddTags', { resourceArn: endpoint, tags: [{ key: KEY, value: 'fraud-detection' }] })).resources).toEqual([expect.objectContaining({ arn: endpoint, attributes: { owner: 'fraud-detection' } })]);
    expect(classify(call('DeleteTags', { resourceArn: endpoint, tagKeys: [KEY] })).resources).toEqual([expect.objectContaining({ arn: endpoint, status: 'active', attributes: { owner: '' } })]);
  });

  it('and none when the request carries no owner tag', () => {
    for (const r of classify(normalized(aiFixture('CreateEndpoint'))).resources) expect(r.attributes.owner).toBeUndefined();
  });
});

describe("a principal's owner tag, from the IAM calls that set or remove it", () => {
  // The IAM record shape of the documented agent activity (AttachRolePolicy), with the TagRole,
  // TagUser, CreateRole, UntagRole and UntagUser parameters the IAM API reference documents
  // (RoleName/UserName, Tags, TagKeys; CloudTrail writes them camelCased).
  const iam = (eventName: string, requestParameters: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    normalized({ ...documentedActivity('AttachRolePolicy'), eventName, eventID: `${eventName}-1`, requestParameters, ...extra });

  it('names the role or user, canonical, with the owner and where it was', () => {
    expect(principalOwnerOf(iam('TagRole', { roleName: 'triage-bot', tags: [{ key: 'team', value: 'x' }, { key: KEY, value: 'ml-platform' }] }), KEY)).toEqual({
      principal: 'arn:aws:iam::111122223333:role/triage-bot',
      owner: 'ml-platform',
      path: 'requestParameters.tags.1',
    });
    expect(principalOwnerOf(iam('TagUser', { userName: 'bob', tags: [{ key: KEY, value: 'data-eng' }] }), KEY)).toMatchObject({ principal: 'arn:aws:iam::111122223333:user/bob', owner: 'data-eng' });
    expect(principalOwnerOf(iam('CreateRole', { roleName: 'etl', path: '/service-role/', assumeRolePolicyDocument: '{}', tags: [{ key: KEY, value: 'data-eng' }] }), KEY)).toMatchObject({ principal: 'arn:aws:iam::111122223333:role/etl', owner: 'data-eng' });
    expect(principalOwnerOf(iam('CreateUser', { userName: 'ci', tags: [{ key: KEY, value: 'platform' }] }), KEY)?.principal).toBe('arn:aws:iam::111122223333:user/ci');
  });

  it('is removed by UntagRole and UntagUser naming the key, and untouched by those that do not', () => {
    expect(principalOwnerOf(iam('UntagRole', { roleName: 'triage-bot', tagKeys: ['team', KEY] }), KEY)).toEqual({ principal: 'arn:aws:iam::111122223333:role/triage-bot', owner: null, path: 'requestParameters.tagKeys.1' });
    expect(principalOwnerOf(iam('UntagUser', { userName: 'bob', tagKeys: [KEY] }), KEY)?.owner).toBeNull();
    expect(principalOwnerOf(iam('UntagRole', { roleName: 'triage-bot', tagKeys: ['team'] }), KEY)).toBeUndefined();
  });

  it('is nothing for a failed call, another tag, another service or event, or a name that is not one', () => {
    const tags = [{ key: KEY, value: 'ml-platform' }];
    expect(principalOwnerOf(iam('TagRole', { roleName: 'triage-bot', tags }, { errorCode: 'AccessDenied', errorMessage: 'denied' }), KEY)).toBeUndefined();
    expect(principalOwnerOf(iam('TagRole', { roleName: 'triage-bot', tags: [{ key: 'team', value: 'x' }] }), KEY)).toBeUndefined();
    expect(principalOwnerOf(iam('TagPolicy', { policyArn: 'arn:aws:iam::111122223333:policy/p', tags }), KEY)).toBeUndefined();
    expect(principalOwnerOf(iam('TagRole', { roleName: 'a/b', tags }), KEY)).toBeUndefined();
    expect(principalOwnerOf(iam('TagRole', { tags }), KEY)).toBeUndefined();
    expect(principalOwnerOf(normalized(withParams(aiFixture('CreateEndpoint'), { Tags: [{ Key: KEY, Value: 'fraud' }] })), KEY)).toBeUndefined();
  });
});

describe('the principal whose tags an owner is read from', () => {
  it('is the role behind a session, the role or user itself without its path, and nothing IAM cannot tag', () => {
    expect(taggedPrincipalOf('arn:aws:sts::111122223333:assumed-role/DevAdmin/mallory')).toBe('arn:aws:iam::111122223333:role/DevAdmin');
    expect(taggedPrincipalOf('arn:aws:iam::111122223333:role/service-role/support-tools-role')).toBe('arn:aws:iam::111122223333:role/support-tools-role');
    expect(taggedPrincipalOf('arn:aws:iam::111122223333:user/bob')).toBe('arn:aws:iam::111122223333:user/bob');
    expect(taggedPrincipalOf('arn:aws:iam::111122223333:root')).toBeUndefined();
    expect(taggedPrincipalOf('urn:ai-visibility:jwt:https://issuer#sub')).toBeUndefined();
  });
});

describe("an instance's owner tag set after launch (EC2 CreateTags, DeleteTags)", () => {
  // The documented RunInstances record's shape, with the CreateTags/DeleteTags parameters of the
  // EC2 API reference (resourcesSet of ids, tagSet of key/value items).
  const tagCall = (eventName: string, resourceIds: string[], tags: Array<{ key: string; value?: string }>) => {
    const run = documentedRecord('RunInstances');
    return { ...run, eventName, eventID: `${eventName}-1`, requestParameters: { resourcesSet: { items: resourceIds.map((resourceId) => ({ resourceId })) }, tagSet: { items: tags } }, responseElements: { _return: true } };
  };

  it('records the owner on each instance named, only where the inventory knows it as a GPU instance', () => {
    const { resources } = classify(normalized(tagCall('CreateTags', ['vol-0123', 'i-0gpu0000000000001'], [{ key: 'team', value: 'x' }, { key: KEY, value: 'research' }])));
    expect(resources).toEqual([expect.objectContaining({ arn: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0gpu0000000000001', kind: 'gpu-instance', onlyIfKnown: true, attributes: { owner: 'research' } })]);
    const removed = classify(normalized(tagCall('DeleteTags', ['i-0gpu0000000000001'], [{ key: KEY }]))).resources;
    expect(removed.map((r) => r.attributes.owner)).toEqual(['']);
  });

  it('ignores a call that touches another tag or no instance', () => {
    expect(classify(normalized(tagCall('CreateTags', ['i-0gpu0000000000001'], [{ key: 'team', value: 'x' }]))).ignoredBecause).toMatch(/touches no control tag/);
    expect(classify(normalized(tagCall('CreateTags', ['vol-0123'], [{ key: KEY, value: 'research' }]))).ignoredBecause).toMatch(/tags no instance/);
  });
});

describe('the control tags (ignore, expected-idle, idle-action) beside the owner', () => {
  it('become ordered attributes on the resource, with who set or removed ignore and when', () => {
    const event = normalized(withParams(documentedRecord('CreateGuardrail'), { tags: [{ key: IGNORE_TAG_KEY, value: 'true' }, { key: OWNER_TAG_KEY, value: 'ml' }] }));
    const [guardrail] = classify(event).resources;
    expect(guardrail.attributes).toMatchObject({ ignore: 'true', owner: 'ml', ignoreSetBy: { by: expect.stringMatching(/^arn:/), at: event.time, eventId: event.eventId, value: 'true' } });
    const removed = classify(normalized(withParams(documentedRecord('CreateGuardrail'), { tags: undefined, tagKeys: [IGNORE_TAG_KEY] }, 'UntagResource'))).resources;
    expect(removed.length).toBeGreaterThan(0);
    for (const r of removed) expect(r.attributes).toMatchObject({ ignore: '', ignoreSetBy: { value: '' } });
    const instance = classify(normalized(withParams(documentedRecord('RunInstances'), { tagSpecificationSet: { items: [{ resourceType: 'instance', tags: [{ key: EXPECTED_IDLE_TAG_KEY, value: 'true' }, { key: IDLE_ACTION_TAG_KEY, value: 'stop' }] }] } }))).resources;
    expect(instance.length).toBeGreaterThan(0);
    for (const r of instance) expect(r.attributes).toMatchObject({ expectedIdle: 'true', idleAction: 'stop' });
  });

  it("of a principal are its owner and ignore, from IAM's tag calls", () => {
    const iam = normalized({ ...(readJson(`${FIXTURES}/documented/agents-2-activity.json`).Records as Record<string, unknown>[]).find((r) => r.eventName === 'AttachRolePolicy')!, eventName: 'TagRole', requestParameters: { roleName: 'ci', tags: [{ key: IGNORE_TAG_KEY, value: 'true' }, { key: EXPECTED_IDLE_TAG_KEY, value: 'true' }] } });
    expect(principalTagsOf(iam)).toEqual({ principal: 'arn:aws:iam::111122223333:role/ci', tags: [{ key: IGNORE_TAG_KEY, attribute: 'ignore', value: 'true', path: 'requestParameters.tags.0' }] });
  });
});
