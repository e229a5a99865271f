/**
 * The expression cache (local/replay/expression-cache.ts) against dynalite's own parser: for every
 * expression, the trees a cache hit hands dynalite must be the trees the parser builds for the same
 * request, node for node, with the same nodes shared, and with this request's value objects where
 * the parser puts its values (dynalite's actions evaluate them, and updateItem writes them into
 * the item).
 */
import { dirname, join } from 'node:path';
import { expressionCache } from '../../local/replay/expression-cache';

type Json = Record<string, unknown>;
const DYNALITE = dirname(require.resolve('dynalite'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validations = require(join(DYNALITE, 'validations')) as { validateExpressions(data: Json): string | undefined; validateAttributeValue(value: unknown): string | undefined };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const db = require(join(DYNALITE, 'db')) as { compare(op: 'GT', x: unknown, y: unknown): boolean };
const original = validations.validateExpressions;

const TREES = ['_updates', '_condition', '_keyCondition', '_filter', '_projection'];

/** A tree written out with its sharing: an object met again is `{ $ref: n }`, n its order of first meeting. */
function shape(tree: unknown, seen = new Map<object, number>()): unknown {
  if (tree === null || typeof tree !== 'object') return tree;
  const ref = seen.get(tree);
  if (ref !== undefined) return { $ref: ref };
  seen.set(tree, seen.size);
  if (Array.isArray(tree)) return { $array: tree.map((v) => shape(v, seen)) };
  return { $object: Object.entries(tree).map(([k, v]) => [k, shape(v, seen)]) };
}

/** Every object a tree holds. */
function objectsOf(tree: unknown, out = new Set<object>()): Set<object> {
  if (tree === null || typeof tree !== 'object' || out.has(tree)) return out;
  out.add(tree);
  for (const v of Object.values(tree)) objectsOf(v, out);
  return out;
}

// Requests as the store's writes and reads make them (lambdas/shared/inventory-store.ts), and the
// parser's other shapes: functions, nested paths, list indexes, IN, NOT, BETWEEN, ADD and DELETE.
const REQUESTS: Array<(n: number) => Json> = [
  (n) => ({
    UpdateExpression: 'SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1), #n2 = list_append(if_not_exists(#n2, :empty), :v2) REMOVE #n3 ADD #n4 :one',
    ConditionExpression: 'attribute_not_exists(pk) OR #n5 < :v5',
    ExpressionAttributeNames: { '#n0': 'status', '#n1': 'firstSeen', '#n2': 'history', '#n3': 'gone', '#n4': 'count', '#n5': 'lastSeen' },
    ExpressionAttributeValues: { ':v0': { S: `active-${n}` }, ':v1': { S: `2026-12-0${n}T00:00:00Z` }, ':empty': { L: [] }, ':v2': { L: [{ M: { at: { N: String(n) } } }] }, ':one': { N: '1' }, ':v5': { S: `2026-12-0${n}` } },
  }),
  (n) => ({ KeyConditionExpression: 'pk = :pk AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':pk': { S: `P${n}` }, ':a': { S: `S#0${n}` }, ':b': { S: `S#2${n}` } } }),
  (n) => ({ KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :p)', FilterExpression: 'size(#l) > :n AND contains(#s, :x) AND NOT (#k IN (:k1, :k2))', ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sk': 'gsi1sk', '#l': 'history', '#s': 'tags', '#k': 'kind' }, ExpressionAttributeValues: { ':pk': { S: `KIND#${n}` }, ':p': { S: 'F#' }, ':n': { N: String(n) }, ':x': { S: 'x' }, ':k1': { S: 'model' }, ':k2': { S: `agent-${n}` } } }),
  (n) => ({ ProjectionExpression: '#a, b.c[1], #d.e', ExpressionAttributeNames: { '#a': 'status', '#d': `d${n % 1}` } }),
  (n) => ({ UpdateExpression: 'SET m.#k = :v, l[0] = :w DELETE #ss :del', ConditionExpression: 'attribute_exists(m) AND (#ss <> :w OR m.#k = :v)', ExpressionAttributeNames: { '#k': 'key', '#ss': 'set' }, ExpressionAttributeValues: { ':v': { M: { deep: { N: String(n) } } }, ':w': { BOOL: n % 2 === 0 }, ':del': { SS: [`s${n}`] } } }),
];

describe('the expression cache', () => {
  it.each(REQUESTS.map((make, i) => [i, make] as const))('hands dynalite the parser\'s own trees on a hit (request %i)', (_i, make) => {
    const cache = expressionCache(original, validations.validateAttributeValue, db.compare);
    const first = make(1);
    expect(cache.validateExpressions(first)).toBeUndefined();
    for (const n of [2, 3]) {
      const hit = make(n);
      const parsed = make(n);
      expect(cache.validateExpressions(hit)).toBeUndefined();
      expect(original(parsed)).toBeUndefined();
      for (const field of TREES) {
        expect(shape(hit[field])).toEqual(shape(parsed[field]));
        if (hit[field] === undefined) continue;
        // This request's own value objects, where the parser put its values; no node of the first request's.
        const held = objectsOf(hit[field]);
        const values = (o: Json) => Object.values((o.ExpressionAttributeValues ?? {}) as Json) as object[];
        expect(values(hit).filter((v) => held.has(v)).length).toBe(values(parsed).filter((v) => objectsOf(parsed[field]).has(v)).length);
        for (const node of objectsOf(first[field])) expect(held.has(node)).toBe(false);
      }
    }
    expect(cache.stats).toEqual({ hits: 2, misses: 1 });
  });

  it('keeps no tree a request changed: dynalite writes into what it is handed', () => {
    const cache = expressionCache(original, validations.validateAttributeValue, db.compare);
    const first = REQUESTS[0](1);
    cache.validateExpressions(first);
    // updateItem replaces each SET section's value with what it resolves to.
    for (const section of (first._updates as { sections: Json[] }).sections) section.val = 'changed';
    const hit = REQUESTS[0](2);
    const parsed = REQUESTS[0](2);
    cache.validateExpressions(hit);
    original(parsed);
    expect(shape(hit._updates)).toEqual(shape(parsed._updates));
  });

  it('answers as the parser does when it fails, and for different names, value types or BETWEEN bounds out of order', () => {
    const cache = expressionCache(original, validations.validateAttributeValue, db.compare);
    const make = REQUESTS[1];
    cache.validateExpressions(make(1));
    const outOfOrder = { ...make(2), ExpressionAttributeValues: { ':pk': { S: 'P' }, ':a': { S: 'S#9' }, ':b': { S: 'S#1' } } };
    expect(cache.validateExpressions({ ...outOfOrder })).toBe(original({ ...outOfOrder }));
    expect(cache.validateExpressions({ ...outOfOrder })).toMatch(/BETWEEN/);
    const mixed = { ...make(2), ExpressionAttributeValues: { ':pk': { S: 'P' }, ':a': { N: '1' }, ':b': { S: 'S#1' } } };
    expect(cache.validateExpressions({ ...mixed })).toBe(original({ ...mixed }));
    const badValue = { ...make(2), ExpressionAttributeValues: { ':pk': { S: 'P' }, ':a': { N: 'x' }, ':b': { N: '2' } } };
    expect(cache.validateExpressions({ ...badValue })).toBe(original({ ...badValue }));
    const named = REQUESTS[2](1);
    cache.validateExpressions(named);
    const renamed: Json = { ...REQUESTS[2](2), ExpressionAttributeNames: { ...(REQUESTS[2](2).ExpressionAttributeNames as Json), '#s': 'other' } };
    const parsed = { ...renamed };
    cache.validateExpressions(renamed);
    original(parsed);
    expect(shape(renamed._filter)).toEqual(shape(parsed._filter));
  });
});
