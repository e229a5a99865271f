/**
 * Where a trail keeps its log files (lambdas/core/trail.ts) and what a trail reader message asks
 * for (lambdas/trail-reader/read.ts). Key names follow the CloudTrail User Guide's example
 * (`111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz`).
 */
import { accountOfPrincipal, lookBackListings, parseLogFileKey, stampOf } from '../../lambdas/core/trail';
import { decodeS3Key, keptRecords, requestOf } from '../../lambdas/trail-reader/read';
import { MAX_MESSAGE_BYTES } from '../../lambdas/shared/capture-queue';

const ORG_TRAIL = { bucket: 'logs', prefix: 'org/ct', organizationId: 'o-exampleorg1' };
const ACCOUNT_TRAIL = { bucket: 'logs', prefix: '' };
const DOC_NAME = '111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz';

describe('log file keys', () => {
  it('reads account, region and delivery time from an organization trail’s key and an account trail’s', () => {
    expect(parseLogFileKey(`org/ct/AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-2/2015/08/01/${DOC_NAME}`, ORG_TRAIL)).toEqual({
      key: `org/ct/AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-2/2015/08/01/${DOC_NAME}`,
      account: '111122223333',
      region: 'us-east-2',
      deliveredAt: Date.parse('2015-08-01T02:10:00Z'),
    });
    expect(parseLogFileKey(`AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/${DOC_NAME}`, ACCOUNT_TRAIL)).toMatchObject({ account: '111122223333', region: 'us-east-2' });
  });

  it('says why a key is not a log file to read', () => {
    const skip = (key: string, location = ORG_TRAIL) => (parseLogFileKey(key, location) as { skip: string }).skip;
    expect(skip(`AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/${DOC_NAME}`)).toMatch(/not under the trail's folder org\/ct\/AWSLogs\/o-exampleorg1\//);
    expect(skip(`org/ct/AWSLogs/o-exampleorg1/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150801T0210Z.json.gz`)).toMatch(/not named like/);
    expect(skip(`org/ct/AWSLogs/o-exampleorg1/111122223333/CloudTrail-Insight/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz`)).toBe('a CloudTrail-Insight file, not API calls');
    expect(skip(`org/ct/AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-2/2015/08/01/444455556666_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz`)).toMatch(/disagree/);
    expect(skip(`org/ct/AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-2/2015/08/01/notes.txt`)).toMatch(/not named like/);
  });

  it('lists an account’s files of a window region by region and day by day, from the first minute on', () => {
    const listings = lookBackListings(ORG_TRAIL, '111122223333', ['us-east-1', 'eu-west-1'], Date.parse('2026-11-30T23:40:00Z'), Date.parse('2026-12-01T00:10:00Z'));
    const base = 'org/ct/AWSLogs/o-exampleorg1/111122223333/CloudTrail';
    expect(listings).toEqual([
      { prefix: `${base}/us-east-1/2026/11/30/`, startAfter: `${base}/us-east-1/2026/11/30/111122223333_CloudTrail_us-east-1_20261130T2340Z` },
      { prefix: `${base}/us-east-1/2026/12/01/` },
      { prefix: `${base}/eu-west-1/2026/11/30/`, startAfter: `${base}/eu-west-1/2026/11/30/111122223333_CloudTrail_eu-west-1_20261130T2340Z` },
      { prefix: `${base}/eu-west-1/2026/12/01/` },
    ]);
    // StartAfter is exclusive, and a file of the first minute sorts after it.
    expect(`${base}/us-east-1/2026/11/30/111122223333_CloudTrail_us-east-1_20261130T2340Z_AAAA.json.gz` > listings[0].startAfter!).toBe(true);
    expect(lookBackListings(ORG_TRAIL, '111122223333', ['us-east-1'], 2, 1)).toEqual([]);
    expect(stampOf(Date.parse('2026-11-30T23:40:59.999Z'))).toBe('20261130T2340Z');
  });

  it('knows the account of IAM and STS principals only', () => {
    expect(accountOfPrincipal('arn:aws:iam::444455556666:role/ops-automation')).toBe('444455556666');
    expect(accountOfPrincipal('arn:aws:sts::444455556666:assumed-role/ops-automation/s')).toBe('444455556666');
    expect(accountOfPrincipal('arn:aws:s3:::bucket')).toBeUndefined();
  });
});

describe('trail reader messages', () => {
  it('decodes S3 notification keys (URL-encoded, spaces as +)', () => {
    expect(decodeS3Key('logs/a+b%2Bc%3D.json.gz')).toBe('logs/a b+c=.json.gz');
    expect(requestOf(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'a+b' } } }, { eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'b' }, object: { key: 'gone' } } }] }))).toEqual({ kind: 'files', files: [{ bucket: 'b', key: 'a b' }] });
    expect(requestOf(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: '%E0%A4%A' } } }] })).kind).toBe('refuse');
  });

  it('refuses what it cannot act on, with the reason', () => {
    expect(requestOf('[]')).toEqual({ kind: 'refuse', reason: 'not a JSON object' });
    expect(requestOf(JSON.stringify({ s3Bucket: 'b', s3ObjectKey: [] }))).toEqual({ kind: 'refuse', reason: 'a CloudTrail notification without object keys' });
    expect(requestOf(JSON.stringify({ source: 'ai-visibility', 'detail-type': 'Principal Watched', detail: { reason: 'agent' } })).kind).toBe('refuse');
    expect(requestOf(JSON.stringify({ hello: 'world' })).kind).toBe('refuse');
  });

  it('keeps what the matcher takes, reports what is not a record, and holds back a call too large for a message', () => {
    const call = (id: string, extra = '') => ({ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', eventID: id, userIdentity: { arn: 'arn:aws:iam::111122223333:user/bot' }, requestParameters: { note: extra } });
    const bytes = Buffer.from(JSON.stringify({ Records: [call('a'), call('big', 'x'.repeat(MAX_MESSAGE_BYTES)), 'not a record', call('b')] }));
    const kept = keptRecords(bytes, 'k', (e) => (e.detail as { eventID: string }).eventID !== 'b', 1024 * 1024);
    expect(kept.records).toBe(4);
    expect(kept.messages.map((m) => JSON.parse(m).id)).toEqual(['a']);
    expect(kept.tooLarge).toEqual(['big']);
    expect(kept.problems).toEqual([{ source: 'k#2', reason: 'not a CloudTrail record (no eventSource)' }]);
  });
});
