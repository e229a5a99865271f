/**
 * The realistic corpus laid out as a copy of an organization trail (`realisticCorpus`, layout
 * `organization`): many small files in a directory per account, region and day, the case of a
 * month of an organization's CloudTrail (docs/performance.md, "Walking instead of listing").
 *
 *   npx tsx test/bench/organization-corpus.ts DIR [RECORDS=100000] [RECORDS_PER_FILE=5]
 */
import { mkdirSync } from 'node:fs';
import { realisticCorpus } from './startup';

const [dir, records, perFile] = [process.argv[2], Number(process.argv[3] ?? 100_000), Number(process.argv[4] ?? 5)];
if (!dir || !(records > 0) || !(perFile > 0)) {
  console.error('usage: tsx test/bench/organization-corpus.ts DIR [RECORDS] [RECORDS_PER_FILE]');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
console.log(realisticCorpus(dir, records, 'organization', perFile));
