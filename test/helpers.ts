/**
 * Fixture access for the tests. Real CloudTrail records live in test/fixtures/cloudtrail/{ai,non-ai}
 * (origin and license in SOURCES.md); records built from documented API shapes in
 * test/fixtures/cloudtrail/documented, and tests that use them say so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalize } from '../lambdas/classifier/normalize';
import type { NormalizedEvent } from '../lambdas/classifier/types';

export const FIXTURES = join(__dirname, 'fixtures', 'cloudtrail');

/** mulberry32: a small seeded generator in [0, 1), so a test's random choices repeat run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** A real record from fixtures/cloudtrail/ai by (unique) file-name fragment. */
export function aiFixture(fragment: string): Record<string, unknown> {
  const matches = readdirSync(join(FIXTURES, 'ai')).filter((f) => f.includes(fragment));
  if (matches.length !== 1) throw new Error(`fixture "${fragment}" matches ${matches.length} files: ${matches.join(', ')}`);
  return readJson(join(FIXTURES, 'ai', matches[0]));
}

export function aiFixtureFiles(): string[] {
  return readdirSync(join(FIXTURES, 'ai')).map((f) => join(FIXTURES, 'ai', f));
}

/** Every record in fixtures/cloudtrail/non-ai: single records, envelopes and JSON lines. */
export function nonAiRecords(): Array<{ source: string; value: Record<string, unknown> }> {
  const out: Array<{ source: string; value: Record<string, unknown> }> = [];
  for (const file of readdirSync(join(FIXTURES, 'non-ai'))) {
    const text = readFileSync(join(FIXTURES, 'non-ai', file), 'utf8');
    if (file.endsWith('.ndjson')) {
      text.split('\n').forEach((line, i) => line.trim() && out.push({ source: `${file}:${i + 1}`, value: JSON.parse(line) }));
    } else {
      out.push({ source: file, value: JSON.parse(text) });
    }
  }
  return out;
}

/** Records built from the documented API shapes (not real records). */
export function documentedRecord(eventName: string, index = 0): Record<string, unknown> {
  const all = readJson(join(FIXTURES, 'documented', 'records-built-from-api-docs.json')).Records as Record<string, unknown>[];
  const matches = all.filter((r) => r.eventName === eventName);
  if (!matches[index]) throw new Error(`no documented record #${index} for ${eventName}`);
  return structuredClone(matches[index]);
}

export function documentedRecords(): Record<string, unknown>[] {
  return readJson(join(FIXTURES, 'documented', 'records-built-from-api-docs.json')).Records as Record<string, unknown>[];
}

export function normalized(input: unknown): NormalizedEvent {
  const result = normalize(input);
  if (!result.ok) throw new Error(`expected a valid event, got: ${result.reason}`);
  return result.event;
}
