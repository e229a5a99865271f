/**
 * Organization mode's credentials for member accounts (lambdas/shared/member-credentials.ts):
 * cached per account until five minutes before expiry, a refusal remembered and named, the hub's
 * own account on its own credentials; and the STS adapter against a mocked STS answering with
 * the AssumeRole API reference's response shape.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { FAILURE_TTL_MS, memberCredentials, memberRoleArn, MemberRoleUnavailableError, stsAssumeRole, type AssumeRole } from '../../lambdas/shared/member-credentials';

const HUB = '111122223333';
const MEMBER = '444455556666';
const named = (name: string, message = name) => Object.assign(new Error(message), { name });

function fakeSts(answer: (roleArn: string, calls: number) => Promise<{ expiresInMs: number }>) {
  const calls: Array<{ roleArn: string; region: string; sessionName: string }> = [];
  let clock = Date.parse('2026-12-02T00:00:00Z');
  const assumeRole: AssumeRole = async (input) => {
    calls.push(input);
    const { expiresInMs } = await answer(input.roleArn, calls.length);
    return { accessKeyId: `ASIA${calls.length}`, secretAccessKey: 's', sessionToken: 't', expiration: new Date(clock + expiresInMs) };
  };
  return { calls, assumeRole, now: () => clock, advance: (ms: number) => (clock += ms) };
}

describe('member credentials', () => {
  it('use the hub account as it is, and assume the member role elsewhere, in the region worked in', async () => {
    const sts = fakeSts(async () => ({ expiresInMs: 3_600_000 }));
    const credentials = memberCredentials({ assumeRole: sts.assumeRole, hubAccount: HUB, sessionName: 'ai-visibility-sweep', now: sts.now });
    expect(credentials(HUB, 'us-east-1')).toBeUndefined();
    expect((await credentials(MEMBER, 'eu-west-1')!()).accessKeyId).toBe('ASIA1');
    expect(sts.calls).toEqual([{ roleArn: `arn:aws:iam::${MEMBER}:role/ai-visibility/ai-visibility-member`, region: 'eu-west-1', sessionName: 'ai-visibility-sweep' }]);
    expect(memberRoleArn('aws-cn', MEMBER)).toBe(`arn:aws-cn:iam::${MEMBER}:role/ai-visibility/ai-visibility-member`);
  });

  it('are cached per account until five minutes before they expire, and one call serves concurrent askers', async () => {
    const sts = fakeSts(async () => ({ expiresInMs: 3_600_000 }));
    const credentials = memberCredentials({ assumeRole: sts.assumeRole, hubAccount: HUB, sessionName: 's', now: sts.now });
    const provider = credentials(MEMBER, 'us-east-1')!;
    await Promise.all([provider(), provider(), credentials(MEMBER, 'eu-west-1')!()]);
    expect(sts.calls).toHaveLength(1);
    sts.advance(54 * 60_000);
    await provider();
    expect(sts.calls).toHaveLength(1);
    sts.advance(2 * 60_000); // 56 minutes: within five minutes of expiry
    expect((await provider()).accessKeyId).toBe('ASIA2');
    expect(sts.calls).toHaveLength(2);
  });

  it('name a refused account and remember the refusal for five minutes; throttling is not remembered', async () => {
    let refuse = true;
    const sts = fakeSts(async (_arn, n) => {
      if (n === 1) throw named('ThrottlingException', 'Rate exceeded');
      if (refuse) throw named('AccessDenied', `User: arn:aws:sts::${HUB}:assumed-role/x/y is not authorized to perform: sts:AssumeRole`);
      return { expiresInMs: 3_600_000 };
    });
    const credentials = memberCredentials({ assumeRole: sts.assumeRole, hubAccount: HUB, sessionName: 's', now: sts.now });
    const provider = credentials(MEMBER, 'us-east-1')!;
    await expect(provider()).rejects.toMatchObject({ name: 'ThrottlingException' });
    const refused = await provider().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MemberRoleUnavailableError);
    expect(refused).toMatchObject({ account: MEMBER, roleArn: memberRoleArn('aws', MEMBER), message: expect.stringMatching(/^member role arn:aws:iam::444455556666:role\/ai-visibility\/ai-visibility-member cannot be assumed \(AccessDenied: .*is the member stack deployed in account 444455556666/) });
    await expect(provider()).rejects.toBe(refused);
    expect(sts.calls).toHaveLength(2);
    refuse = false;
    sts.advance(FAILURE_TTL_MS + 1);
    expect((await provider()).accessKeyId).toBe('ASIA3');
  });
});

describe('the STS adapter', () => {
  const sts = mockClient(STSClient);
  afterEach(() => sts.reset());
  afterAll(() => sts.restore());

  it('calls AssumeRole with the role, a session name of at most 64 characters and an hour, and returns the credentials', async () => {
    // The AssumeRole API reference's response shape (Credentials, AssumedRoleUser).
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY', SessionToken: 'FwoGZXIvYXdzEXAMPLE', Expiration: new Date('2026-12-02T01:00:00Z') },
      AssumedRoleUser: { AssumedRoleId: 'AROAEXAMPLE:ai-visibility-sweep', Arn: `arn:aws:sts::${MEMBER}:assumed-role/ai-visibility-member/ai-visibility-sweep` },
    });
    const out = await stsAssumeRole()({ roleArn: memberRoleArn('aws', MEMBER), sessionName: 'x'.repeat(80), region: 'eu-west-1' });
    expect(out).toEqual({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY', sessionToken: 'FwoGZXIvYXdzEXAMPLE', expiration: new Date('2026-12-02T01:00:00Z') });
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toEqual({ RoleArn: memberRoleArn('aws', MEMBER), RoleSessionName: 'x'.repeat(64), DurationSeconds: 3600 });
  });

  it('treats an answer without credentials as a refusal', async () => {
    sts.on(AssumeRoleCommand).resolves({});
    await expect(stsAssumeRole()({ roleArn: memberRoleArn('aws', MEMBER), sessionName: 's', region: 'us-east-1' })).rejects.toMatchObject({ name: 'ValidationError' });
  });
});
