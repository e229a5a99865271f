/**
 * Organization mode, locally: records of several accounts and regions (what the members forward
 * to the hub's bus keeps each event's own account and region) replayed through the same
 * handlers give one inventory, per account and region. The real SageMaker developer guide
 * CreateEndpoint record, and a copy of it moved to another account and region ("built from the
 * real record": only the account, region and eventID are changed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliRunner, useTempDirs } from '../support';
import { aiFixture } from '../helpers';

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
