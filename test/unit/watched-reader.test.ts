/**
 * The replay's reads of the watched principals (local/replay/replay.ts `watchedReader`): after a
 * delivery they are read again only when a write may have changed their index partition; without
 * a count (over HTTP) every time.
 */
import { watchedReader } from '../../local/replay/replay';
import type { WatchedPrincipal } from '../../lambdas/shared/agent-capture';
import type { LocalDynamoDb } from '../../local/replay/local-dynamodb';

const PARTITION = { index: { partitionKey: 'gsi1pk' }, partition: 'WATCH' };
const documents = {} as LocalDynamoDb['documents'];

function fakeRead() {
  let reads = 0;
  const read = async (): Promise<WatchedPrincipal[]> => {
    reads++;
    return [{ principal: `arn:aws:iam::111122223333:role/agent-${reads}` } as WatchedPrincipal];
  };
  return { read, reads: () => reads };
}

describe('watchedReader', () => {
  it('reads again only when the partition count moved, and asks for the count of that partition', async () => {
    let count = 0;
    const asked: unknown[] = [];
    const { read, reads } = fakeRead();
    const watched = watchedReader({ documents, partitionChanges: (...args) => (asked.push(args), () => count) }, read, PARTITION, 'table');
    expect(asked).toEqual([['table', 'gsi1pk', 'WATCH']]);
    const first = await watched();
    expect(await watched()).toBe(first);
    expect(reads()).toBe(1);
    count++;
    const second = await watched();
    expect(second).not.toBe(first);
    expect(await watched()).toBe(second);
    expect(reads()).toBe(2);
  });

  it('takes the count before it reads: a write during the read means the next call reads again', async () => {
    let count = 0;
    const { read: inner, reads } = fakeRead();
    const read = async () => {
      const out = await inner();
      count++; // a write lands while the query runs
      return out;
    };
    const watched = watchedReader({ documents, partitionChanges: () => () => count }, read, PARTITION);
    await watched();
    await watched();
    expect(reads()).toBe(2);
    await watched();
    expect(reads()).toBe(3);
  });

  it('reads every time without a count (over HTTP)', async () => {
    const { read, reads } = fakeRead();
    const watched = watchedReader({ documents }, read, PARTITION);
    for (let i = 0; i < 3; i++) await watched();
    expect(reads()).toBe(3);
  });
});
