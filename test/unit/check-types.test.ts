/**
 * The in-process dynalite's request type check (local/replay/check-types.ts) against dynalite's
 * own: for every operation's type table, seeded random requests, well-typed and not (members of
 * the wrong type, null or unknown members, strings where booleans go, blobs, AttributeValues with
 * several members, deep lists and maps), give the same copy, the same input left behind, or the
 * same error.
 */
import { dirname, join } from 'node:path';
import { fastCheckTypes } from '../../local/replay/check-types';
import { seededRandom } from '../helpers';

type Json = Record<string, unknown>;
const DYNALITE = dirname(require.resolve('dynalite'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validations = require(join(DYNALITE, 'validations')) as { checkTypes(data: Json, types: unknown): Json };
let fallbacks = 0;
const fast = fastCheckTypes((data, types) => {
  fallbacks++;
  return validations.checkTypes(data, types);
});
const OPERATIONS = ['batchGetItem', 'batchWriteItem', 'createTable', 'deleteItem', 'describeTable', 'getItem', 'listTables', 'putItem', 'query', 'scan', 'updateItem', 'updateTable', 'deleteTable'];
// eslint-disable-next-line @typescript-eslint/no-require-imports
const typesOf = (operation: string) => (require(join(DYNALITE, 'validations', operation)) as { types: Json }).types;

type Spec = string | { type?: string; children?: unknown };
const ATTRIBUTE_VALUE: Record<string, Spec> = { S: 'String', B: 'Blob', N: 'String', BOOL: 'Boolean', NULL: 'Boolean', BS: { type: 'List', children: 'Blob' }, NS: { type: 'List', children: 'String' }, SS: { type: 'List', children: 'String' }, L: { type: 'List', children: 'AttrStruct<ValueStruct>' }, M: { type: 'Map<AttributeValue>', children: 'AttrStruct<ValueStruct>' } };
const ODD: unknown[] = [null, 'TRUE', 'no', 'x', 1.5, 7, true, false, [], {}, ['a'], { a: 1 }, 'AAAA', 'abc'];

/** A value of `spec`, or (with probability `oddness`) something dynalite has to convert, delete or refuse. */
function generate(spec: Spec, next: () => number, oddness: number, depth: number): unknown {
  if (next() < oddness) return ODD[Math.floor(next() * ODD.length)];
  let children = typeof spec === 'string' ? undefined : spec.children;
  if (typeof children === 'string') children = { type: children };
  const type = (typeof spec === 'string' ? spec : spec.type!).replace(/<.*$/, '');
  switch (type) {
    case 'AttrStruct': {
      const kinds = depth > 3 ? ['S', 'N', 'BOOL', 'NULL', 'SS', 'NS'] : ['S', 'N', 'BOOL', 'NULL', 'SS', 'NS', 'L', 'M', 'M', 'L', 'B'];
      const out: Json = {};
      const count = next() < 0.05 ? 2 : 1;
      for (let i = 0; i < count; i++) {
        const kind = kinds[Math.floor(next() * kinds.length)];
        out[kind] = generate(ATTRIBUTE_VALUE[kind], next, oddness, depth + 1);
      }
      if (next() < oddness) out.X = 'unknown member';
      return out;
    }
    case 'Boolean':
      return next() < 0.5;
    case 'Short':
    case 'Integer':
    case 'Long':
    case 'Double':
      return Math.round(next() * 1000) / 10;
    case 'String':
      return `s${Math.floor(next() * 100)}`;
    case 'Blob':
      return 'AAAA';
    case 'List':
    case 'ParameterizedList':
      return Array.from({ length: Math.floor(next() * 4) }, () => generate(children as Spec, next, oddness, depth + 1));
    case 'Map':
    case 'ParameterizedMap': {
      const out: Json = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) out[`k${i}`] = generate(children as Spec, next, oddness, depth + 1);
      return out;
    }
    case 'ValueStruct':
    case 'FieldStruct':
      return struct(children as Record<string, Spec>, next, oddness, depth + 1);
    default:
      throw new Error(`no generator for ${type}`);
  }
}

function struct(types: Record<string, Spec>, next: () => number, oddness: number, depth: number): Json {
  const out: Json = {};
  for (const [key, spec] of Object.entries(types)) if (next() < 0.6) out[key] = generate(spec, next, oddness, depth);
  if (next() < oddness) out.Unknown = 'x';
  return out;
}

/** What a check does with a request: its result and what it left of the input, or its error. */
function outcome(check: (data: Json, types: unknown) => Json, data: Json, types: unknown): unknown {
  try {
    const result = check(data, types);
    return { result: JSON.stringify(result), keys: JSON.stringify(Object.keys(result)), input: JSON.stringify(data) };
  } catch (error) {
    const e = error as Error & { statusCode?: number; body?: unknown };
    return { error: e.message, statusCode: e.statusCode, body: e.body };
  }
}

describe('fastCheckTypes', () => {
  it.each(OPERATIONS)('%s: the same outcome as dynalite\'s check on 3,000 random requests', (operation) => {
    const types = typesOf(operation) as Record<string, Spec>;
    const next = seededRandom(operation.length * 7919);
    let clean = 0;
    let cleanFallbacks = 0;
    for (let i = 0; i < 3_000; i++) {
      const oddness = i % 3 === 0 ? 0 : i % 3 === 1 ? 0.01 : 0.1;
      const request = struct(types, next, oddness, 0);
      const text = JSON.stringify(request);
      const expected = outcome(validations.checkTypes, JSON.parse(text) as Json, types);
      const before = fallbacks;
      expect(outcome(fast, JSON.parse(text) as Json, types)).toEqual(expected);
      if (oddness === 0 && !/"B"|"BS"/.test(text)) {
        clean++;
        cleanFallbacks += fallbacks - before;
      }
    }
    // Every well-typed request without a blob took the fast path (and matched).
    expect(clean).toBeGreaterThan(500);
    expect(cleanFallbacks).toBe(0);
  });

  it('keeps the member order of the type table and floors integers, as dynalite does', () => {
    const types = typesOf('query');
    const request = { Limit: 2.7, TableName: 't', ExpressionAttributeValues: { ':v': { N: '1' } } };
    const got = fast(structuredClone(request), types);
    expect(JSON.stringify(got)).toBe(JSON.stringify(validations.checkTypes(structuredClone(request), types)));
    expect(got.Limit).toBe(2);
  });
});
