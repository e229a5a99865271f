/**
 * The replay's EventBridge matcher against the documented semantics: examples and expected
 * outcomes come from the EventBridge user guide ("Content filtering", "Comparison operators",
 * "Arrays in event patterns") and the event-ruler README, the engine behind EventBridge.
 */
import { compileEventPattern, EventPatternError } from '../../lambdas/shared/event-pattern';

// The sample event of the event-ruler README.
const EC2_EVENT = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, 'source-ip': '10.0.0.33', 'instance-id': 'i-000000aaaaaa00000', state: 'running' },
};

const matches = (pattern: object, event: unknown = EC2_EVENT) => compileEventPattern(pattern)(event);

describe('exact and list matching', () => {
  it('matches when every field matches one of its listed values (README "Simple matching")', () => {
    expect(
      matches({
        'detail-type': ['EC2 Instance State-change Notification'],
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
        detail: { state: ['initializing', 'running'] },
      }),
    ).toBe(true);
    expect(matches({ detail: { state: ['initializing', 'stopped'] } })).toBe(false);
  });

  it('requires every field named in the pattern to be present', () => {
    expect(matches({ detail: { missing: ['anything'] } })).toBe(false);
    expect(matches({ nothere: { state: ['running'] } })).toBe(false);
  });

  it('matches an array in the event when any element is listed', () => {
    expect(matches({ resources: ['arn:other', 'arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'] })).toBe(true);
    expect(matches({ tags: ['b'] }, { tags: ['a', 'b'] })).toBe(true);
  });

  it('compares numbers numerically and types strictly', () => {
    expect(matches({ detail: { 'c-count': [5] } })).toBe(true);
    expect(matches({ detail: { 'c-count': ['5'] } })).toBe(false);
    expect(matches({ detail: { 'x-limit': [3.018e2] } })).toBe(true);
  });

  it('matches null and the empty string as values (null-values page)', () => {
    expect(matches({ a: [null] }, { a: null })).toBe(true);
    expect(matches({ a: [null] }, { a: '' })).toBe(false);
    expect(matches({ a: [''] }, { a: '' })).toBe(true);
  });
});

describe('string operators', () => {
  it('prefix (README: time starts with 2017-10-02)', () => {
    expect(matches({ time: [{ prefix: '2017-10-02' }] })).toBe(true);
    expect(matches({ time: [{ prefix: '2017-10-03' }] })).toBe(false);
  });

  it('prefix and suffix with equals-ignore-case', () => {
    expect(matches({ source: [{ prefix: { 'equals-ignore-case': 'AWS.' } }] })).toBe(true);
    expect(matches({ key: [{ suffix: { 'equals-ignore-case': '.png' } }] }, { key: 'photo.PNG' })).toBe(true);
    expect(matches({ key: [{ suffix: '.png' }] }, { key: 'photo.PNG' })).toBe(false);
  });

  it('suffix and equals-ignore-case (README: source ends with ec2, equals EC2 ignoring case)', () => {
    expect(matches({ source: [{ suffix: 'ec2' }] })).toBe(true);
    expect(matches({ source: [{ 'equals-ignore-case': 'AWS.EC2' }] })).toBe(true);
    expect(matches({ source: [{ 'equals-ignore-case': 'aws.ec' }] })).toBe(false);
  });

  it('wildcard with escapes (README: "Simple*Service")', () => {
    expect(matches({ s: [{ wildcard: 'Simple*Service' }] }, { s: 'SimpleQueueService' })).toBe(true);
    expect(matches({ s: [{ wildcard: 'Simple*Service' }] }, { s: 'SimpleService' })).toBe(true);
    expect(matches({ s: [{ wildcard: 'Simple*Service' }] }, { s: 'SimpleQueueServices' })).toBe(false);
    expect(matches({ s: [{ wildcard: 'a\\*b' }] }, { s: 'a*b' })).toBe(true);
    expect(matches({ s: [{ wildcard: 'a\\*b' }] }, { s: 'axb' })).toBe(false);
    expect(matches({ s: [{ wildcard: 'a.b*' }] }, { s: 'aXb' })).toBe(false);
  });

  it('string operators never match numbers', () => {
    expect(matches({ detail: { 'c-count': [{ prefix: '5' }] } })).toBe(false);
  });
});

describe('anything-but', () => {
  it('excludes one value, a list, or a prefix (user guide examples)', () => {
    expect(matches({ detail: { state: [{ 'anything-but': 'initializing' }] } })).toBe(true);
    expect(matches({ detail: { state: [{ 'anything-but': 'running' }] } })).toBe(false);
    expect(matches({ detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } })).toBe(true);
    expect(matches({ detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } })).toBe(false);
    expect(matches({ detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } })).toBe(true);
    expect(matches({ detail: { 'x-limit': [{ 'anything-but': 301.8 }] } })).toBe(false);
    expect(matches({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } })).toBe(true);
    expect(matches({ detail: { state: [{ 'anything-but': { prefix: 'run' } }] } })).toBe(false);
  });

  it('excludes suffixes, case-insensitive values and wildcards (operators table)', () => {
    expect(matches({ f: [{ 'anything-but': { suffix: '.png' } }] }, { f: 'a.png' })).toBe(false);
    expect(matches({ f: [{ 'anything-but': { suffix: '.png' } }] }, { f: 'a.jpg' })).toBe(true);
    expect(matches({ s: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] }, { s: 'INITIALIZING' })).toBe(false);
    expect(matches({ p: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { p: '/usr/lib/x' })).toBe(false);
    expect(matches({ p: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { p: '/usr/bin/x' })).toBe(true);
  });

  it('does not match a missing field', () => {
    expect(matches({ detail: { absent: [{ 'anything-but': 'x' }] } })).toBe(false);
  });

  it('matches an array when any element is not excluded', () => {
    expect(matches({ a: [{ 'anything-but': 'x' }] }, { a: ['x', 'y'] })).toBe(true);
    expect(matches({ a: [{ 'anything-but': 'x' }] }, { a: ['x'] })).toBe(false);
  });
});

describe('numeric and cidr', () => {
  it('numeric ranges (README example)', () => {
    expect(matches({ detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } })).toBe(true);
    expect(matches({ detail: { 'c-count': [{ numeric: ['>', 5] }] } })).toBe(false);
    expect(matches({ detail: { state: [{ numeric: ['>', 0] }] } })).toBe(false);
  });

  it('IPv4 cidr (user guide: 10.0.0.0/24)', () => {
    expect(matches({ detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } })).toBe(true);
    expect(matches({ detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } })).toBe(false);
    expect(matches({ ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 'not-an-ip' })).toBe(false);
  });
});

describe('exists', () => {
  it('exists true/false on leaves', () => {
    expect(matches({ detail: { 'c-count': [{ exists: true }] } })).toBe(true);
    expect(matches({ detail: { 'c-count': [{ exists: false }] } })).toBe(false);
    expect(matches({ detail: { 'e-count': [{ exists: false }] } })).toBe(true);
  });

  it('treats a non-leaf as absent (user guide: c-count as an object still matches exists:false)', () => {
    const event = { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } };
    expect(matches({ detail: { 'c-count': [{ exists: false }] } }, event)).toBe(true);
    expect(matches({ detail: { 'c-count': [{ exists: true }] } }, event)).toBe(false);
  });

  it('exists:false matches when a parent object is missing altogether', () => {
    expect(matches({ userIdentity: { sessionContext: { sessionIssuer: { arn: [{ exists: false }] } } } }, { other: 1 })).toBe(true);
  });
});

describe('$or', () => {
  const event = { source: 'aws.cloudwatch', metricName: 'CPUUtilization', namespace: 'AWS/Lambda', detail: { source: 'x' } };

  it('README "Normal Or": source AND (metricName OR namespace)', () => {
    const pattern = { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] };
    expect(matches(pattern, event)).toBe(true);
    expect(matches(pattern, { ...event, metricName: 'Other' })).toBe(false);
    expect(matches(pattern, { ...event, metricName: 'Other', namespace: 'AWS/ES' })).toBe(true);
  });

  it('README "Or has an And inside"', () => {
    const pattern = { source: ['aws.cloudwatch'], $or: [{ metricName: ['ReadLatency'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }] };
    expect(matches(pattern, { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/ES' })).toBe(true);
    expect(matches(pattern, { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/Lambda' })).toBe(false);
  });

  it('nested $or inside an object (README "Parallel Or")', () => {
    const pattern = { detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] } };
    expect(matches(pattern, { detail: { 'detail-type': 'CloudWatch Alarm State Change' } })).toBe(true);
    expect(matches(pattern, { detail: { source: 'other' } })).toBe(false);
  });
});

describe('arrays of objects', () => {
  const employees = { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] };

  it('matches fields of any element (README "JSON Array Matching")', () => {
    expect(matches({ employees: { firstName: ['Anna'] } }, employees)).toBe(true);
  });

  it('never combines fields of different elements (array-consistent matching)', () => {
    expect(matches({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, employees)).toBe(false);
    expect(matches({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, employees)).toBe(true);
  });

  it('crushes multi-level arrays', () => {
    expect(matches({ employees: { firstName: ['Peter'] } }, { employees: [[{ firstName: 'John' }], [{ firstName: 'Peter' }]] })).toBe(true);
  });
});

describe('invalid patterns are refused with the offending path', () => {
  it.each([
    [{ a: 'x' }, 'a'],
    [{ a: [] }, 'a'],
    [{ a: [{ wildcard: 'a**b' }] }, 'a[0]'],
    [{ a: [{ 'anything-but': ['x', 1] }] }, 'a[0]'],
    [{ a: [{ bogus: 1 }] }, 'a[0]'],
    [{ $or: [{ a: ['x'] }] }, '$or'],
    [{ a: [{ numeric: ['>>', 1] }] }, 'a[0]'],
    [{ a: [{ cidr: '2001:db8::/32' }] }, 'a[0]'],
  ])('%j', (pattern, path) => {
    expect(() => compileEventPattern(pattern)).toThrow(EventPatternError);
    expect(() => compileEventPattern(pattern)).toThrow(path);
  });
});
