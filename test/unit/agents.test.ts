/**
 * The agent step's pure parts and its decisions over a scripted directory: action classes,
 * evidence, the behaviour heuristic and its guards, denial bursts at the threshold edges,
 * cross-account detection, and the capture rules built for watched principals.
 * Records: real ones where they exist, else built from the documented API shapes (fixtures/
 * cloudtrail/documented, or derived here from them, as each test says).
 */
import { agentCaptureRules, DEFAULT_PATTERN_QUOTA } from '../../lambdas/shared/agent-capture';
import { AGENT_RULE_SUFFIX_CHARS, MAX_RULE_NAME } from '../../lambdas/core/constants';
import { agentRulePrefix } from '../../lib/constructs/agent-activity-capture';
import { compileEventPattern } from '../../lambdas/shared/event-pattern';
import { planRuleChanges, RULE_STATE } from '../../lambdas/agent-capture-sync/reconcile';
import { classify } from '../../lambdas/classifier/classify';
import { classifyAction, isSecretAccess, outcomeOf, touchedResources } from '../../lambdas/classifier/agents/actions';
import { analyzeAgents, DEFAULT_AGENT_SETTINGS, type AgentDirectory, type AgentSettings, type BatchEvent } from '../../lambdas/classifier/agents/analyze';
import { functionRoleOf, identifyAgents } from '../../lambdas/classifier/agents/identify';
import { aiFixture, documentedRecord, normalized, readJson, FIXTURES } from '../helpers';
import { join } from 'node:path';

const scenario = (file: string) => readJson(join(FIXTURES, 'documented', file)).Records as Record<string, unknown>[];
const setup = scenario('agents-1-setup.json');
const activity = scenario('agents-2-activity.json');
const find = (records: Record<string, unknown>[], eventName: string, who?: string) =>
  structuredClone(records.find((r) => r.eventName === eventName && (!who || JSON.stringify(r.userIdentity).includes(who)))!);

const TOOL = 'arn:aws:iam::111122223333:role/support-tools-role';
const WRITER = 'arn:aws:iam::111122223333:role/report-writer';

function batchOf(...records: Record<string, unknown>[]): BatchEvent[] {
  return records.map((r, i) => {
    const event = normalized(r);
    return { messageId: `m${i}`, event, classification: classify(event) };
  });
}

/** A directory holding what the test says is stored. */
function directory(stored: { agents?: string[]; lastModelCallAt?: Record<string, string>; functionRoles?: Record<string, string>; denials?: Record<string, Array<{ time: string; eventId: string }>> } = {}): AgentDirectory {
  return {
    async principals(arns) {
      const out = new Map();
      for (const arn of arns) {
        const agent = stored.agents?.includes(arn) ?? false;
        const last = stored.lastModelCallAt?.[arn];
        if (agent || last) out.set(arn, { agent, watched: agent, lastModelCallAt: last });
      }
      return out;
    },
    async functionRoles(fns) {
      return new Map(fns.filter((f) => stored.functionRoles?.[f]).map((f) => [f, stored.functionRoles![f]]));
    },
    async deniedBefore(agent, from, before, limit) {
      const earlier = (d: { time: string; eventId: string }) => d.time < before.time || (d.time === before.time && d.eventId < before.eventId);
      return (stored.denials?.[agent] ?? [])
        .filter((d) => d.time >= from && earlier(d))
        .sort((x, y) => (x.time === y.time ? y.eventId.localeCompare(x.eventId) : y.time.localeCompare(x.time)))
        .slice(0, limit);
    },
    async deniedAfter(agent, after, to, limit) {
      const later = (d: { time: string; eventId: string }) => d.time > after.time || (d.time === after.time && d.eventId > after.eventId);
      return (stored.denials?.[agent] ?? [])
        .filter((d) => d.time <= to && later(d))
        .sort((x, y) => (x.time === y.time ? x.eventId.localeCompare(y.eventId) : x.time.localeCompare(y.time)))
        .slice(0, limit);
    },
  };
}

describe('action classes (built from the documented shapes)', () => {
  const cls = (r: Record<string, unknown>) => {
    const e = normalized(r);
    return classifyAction(e, touchedResources(e));
  };

  it.each([
    ['GetSecretValue', ['read', 'data-access']],
    ['AttachRolePolicy', ['write', 'privilege']],
    ['CreateTable', ['write', 'provision']],
    ['DeleteBucket', ['write', 'destructive']],
    ['AssumeRole', ['write', 'privilege', 'cross-account']],
    ['CreateUser', ['write', 'provision', 'privilege', 'denied']],
  ])('%s -> %j', (eventName, classes) => {
    expect(cls(find(activity, eventName, 'support-tools'))).toEqual(classes);
  });

  it('reads a refused call, an HTTP failure and a success as outcomes', () => {
    expect(outcomeOf(normalized(find(activity, 'CreateUser')))).toBe('AccessDenied');
    expect(outcomeOf(normalized(aiFixture('InvokeGateway__auth-error')))).toBe('HTTP 401'); // real record
    expect(outcomeOf(normalized(find(activity, 'CreateTable')))).toBe('success');
  });

  it('knows secret material when it sees it', () => {
    expect(isSecretAccess(normalized(find(activity, 'GetSecretValue')))).toBe(true);
    const parameter = { ...find(activity, 'GetSecretValue'), eventSource: 'ssm.amazonaws.com', eventName: 'GetParameter', requestParameters: { name: '/app/db-password', withDecryption: true } };
    expect(isSecretAccess(normalized(parameter))).toBe(true);
    expect(isSecretAccess(normalized({ ...parameter, requestParameters: { name: '/app/region' } }))).toBe(false);
  });

  it('sees cross-account actions by the recipient account, the assumed role, or a resource', () => {
    const e = (r: Record<string, unknown>) => normalized(r);
    const snapshot = find(activity, 'CreateSnapshot', 'support-tools');
    expect(cls(snapshot)).not.toContain('cross-account');
    expect(cls({ ...snapshot, recipientAccountId: '444455556666' })).toContain('cross-account');
    expect(cls(find(activity, 'AssumeRole'))).toContain('cross-account');
    const foreignSecret = { ...find(activity, 'GetSecretValue'), requestParameters: { secretId: 'arn:aws:secretsmanager:us-east-1:999988887777:secret:shared-AbCdEf' } };
    expect(classifyAction(e(foreignSecret), touchedResources(e(foreignSecret)))).toContain('cross-account');
  });
});

describe('agent evidence', () => {
  const evidence = (r: Record<string, unknown>, options = {}) => {
    const e = normalized(r);
    return identifyAgents(e, classify(e), options);
  };

  it("constructed: a Bedrock agent's service role, with its path kept for the capture rules (built from the documented shape)", () => {
    expect(evidence(documentedRecord('CreateAgent'))).toEqual([
      expect.objectContaining({
        principal: 'arn:aws:iam::111122223333:role/AmazonBedrockExecutionRoleForAgents_support',
        iamArn: 'arn:aws:iam::111122223333:role/service-role/AmazonBedrockExecutionRoleForAgents_support',
        how: 'constructed',
        agent: 'arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345',
      }),
    ]);
  });

  it('constructed: AgentCore gateway (real record) and runtime execution roles', () => {
    expect(evidence(aiFixture('CreateGateway'))).toEqual([
      expect.objectContaining({ principal: 'arn:aws:iam::XXXXXXXXXXXX:role/PythonGenesisTestGatewayRole', agent: 'arn:aws:bedrock-agentcore:us-west-2:XXXXXXXXXXXX:gateway/test-openapi-gateway-xxxxxxx-xxxxxx' }),
    ]);
    expect(evidence(documentedRecord('CreateAgentRuntime'))[0]).toMatchObject({ principal: 'arn:aws:iam::111122223333:role/AgentCoreRuntimeRole', how: 'constructed' });
  });

  it("constructed: an action group names the agent's tool function; its role comes from CreateFunction", () => {
    const [group] = evidence(find(setup, 'CreateAgentActionGroup'));
    expect(group).toMatchObject({ functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:support-tools', agent: 'arn:aws:bedrock:us-east-1:111122223333:agent/AGENT12345' });
    expect(group.principal).toBeUndefined();
    expect(functionRoleOf(normalized(find(setup, 'CreateFunction20150331')))).toMatchObject({ functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:support-tools', role: 'arn:aws:iam::111122223333:role/service-role/support-tools-role' });
  });

  it('declared: an ai-visibility:agent tag, a session tag, or the configuration', () => {
    const tagRole = { ...find(activity, 'AttachRolePolicy'), userIdentity: documentedRecord('CreateAgent').userIdentity, eventName: 'TagRole', requestParameters: { roleName: 'triage-bot', tags: [{ key: 'ai-visibility:agent', value: 'true' }] } };
    expect(evidence(tagRole)).toEqual([expect.objectContaining({ principal: 'arn:aws:iam::111122223333:role/triage-bot', how: 'declared' })]);
    expect(evidence({ ...tagRole, requestParameters: { roleName: 'triage-bot', tags: [{ key: 'team', value: 'ml' }] } })).toEqual([]);
    const assume = { ...find(activity, 'AssumeRole'), requestParameters: { roleArn: 'arn:aws:iam::111122223333:role/ops/triage-bot', roleSessionName: 's', tags: [{ key: 'ai-visibility:agent', value: 'True' }] } };
    expect(evidence(assume)).toEqual([expect.objectContaining({ principal: 'arn:aws:iam::111122223333:role/triage-bot', iamArn: 'arn:aws:iam::111122223333:role/ops/triage-bot', how: 'declared' })]);
    const configured = evidence(find(activity, 'CreateTable'), { declared: new Set([TOOL]) });
    expect(configured).toEqual([expect.objectContaining({ principal: TOOL, how: 'declared' })]);
  });

  it('session: source identity, role session name or an agent framework user agent; never a console or service-invoked call', () => {
    const call = find(activity, 'CreateTable');
    expect(evidence(call)).toEqual([]);
    const sourceIdentity = structuredClone(call);
    (sourceIdentity.userIdentity as { sessionContext: Record<string, unknown> }).sessionContext.sourceIdentity = 'support-agent';
    expect(evidence(sourceIdentity)).toEqual([expect.objectContaining({ principal: TOOL, how: 'session' })]);
    expect(evidence({ ...call, userAgent: 'Boto3/1.35.0 md/Botocore#1.35.0 lib/langchain-aws#0.2.1' })).toEqual([expect.objectContaining({ how: 'session' })]);
    expect(evidence({ ...call, userAgent: 'Boto3/1.35.0', userIdentity: { ...(call.userIdentity as object), arn: 'arn:aws:sts::111122223333:assumed-role/support-tools-role/triage-agent-7' } })).toEqual([expect.objectContaining({ how: 'session' })]);
    const consoleCall = { ...find(activity, 'CreateSnapshot', 'alice'), userAgent: 'Mozilla/5.0 langchain' };
    expect(evidence(consoleCall)).toEqual([]);
    expect(evidence({ ...sourceIdentity, userIdentity: { ...(sourceIdentity.userIdentity as object), invokedBy: 'bedrock.amazonaws.com' } })).toEqual([]);
  });

  it('constructed: a role with the default Bedrock agent role name is an agent when it acts', () => {
    const call = find(activity, 'CreateTable');
    const identity = call.userIdentity as { arn: string; sessionContext: { sessionIssuer: { arn: string; userName: string } } };
    identity.arn = 'arn:aws:sts::111122223333:assumed-role/AmazonBedrockExecutionRoleForAgents_X1/s';
    identity.sessionContext.sessionIssuer.arn = 'arn:aws:iam::111122223333:role/service-role/AmazonBedrockExecutionRoleForAgents_X1';
    identity.sessionContext.sessionIssuer.userName = 'AmazonBedrockExecutionRoleForAgents_X1';
    expect(evidence(call)).toEqual([expect.objectContaining({ principal: 'arn:aws:iam::111122223333:role/AmazonBedrockExecutionRoleForAgents_X1', how: 'constructed' })]);
  });
});

describe('analyzeAgents', () => {
  const settings: AgentSettings = { ...DEFAULT_AGENT_SETTINGS, behaviourWindowMs: 600_000, deniedBurst: { count: 3, windowMs: 60_000 } };

  it("logs the agent's call and not the same call by a person", async () => {
    const analysis = await analyzeAgents(batchOf(find(activity, 'CreateSnapshot', 'alice'), find(activity, 'CreateSnapshot', 'support-tools')), directory({ agents: [TOOL] }), settings);
    expect(analysis.actions.map((a) => a.agent)).toEqual([TOOL]);
    expect(analysis.findings.map((f) => f.finding.rule)).toEqual(['agent-provisioned-resource']);
  });

  it('resolves an action-group function to its role in the same batch, or through the directory', async () => {
    const same = await analyzeAgents(batchOf(find(setup, 'CreateFunction20150331'), find(setup, 'CreateAgentActionGroup')), directory(), settings);
    expect(same.evidence.map((e) => [e.evidence.principal, e.evidence.iamArn])).toEqual([[TOOL, 'arn:aws:iam::111122223333:role/service-role/support-tools-role']]);
    expect(same.watch).toEqual([expect.objectContaining({ principal: TOOL, iamArn: 'arn:aws:iam::111122223333:role/service-role/support-tools-role', reason: 'agent' })]);
    const later = await analyzeAgents(batchOf(find(setup, 'CreateAgentActionGroup')), directory({ functionRoles: { 'arn:aws:lambda:us-east-1:111122223333:function:support-tools': 'arn:aws:iam::111122223333:role/service-role/support-tools-role' } }), settings);
    expect(later.evidence[0].evidence.principal).toBe(TOOL);
    const unknown = await analyzeAgents(batchOf(find(setup, 'CreateAgentActionGroup')), directory(), settings);
    expect(unknown.evidence).toEqual([]);
  });

  describe('behaviour: a model call, then a write elsewhere within the window', () => {
    const invoke = find(setup, 'InvokeModel', 'report-writer'); // 09:10:00
    const write = (time: string) => ({ ...find(activity, 'PutBucketPolicy'), eventTime: time, eventID: `write-${time}` });

    it.each([
      ['09:12:00', true],
      ['09:20:00', true], // exactly the window (600 s): counts
      ['09:20:01', false],
    ])('a write at %s after a model call at 09:10:00 -> agent: %s', async (at, agent) => {
      const analysis = await analyzeAgents(batchOf(invoke, write(`2025-06-06T${at}Z`)), directory(), settings);
      expect(analysis.evidence.some((e) => e.evidence.principal === WRITER && e.evidence.how === 'behaviour')).toBe(agent);
      expect(analysis.actions.length > 0).toBe(agent);
    });

    it('uses the stored time of the last model call when the call came in an earlier batch', async () => {
      const analysis = await analyzeAgents(batchOf(write('2025-06-06T09:12:00Z')), directory({ lastModelCallAt: { [WRITER]: '2025-06-06T09:10:00.000Z' } }), settings);
      expect(analysis.evidence.map((e) => e.evidence.how)).toEqual(['behaviour']);
    });

    it('never makes a person an agent, however quickly they write after a model call', async () => {
      const consoleWrite = { ...find(activity, 'CreateSnapshot', 'alice'), eventTime: '2025-06-06T09:10:30Z' };
      const analysis = await analyzeAgents(batchOf(find(setup, 'InvokeModel', 'alice'), consoleWrite), directory(), settings);
      expect(analysis.evidence).toEqual([]);
      expect(analysis.watch).toEqual([]);
    });

    it('watches a model-calling workload as a candidate until it acts', async () => {
      const analysis = await analyzeAgents(batchOf(invoke), directory(), settings);
      expect(analysis.watch).toEqual([expect.objectContaining({ principal: WRITER, reason: 'candidate' })]);
    });
  });

  describe('denied bursts (count 3 within 60 s)', () => {
    const denial = (time: string) => ({ ...find(activity, 'CreateUser'), eventTime: `2025-06-06T${time}Z`, eventID: `deny-${time}` });
    const bursts = async (times: string[], stored: Array<{ time: string; eventId: string }> = []) =>
      (await analyzeAgents(batchOf(...times.map(denial)), directory({ agents: [TOOL], denials: { [TOOL]: stored } }), settings)).findings.filter((f) => f.finding.rule === 'agent-denied-burst');

    it('two denials: no burst', async () => expect(await bursts(['09:25:00', '09:25:10'])).toHaveLength(0));
    it('three within 60 s: one burst, raised at the third', async () => {
      const found = await bursts(['09:25:00', '09:25:10', '09:25:20']);
      expect(found.map((f) => f.finding.eventId)).toEqual(['deny-09:25:20']);
    });
    it('three spanning exactly 60 s: a burst', async () => expect(await bursts(['09:25:00', '09:25:30', '09:26:00'])).toHaveLength(1));
    it('three spanning 61 s: no burst', async () => expect(await bursts(['09:25:00', '09:25:30', '09:26:01'])).toHaveLength(0));
    it('a fourth and fifth denial in the same burst raise nothing more', async () => expect(await bursts(['09:25:00', '09:25:10', '09:25:20', '09:25:30', '09:25:40'])).toHaveLength(1));
    it('denials stored from earlier batches count toward the window', async () => {
      const stored = [{ time: '2025-06-06T09:24:50.000Z', eventId: 'deny-old-1' }, { time: '2025-06-06T09:24:55.000Z', eventId: 'deny-old-2' }];
      expect((await bursts(['09:25:00'], stored)).map((f) => f.finding.eventId)).toEqual(['deny-09:25:00']);
    });
    it('a redelivered batch whose denials are already stored raises the same one finding', async () => {
      const times = ['09:25:00', '09:25:10', '09:25:20'];
      const stored = times.map((t) => ({ time: `2025-06-06T${t}.000Z`, eventId: `deny-${t}` }));
      expect((await bursts(times, stored)).map((f) => f.finding.eventId)).toEqual(['deny-09:25:20']);
    });
    it('a busy agent: never asks for more than a burst on either side of each denial, and a full window is no new burst', async () => {
      const stored = Array.from({ length: 200 }, (_, i) => ({ time: '2025-06-06T09:24:30.000Z', eventId: `deny-old-${String(i).padStart(3, '0')}` }));
      const limits: number[] = [];
      const base = directory({ agents: [TOOL], denials: { [TOOL]: stored } });
      const spy: AgentDirectory = {
        ...base,
        deniedBefore: (agent, from, before, limit) => (limits.push(limit), base.deniedBefore(agent, from, before, limit)),
        deniedAfter: (agent, after, to, limit) => (limits.push(limit), base.deniedAfter(agent, after, to, limit)),
      };
      const found = (await analyzeAgents(batchOf(...['09:25:00', '09:25:10', '09:25:20', '09:25:25'].map(denial)), spy, settings)).findings.filter((f) => f.finding.rule === 'agent-denied-burst');
      expect(found).toHaveLength(0);
      expect(limits).toEqual(Array(8).fill(3));
    });
    it('out of order: a late denial completes the burst the stored ones began, and is told once', async () => {
      const stored = [{ time: '2025-06-06T09:25:20.000Z', eventId: 'deny-09:25:20' }, { time: '2025-06-06T09:25:10.000Z', eventId: 'deny-09:25:10' }];
      // The earliest arrives last: the stored 09:25:20 is now the third within 60 s.
      expect((await bursts(['09:25:00'], stored)).map((f) => f.finding.eventId)).toEqual(['deny-09:25:20']);
    });
  });
});

describe('agent capture rules', () => {
  it('match roles on their session issuer (with and without path) and users on their ARN', () => {
    const rules = agentCaptureRules([
      { principal: TOOL, iamArn: 'arn:aws:iam::111122223333:role/service-role/support-tools-role' },
      { principal: 'arn:aws:iam::111122223333:user/bot' },
      { principal: 'urn:ai-visibility:jwt:https://issuer#sub' },
    ]);
    expect(rules).toEqual([
      {
        name: 'ai-visibility-agents-roles-001',
        description: expect.any(String),
        pattern: {
          'detail-type': ['AWS API Call via CloudTrail'],
          detail: { userIdentity: { sessionContext: { sessionIssuer: { arn: ['arn:aws:iam::111122223333:role/service-role/support-tools-role', TOOL] } }, invokedBy: [{ exists: false }] } },
        },
      },
      {
        name: 'ai-visibility-agents-users-001',
        description: expect.any(String),
        pattern: { 'detail-type': ['AWS API Call via CloudTrail'], detail: { userIdentity: { arn: ['arn:aws:iam::111122223333:user/bot'], invokedBy: [{ exists: false }] } } },
      },
    ]);
  });

  it('split thousands of principals into rules under the pattern limit, the same way every time', () => {
    const many = Array.from({ length: 2_000 }, (_, i) => ({ principal: `arn:aws:iam::111122223333:role/agent-role-${String(i).padStart(5, '0')}` }));
    const rules = agentCaptureRules(many);
    expect(rules.length).toBeGreaterThan(10);
    expect(rules.length).toBeLessThan(300); // the default rules-per-bus quota
    for (const r of rules) expect(JSON.stringify(r.pattern).length).toBeLessThanOrEqual(DEFAULT_PATTERN_QUOTA);
    const covered = rules.flatMap((r) => ((r.pattern.detail as { userIdentity: { sessionContext: { sessionIssuer: { arn: string[] } } } }).userIdentity.sessionContext.sessionIssuer.arn));
    expect(new Set(covered).size).toBe(2_000);
    expect(agentCaptureRules([...many].reverse())).toEqual(rules);
  });

  it("fit EventBridge's default 2,048-character pattern quota with 200 long-named principals, and use a raised quota when told", () => {
    // IAM allows role names of 64 characters and paths of 512; real ones are long and pathed.
    const watched = Array.from({ length: 200 }, (_, i) => {
      const name = `bedrock-agent-action-group-execution-role-${String(i).padStart(3, '0')}-${'x'.repeat(15)}`.slice(0, 64);
      return i % 4 === 3
        ? { principal: `arn:aws:iam::111122223333:user/agent-bot-${i}` }
        : { principal: `arn:aws:iam::111122223333:role/${name}`, iamArn: `arn:aws:iam::111122223333:role/service-role/ai/${name}` };
    });
    const rules = agentCaptureRules(watched);
    for (const r of rules) {
      expect(JSON.stringify(r.pattern).length).toBeLessThanOrEqual(2_048);
      expect(r.name.length).toBeLessThanOrEqual(64);
    }
    const values = rules.flatMap((r) => {
      const identity = (r.pattern.detail as { userIdentity: { arn?: string[]; sessionContext?: { sessionIssuer: { arn: string[] } } } }).userIdentity;
      return identity.arn ?? identity.sessionContext!.sessionIssuer.arn;
    });
    expect(new Set(values).size).toBe(150 * 2 + 50);
    const raised = agentCaptureRules(watched, { patternQuota: 4_096 });
    expect(raised.length).toBeLessThan(rules.length * 0.6);
    for (const r of raised) expect(JSON.stringify(r.pattern).length).toBeLessThanOrEqual(4_096);
  });

  it("leave out the calls a service makes on the principal's behalf (invokedBy), in the pattern itself", () => {
    const [rule] = agentCaptureRules([{ principal: TOOL }]);
    const call = (identity: Record<string, unknown>) => ({
      'detail-type': 'AWS API Call via CloudTrail',
      detail: { userIdentity: { type: 'AssumedRole', sessionContext: { sessionIssuer: { type: 'Role', arn: TOOL } }, ...identity }, eventName: 'PutObject' },
    });
    expect(compileEventPattern(rule.pattern)(call({}))).toBe(true);
    expect(compileEventPattern(rule.pattern)(call({ invokedBy: 'bedrock.amazonaws.com' }))).toBe(false);
  });

  it("name a deployment's rules after its stack, within EventBridge's 64 characters, distinct for long names", () => {
    expect(agentRulePrefix('AiVisibility')).toBe('AiVisibility-agents-');
    const a = agentRulePrefix(`ai-visibility-${'security-tooling-'.repeat(4)}a`);
    const b = agentRulePrefix(`ai-visibility-${'security-tooling-'.repeat(4)}b`);
    expect(a).not.toBe(b);
    for (const p of [a, b]) expect(p.length + AGENT_RULE_SUFFIX_CHARS).toBeLessThanOrEqual(MAX_RULE_NAME);
    expect(agentCaptureRules([{ principal: TOOL }], { prefix: a })[0].name).toBe(`${a}roles-001`);
  });

  it('plan only the changes: new and changed rules, stale ones removed, identical ones left alone', () => {
    const [a, b] = agentCaptureRules(Array.from({ length: 120 }, (_, i) => ({ principal: `arn:aws:iam::111122223333:role/r${String(i).padStart(60, '0')}` })));
    const existing = [
      { name: a.name, pattern: JSON.stringify(a.pattern), state: RULE_STATE },
      { name: b.name, pattern: '{"detail":{}}', state: RULE_STATE },
      { name: 'ai-visibility-agents-roles-999', pattern: '{}', state: RULE_STATE },
      { name: 'someone-elses-rule', pattern: '{}', state: 'ENABLED' },
    ];
    expect(planRuleChanges(existing, [a, b], 'ai-visibility-agents-')).toEqual({ put: [b], remove: ['ai-visibility-agents-roles-999'] });
    // Another deployment's rules are never touched.
    expect(planRuleChanges([{ name: 'Other-agents-roles-001', pattern: '{}', state: RULE_STATE }], [a, b], 'ai-visibility-agents-').remove).toEqual([]);
  });
});
