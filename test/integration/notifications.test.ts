/**
 * Finding notifications rendered from real findings: the replay of the fixtures publishes its
 * `Finding Recorded` events, and each becomes an SNS message (attributes, the email text and the
 * Amazon Q Developer custom-notification JSON). Redaction, console links, owner routing and
 * filter policies are checked on their own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINDING_RULES } from '../../lambdas/core/findings';
import { atLeast } from '../../lambdas/core/notifications';
import { consoleLink, dedupKeyOf, filterPolicyOf, NEXT_STEPS, ownerOf, REDACTED, renderFinding, type NotifiedFinding } from '../../lambdas/core/notifications';
import type { ReplayReport } from '../../local/replay/report';
import { cliRunner, useTempDirs } from '../support';
import { documentedRecord, FIXTURES, readJson } from '../helpers';
import { OWNER_TAG_KEY } from '../../lambdas/core/constants';

const temp = useTempDirs();
const cli = cliRunner();
let findings: NotifiedFinding[];

beforeAll(async () => {
  const { stdout } = await cli('replay', '--json', '--allow-quarantine', '--store', temp.dir('ai-visibility-notify-'), FIXTURES);
  const report = JSON.parse(stdout) as Omit<ReplayReport, 'events'> & { events: Array<{ 'detail-type': string; detail: { finding?: NotifiedFinding } }> };
  findings = report.events.filter((e) => e['detail-type'] === 'Finding Recorded').map((e) => e.detail.finding!);
}, 120_000);

describe('a finding as a message', () => {
  it('renders every real finding for chat (the Q Developer custom-notification schema) and for email', () => {
    expect(findings.length).toBeGreaterThan(20);
    for (const f of findings) {
      const n = renderFinding(f, { owner: 'team-ml', kind: 'guardrail' });
      const chat = JSON.parse(n.bodies.default) as { version: string; source: string; id: string; content: Record<string, unknown>; metadata: Record<string, unknown> };
      expect(chat).toMatchObject({ version: '1.0', source: 'custom', id: f.findingId, content: { textType: 'client-markdown' }, metadata: { threadId: `${f.rule}#${f.resource}`, eventType: f.rule } });
      expect(chat.content.title).toContain(f.title);
      expect((chat.content.nextSteps as string[]).length).toBeGreaterThan(0);
      expect(chat.metadata.relatedResources).toContain(f.resource);
      // The email: what, where, who, why, evidence, what next, and a link.
      for (const part of [f.summary, f.account, f.region, f.resource, f.principal ?? 'no principal', ...f.frameworks.map((x) => x.id), 'What to do next:', 'Open: https://']) expect([f.rule, n.bodies.email.includes(part)]).toEqual([f.rule, true]);
      for (const s of f.signals) expect(n.bodies.email).toContain(s.path);
      expect(n.attributes).toEqual({ severity: f.severity, rule: f.rule, account: f.account, region: f.region, owner: 'team-ml', kind: 'guardrail' });
      expect(n.subject.length).toBeLessThanOrEqual(100);
      expect(n.subject).toMatch(/^[\x20-\x7E]+$/);
    }
  });

  it('says how many repeats were held back, and has no empty attribute (SNS refuses one)', () => {
    const n = renderFinding(findings[0], { owner: null, kind: null, repeatsSince: { count: 3, since: '2026-12-01T10:00:00.000Z' } });
    expect(n.bodies.email).toContain('And 3 more of the same since 2026-12-01T10:00:00.000Z.');
    expect(n.bodies.default).toContain('And 3 more of the same');
    expect(n.attributes).toMatchObject({ owner: 'none', kind: 'none' });
  });

  it('has next steps for every rule of the catalog', () => {
    for (const rule of Object.keys(FINDING_RULES)) expect([rule, (NEXT_STEPS[rule] ?? []).length > 0]).toEqual([rule, true]);
  });

  it('never carries a secret from the event', () => {
    const secrets = ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYAAAAAAAAAAAA', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', '-----BEGIN RSA PRIVATE KEY-----MIIE', 'hunter2'];
    const f: NotifiedFinding = {
      ...findings[0],
      signals: [
        { eventName: 'InvokeModel', path: 'requestParameters.modelId', value: 'anthropic.claude-3-5-sonnet-20240620-v1:0' },
        { eventName: 'CreateFunction20150331', path: 'requestParameters.environment.variables.DB_PASSWORD', value: 'hunter2' },
        { eventName: 'CreateFunction20150331', path: 'requestParameters.environment.variables.AWS_KEY', value: secrets[0] },
        { eventName: 'CreateFunction20150331', path: 'requestParameters.environment.variables.SIGNING', value: secrets[1] },
        { eventName: 'InvokeModel', path: 'requestParameters.headers.x', value: `Bearer ${secrets[2]}` },
        { eventName: 'PutSecretValue', path: 'requestParameters.note', value: secrets[3] },
      ],
    };
    const n = renderFinding(f, { owner: null, kind: null });
    for (const body of [n.bodies.default, n.bodies.email]) {
      for (const s of secrets) expect(body).not.toContain(s);
      expect(body).toContain(REDACTED);
      expect(body).toContain('anthropic.claude-3-5-sonnet-20240620-v1:0'); // what is not a secret stays
    }
  });

  it('links to the resource in the console, or to the event', () => {
    const at = (resource: string, eventId = 'doc-1') => consoleLink({ resource, region: 'eu-west-1', eventId });
    expect(at('arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc')).toBe('https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#InstanceDetails:instanceId=i-0abc');
    expect(at('arn:aws:s3:::training-data/models/x.safetensors')).toBe('https://s3.console.aws.amazon.com/s3/buckets/training-data');
    expect(at('arn:aws:bedrock:eu-west-1:111122223333:guardrail/gr-1')).toBe('https://eu-west-1.console.aws.amazon.com/bedrock/home?region=eu-west-1#/guardrails/guardrail/gr-1');
    expect(at('arn:aws:bedrock:eu-west-1::foundation-model/x', '1a4debbb-12e9-4bde-b8c7-ea29002bb2a7')).toBe('https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/1a4debbb-12e9-4bde-b8c7-ea29002bb2a7');
  });
});

describe('routing', () => {
  const KEY = 'ai-visibility:owner';
  it('finds the owner on the resource, else the principal, else the account map, else nobody', () => {
    expect(ownerOf({ resource: { [KEY]: 'ml-platform' }, principal: { [KEY]: 'data-eng' } }, '111122223333', { '111122223333': 'secops' }, KEY)).toBe('ml-platform');
    expect(ownerOf({ resource: { other: 'x' }, principal: { [KEY]: 'data-eng' } }, '111122223333', { '111122223333': 'secops' }, KEY)).toBe('data-eng');
    expect(ownerOf({ resource: null, principal: null }, '111122223333', { '111122223333': 'secops' }, KEY)).toBe('secops');
    expect(ownerOf({}, '444455556666', { '111122223333': 'secops' }, KEY)).toBeNull();
    expect(ownerOf({}, 'constructor', {}, KEY)).toBeNull(); // no prototype member is an account
  });

  it('turns a subscription into a filter policy (that still lets the digest through) and counts its combinations', () => {
    expect(filterPolicyOf({ severities: ['critical', 'high'], owners: ['ml-platform'] })).toEqual({ policy: { severity: ['critical', 'high', 'digest'], owner: ['ml-platform'] }, combinations: 3 });
    expect(filterPolicyOf({ severities: ['high'], accounts: ['1', '2', '3'], rules: ['a', 'b'] }).combinations).toBe(2 * 4 * 3);
    expect(filterPolicyOf({})).toEqual({ policy: {}, combinations: 1 });
  });

  it('keys repeats by rule, resource and principal', () => {
    const f = findings[0];
    expect(dedupKeyOf(f)).toBe(`${f.rule}#${f.resource}#${f.principal ?? '-'}`);
    expect(dedupKeyOf({ ...f, principal: null })).toBe(`${f.rule}#${f.resource}#-`);
  });
});

describe('replay --notifications', () => {
  it('writes what the notifier would publish, after the severity floor and dedup, one JSON line per message', async () => {
    const file = join(temp.dir('ai-visibility-notify-out-'), 'notifications.jsonl');
    const { code, stderr } = await cli('replay', '--allow-quarantine', '--store', temp.dir('ai-visibility-notify-store-'), '--notifications', file, FIXTURES);
    expect(code).toBe(0);
    const all = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; topic: string; subject: string; attributes: Record<string, string>; bodies: { default: string; email: string }; findings?: Array<Record<string, unknown>> });
    expect(stderr).toContain(`${all.length} line(s) written to`);
    const lines = all.filter((l) => l.type === 'sns-publish');
    // And what the Security Hub export would import: every finding, in batches within the limit.
    const batches = all.filter((l) => l.type === 'securityhub-batch');
    expect(batches.flatMap((b) => b.findings!)).toHaveLength(findings.length);
    for (const b of batches) expect(b.findings!.length).toBeLessThanOrEqual(100);
    for (const f of batches.flatMap((b) => b.findings!)) expect(f).toMatchObject({ SchemaVersion: '2018-10-08', RecordState: expect.stringMatching(/^(ACTIVE|ARCHIVED)$/) });
    // One per distinct rule, resource and principal among the findings at or above medium.
    const distinct = new Set(findings.filter((f) => atLeast(f.severity, 'medium')).map(dedupKeyOf));
    expect(lines).toHaveLength(distinct.size);
    expect(lines.length).toBeLessThan(findings.length);
    for (const l of lines) {
      expect(l.topic).toMatch(/^arn:aws:sns:/);
      expect(['critical', 'high', 'medium']).toContain(l.attributes.severity);
      expect(JSON.parse(l.bodies.default)).toMatchObject({ version: '1.0', source: 'custom' });
      expect(l.bodies.email).toContain('What to do next:');
    }
  }, 120_000);

  it("routes a finding by its principal's owner tag, learned from IAM tag calls in any order, and falls back once the tag is removed; learns an instance's owner tagged after launch", async () => {
    const dir = temp.dir('ai-visibility-notify-owners-');
    // IAM calls in the documented agent activity's record shape (AttachRolePolicy), made by an
    // administrator (an IAM user, not the agent), with the TagRole/TagUser/UntagUser parameters
    // of the IAM API reference. bob's removal comes first in the file but is the newest: it wins.
    const base = (readJson(`${FIXTURES}/documented/agents-2-activity.json`).Records as Record<string, unknown>[]).find((r) => r.eventName === 'AttachRolePolicy')!;
    const admin = { type: 'IAMUser', principalId: 'AIDAEXAMPLEADMIN0001', arn: 'arn:aws:iam::111122223333:user/admin', accountId: '111122223333', userName: 'admin' };
    const iam = (eventName: string, eventTime: string, requestParameters: Record<string, unknown>) => ({ ...structuredClone(base), userIdentity: admin, eventName, eventTime, eventID: `owner-${eventName}-${eventTime}`, requestParameters });
    writeFileSync(
      join(dir, 'iam-owner-tags.json'),
      JSON.stringify({
        Records: [
          iam('UntagUser', '2026-01-02T00:00:00Z', { userName: 'bob', tagKeys: [OWNER_TAG_KEY] }),
          iam('TagRole', '2026-01-01T00:00:00Z', { roleName: 'DevAdmin', tags: [{ key: 'team', value: 'red' }, { key: OWNER_TAG_KEY, value: 'red-team' }] }),
          iam('TagUser', '2026-01-01T00:00:00Z', { userName: 'bob', tags: [{ key: OWNER_TAG_KEY, value: 'data-eng' }] }),
          // And a GPU instance of the fixtures tagged after launch (EC2 CreateTags, API reference shape).
          { ...documentedRecord('RunInstances'), eventName: 'CreateTags', eventTime: '2026-01-01T00:00:00Z', eventID: 'owner-CreateTags', requestParameters: { resourcesSet: { items: [{ resourceId: 'i-0gpu0000000000001' }] }, tagSet: { items: [{ key: OWNER_TAG_KEY, value: 'research' }] } }, responseElements: { _return: true } },
        ],
      }),
    );
    const file = join(temp.dir('ai-visibility-notify-owners-out-'), 'notifications.jsonl');
    const { code, stdout } = await cli('replay', '--json', '--digest', '--allow-quarantine', '--store', temp.dir('ai-visibility-notify-owners-store-'), '--notifications', file, FIXTURES, dir);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { inventory: Array<{ arn: string; attributes: Record<string, unknown> }>; events: Array<{ 'detail-type': string; detail: { finding?: NotifiedFinding } }>; digest: { byOwner: Array<{ owner: string; findingsBySeverity: Record<string, number> }> } };
    expect(report.inventory.find((r) => r.arn.endsWith(':instance/i-0gpu0000000000001'))?.attributes.owner).toBe('research');
    // The tag calls add no finding: the same findings as the fixtures alone.
    const found = report.events.filter((e) => e['detail-type'] === 'Finding Recorded').map((e) => e.detail.finding!);
    expect(found.map((f) => f.findingId).sort()).toEqual(findings.map((f) => f.findingId).sort());
    const byId = new Map(found.map((f) => [f.findingId, f]));
    const owners = new Map<string, string>();
    for (const line of readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; attributes: Record<string, string>; bodies: { default: string } })) {
      if (line.type !== 'sns-publish' || line.attributes.rule === 'digest') continue;
      const f = byId.get((JSON.parse(line.bodies.default) as { id: string }).id)!;
      owners.set(`${f.principal}`, line.attributes.owner);
    }
    // mallory's session is of DevAdmin: the role's owner. bob's tag was removed: nobody.
    expect(owners.get('arn:aws:sts::111122223333:assumed-role/DevAdmin/mallory')).toBe('red-team');
    expect(owners.get('arn:aws:iam::111122223333:user/bob')).toBe('none');
    expect(owners.get('arn:aws:iam::111122223333:user/alice')).toBe('none');
    // The digest has red-team's findings apart, and no digest for data-eng.
    const redTeam = findings.filter((f) => f.principal?.includes(':assumed-role/DevAdmin/') && f.account === '111122223333');
    expect(report.digest.byOwner.map((d) => d.owner)).toEqual(['red-team']);
    expect(Object.values(report.digest.byOwner[0].findingsBySeverity).reduce((a, b) => a + b, 0)).toBe(redTeam.length);
  }, 120_000);

  it('a file in a directory that does not exist is a usage error', async () => {
    const { code, stderr } = await cli('replay', '--notifications', join(temp.dir('ai-visibility-notify-bad-'), 'no', 'such', 'dir', 'n.jsonl'), FIXTURES);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^--notifications needs a file in an existing directory/);
  });
});
