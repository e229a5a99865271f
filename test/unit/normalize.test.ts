/** Normalization: what reaches the classifier, and why anything that cannot be used is refused. */
import { normalize, parseEventTime } from '../../lambdas/classifier/normalize';
import { aiFixture, documentedRecord, nonAiRecords } from '../helpers';

describe('parseEventTime', () => {
  it.each([
    ['2024-10-01T11:52:37Z', '2024-10-01T11:52:37.000Z'],
    ['2025-07-14T02:47:38.302834063Z', '2025-07-14T02:47:38.302Z'],
    // Panther-normalized records write the time space-separated with nanoseconds, no zone: UTC.
    ['2025-01-21 17:49:47.000000000', '2025-01-21T17:49:47.000Z'],
    ['2025-01-21 17:49:47', '2025-01-21T17:49:47.000Z'],
    ['2025-01-21T19:49:47+02:00', '2025-01-21T17:49:47.000Z'],
    ['2025-01-21T12:19:47-0530', '2025-01-21T17:49:47.000Z'],
  ])('reads %s as %s', (input, expected) => {
    expect(parseEventTime(input)).toBe(expected);
  });

  it.each(['', 'yesterday', '2025-02-30T00:00:00Z', '2025-13-01T00:00:00Z', '2025-01-01T24:00:00Z', 1737481787000, null])('refuses %j', (input) => {
    expect(parseEventTime(input)).toBeUndefined();
  });
});

describe('normalize', () => {
  it('reads a bare CloudTrail record (real record, sumologic-documentation InvokeModel)', () => {
    const result = normalize(aiFixture('InvokeModel'));
    expect(result).toMatchObject({
      ok: true,
      event: {
        eventId: 'a8d388e2-3111-44bf-b78f-b0e263dc3d25',
        eventIdDerived: false,
        time: '2024-10-01T11:52:37.000Z',
        eventSource: 'bedrock.amazonaws.com',
        eventName: 'InvokeModel',
        region: 'us-west-2',
        account: '956882123456',
        partition: 'aws',
        readOnly: true,
      },
    });
  });

  it('reads an EventBridge envelope (real envelope, cloud-custodian CreateBucket)', () => {
    const envelope = nonAiRecords().find((r) => r.source === 'cloud-custodian__CreateBucket__1.json')!.value;
    expect(normalize(envelope)).toMatchObject({ ok: true, event: { eventName: 'CreateBucket', account: '101010101111', time: '2015-11-23T07:45:25.000Z' } });
  });

  it('reads the space-separated time of Panther-normalized records (real record)', () => {
    expect(normalize(aiFixture('DeleteGuardrail'))).toMatchObject({ ok: true, event: { time: '2025-01-21T18:12:33.000Z' } });
  });

  it('takes the time from the envelope when the record lacks one', () => {
    const record = aiFixture('CreateModelCustomizationJob');
    const envelope = { 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.bedrock', time: '2025-03-01T10:00:00Z', region: 'us-east-1', account: '644160558196', detail: record };
    expect(normalize(envelope)).toMatchObject({ ok: true, event: { time: '2025-03-01T10:00:00.000Z' } });
  });

  it('derives a stable event id when the exporter dropped eventID (real record trimmed by its publisher)', () => {
    const record = { ...aiFixture('CreateModelCustomizationJob'), eventTime: '2025-03-01T10:00:00Z' };
    const reordered = Object.fromEntries(Object.entries(record).reverse());
    const a = normalize(record);
    const b = normalize(reordered);
    expect(a.ok && a.event.eventIdDerived).toBe(true);
    expect(a.ok && a.event.eventId).toMatch(/^derived:sha256:[0-9a-f]{64}$/);
    expect(a.ok && b.ok && a.event.eventId === b.event.eventId).toBe(true);
  });

  it('recognises the partition from the region', () => {
    const record = { ...documentedRecord('InvokeModel'), awsRegion: 'us-gov-west-1' };
    expect(normalize(record)).toMatchObject({ ok: true, event: { partition: 'aws-us-gov' } });
  });

  it.each([
    ['not an object', 'just text', 'not a JSON object'],
    ['a non-CloudTrail envelope', { 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2', detail: {} }, 'unsupported EventBridge detail-type'],
    ['an envelope without detail', { 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2' }, 'no detail object'],
    ['a record without eventSource', { eventName: 'X', eventTime: '2025-01-01T00:00:00Z', awsRegion: 'us-east-1' }, 'eventSource'],
    ['a record with a malformed eventSource', { eventSource: 'bedrock', eventName: 'X', eventTime: '2025-01-01T00:00:00Z', awsRegion: 'us-east-1' }, 'eventSource'],
    ['a record without eventName', { eventSource: 'bedrock.amazonaws.com', eventTime: '2025-01-01T00:00:00Z', awsRegion: 'us-east-1' }, 'eventName'],
    ['a record without a time', { eventSource: 'bedrock.amazonaws.com', eventName: 'X', awsRegion: 'us-east-1' }, 'missing eventTime'],
    ['a record with an unreadable time', { eventSource: 'bedrock.amazonaws.com', eventName: 'X', eventTime: 'last tuesday', awsRegion: 'us-east-1' }, 'unreadable eventTime'],
    ['a record without a region', { eventSource: 'bedrock.amazonaws.com', eventName: 'X', eventTime: '2025-01-01T00:00:00Z' }, 'awsRegion'],
  ])('refuses %s, saying why', (_what, input, reason) => {
    const result = normalize(input);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('refuses the real record its publisher trimmed of eventTime (cloud-custodian CreateModelCustomizationJob)', () => {
    expect(normalize(aiFixture('CreateModelCustomizationJob'))).toEqual({ ok: false, reason: 'missing eventTime: the event cannot be ordered against others' });
  });
});
