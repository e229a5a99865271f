/**
 * Organization mode, locally: records of several accounts and regions (what the members forward
 * to the hub's bus keeps each event's own account and region) replayed through the same
 * handlers give one inventory, per account and region. The real SageMaker developer guide
 * CreateEndpoint record, and a copy of it moved to another account and region ("built from the
 * real record": only the account, region and eventID are changed).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cliRunner, useTempDirs } from '../support';
import { aiFixture, FIXTURES } from '../helpers';

const temp = useTempDirs();
const cli = cliRunner();

it('gives one inventory with each account and region kept apart', async () => {
  const dir = temp.dir('ai-visibility-org-replay-');
  mkdirSync(join(dir, 'logs'));
  const record = aiFixture('CreateEndpoint');
  const moved = JSON.parse(JSON.stringify(record).replaceAll('123456789012', '777788889999').replaceAll('us-west-2', 'eu-west-1')) as Record<string, unknown>;
  writeFileSync(join(dir, 'logs', 'member-a.json'), JSON.stringify({ Records: [record] }));
  writeFileSync(join(dir, 'logs', 'member-b.json'), JSON.stringify({ Records: [{ ...moved, eventID: 'b6f85b21-EXAMPLE', recipientAccountId: '777788889999' }] }));
  const { code, stdout, stderr } = await cli('replay', '--json', '--store', join(dir, 'store'), join(dir, 'logs'));
  expect([code, stderr]).toEqual([0, '']);
  const report = JSON.parse(stdout) as { inventory: Array<{ arn: string; kind: string; account: string; region: string }> };
  const endpoints = report.inventory.filter((r) => r.kind === 'inference-endpoint').map((r) => [r.account, r.region, r.arn]).sort();
  expect(endpoints).toEqual([
    ['123456789012', 'us-west-2', 'arn:aws:sagemaker:us-west-2:123456789012:endpoint/exampleendpoint'],
    ['777788889999', 'eu-west-1', 'arn:aws:sagemaker:eu-west-1:777788889999:endpoint/exampleendpoint'],
  ]);
});

/**
 * The agent scenario across two member accounts (test/fixtures/cloudtrail/documented/agents-org-*.json,
 * built from the documented shapes): a Bedrock agent created in 111122223333 whose role, within
 * seconds, snapshots a volume there, assumes a role in 444455556666 and, through it, describes and
 * stops an instance there in another region. Laid out as an organization trail writes them.
 */
const ORG_SCENARIO = ['111122223333', '444455556666'].map((account) => join(FIXTURES, 'documented', `agents-org-${account}.json`));
const AGENT_ROLE = 'arn:aws:iam::111122223333:role/ops-agent-role';
const ASSUMED = 'arn:aws:iam::444455556666:role/ops-automation';
const EVERY_ACTION = [
  [AGENT_ROLE, 'org-0002-CreateSnapshot'],
  [AGENT_ROLE, 'org-0003-AssumeRole'],
  [ASSUMED, 'org-0004-DescribeInstances'],
  [ASSUMED, 'org-0005-StopInstances'],
];

/** The scenario's files where an organization trail puts them, delivered at `minute` past 10:00 (by account). */
function orgTrail(root: string, minutes: Record<string, string>): string {
  for (const [i, account] of ['111122223333', '444455556666'].entries()) {
    const region = account === '111122223333' ? 'us-east-1' : 'us-west-2';
    const folder = join(root, 'AWSLogs', 'o-exampleorg1', account, 'CloudTrail', region, '2026', '11', '30');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${account}_CloudTrail_${region}_20261130T10${minutes[account]}Z_EXAMPLE${i}UNIQUE0.json.gz`), gzipSync(readFileSync(ORG_SCENARIO[i])));
  }
  return root;
}

type AgentReport = { agents: Array<{ arn: string; identifiedBy: Array<{ how: string; eventId: string }> }>; agentActions: Array<{ agent: string; eventId: string; account: string; region: string }> };
const actionsOf = (report: AgentReport) => report.agentActions.map((a) => [a.agent, a.eventId]).sort();

describe('an agent created in one member account that acts within seconds in both', () => {
  it('has every action in its ledger, in both accounts and regions, and nobody else’s', async () => {
    const root = orgTrail(temp.dir('ai-visibility-org-agent-'), { '111122223333': '05', '444455556666': '05' });
    const { code, stdout } = await cli('replay', '--json', '--store', temp.dir('ai-visibility-store-'), root);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as AgentReport;
    expect(actionsOf(report)).toEqual(EVERY_ACTION);
    expect(report.agentActions.filter((a) => a.agent === ASSUMED).map((a) => [a.account, a.region])).toEqual([
      ['444455556666', 'us-west-2'],
      ['444455556666', 'us-west-2'],
    ]);
    expect(report.agents.find((a) => a.arn === ASSUMED)!.identifiedBy).toEqual([expect.objectContaining({ how: 'constructed', eventId: 'org-0003-AssumeRole' })]);
  });

  it('finds the assumed role’s actions in a file read before the role was known, by the look-back', async () => {
    // The member's file is read first (here: named first); the role is watched only after the hub account's file.
    const dir = temp.dir('ai-visibility-org-lookback-');
    writeFileSync(join(dir, '1-member.json'), readFileSync(ORG_SCENARIO[1]));
    writeFileSync(join(dir, '2-hub.json'), readFileSync(ORG_SCENARIO[0]));
    const replayed = async (...flags: string[]) => JSON.parse((await cli('replay', '--json', ...flags, '--store', temp.dir('ai-visibility-store-'), dir)).stdout) as AgentReport;
    expect(actionsOf(await replayed())).toEqual(EVERY_ACTION);
    // No look-back: the member's actions are lost; the agent capture rules lose the same, and the one in the identifying file.
    expect(actionsOf(await replayed('--look-back-minutes', '0'))).toEqual(EVERY_ACTION.slice(0, 2));
    expect(actionsOf(await replayed('--agent-capture', 'rules'))).toEqual([]);
  });
});
