/**
 * Jest global setup and teardown: `npm test` must leave the system temp directory as it found it.
 * The setup lists what the tests could leave there (our prefixes, CDK's `cdk.out*`, Jest's own
 * cache); the teardown fails the run, naming the leftovers, if anything new of that kind remains.
 * Other processes' files are not ours to judge and are not looked at.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

const OURS = /^(ai-visibility-|cdk\.out|jest_)/;
const KEY = '__aiVisibilityTempBefore';

const listing = () => new Set(readdirSync(tmpdir()).filter((name) => OURS.test(name)));

export function setup(): void {
  (globalThis as Record<string, unknown>)[KEY] = listing();
}

export function teardown(): void {
  const before = (globalThis as Record<string, unknown>)[KEY] as Set<string> | undefined;
  if (!before) return;
  const left = [...listing()].filter((name) => !before.has(name));
  if (left.length > 0) throw new Error(`tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in ${tmpdir()}: ${left.sort().join(', ')}`);
}
