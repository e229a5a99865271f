/**
 * The replay's `--json` on the bundled fixtures, held against a recorded copy
 * (test/fixtures/golden/replay-fixtures.json): work on the replay's speed (issue 17) must leave
 * what it reports unchanged. Only wall-clock fields differ between runs (the change feed's
 * publish time of each domain event), and they are left out on both sides. After a change that
 * is meant to change the report, record it again with `UPDATE_GOLDEN=1 npx jest replay-golden`
 * and review the diff.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliRunner, comparableReport as comparable, useTempDirs } from '../support';

const GOLDEN = join(__dirname, '..', 'fixtures', 'golden', 'replay-fixtures.json');
const temp = useTempDirs();


describe('the replay of the bundled fixtures', () => {
  it('reports exactly what the recorded copy holds', async () => {
    const { code, stdout } = await cliRunner({ store: temp.dir('ai-visibility-store-') })('replay', '--json');
    expect(code).toBe(3); // one bundled record is quarantined on purpose
    const now = comparable(JSON.parse(stdout));
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(join(GOLDEN, '..'), { recursive: true });
      writeFileSync(GOLDEN, `${JSON.stringify(now, null, 1)}\n`);
    }
    expect(now).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  }, 120_000);
});
