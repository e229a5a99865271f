/**
 * dynalite's expression validation, parsed once per expression text: the in-process dynalite
 * (in-process-dynamodb.ts) spends a third of a replay in its PEG parsers, parsing the same few
 * hundred expression texts thousands of times (the store's writes generate `SET #n0 = :v1, ...`
 * with the same names for the same attributes). `cachedValidateExpressions` gives exactly the
 * answer of the function it wraps, dynalite's validations.validateExpressions:
 *
 *   - the cache key is everything the parse can depend on but the values' contents: the five
 *     expressions, the names (resolved into the trees), and each value's key and immediate type
 *     (the parsers check operand types: getImmediateType's order, S first);
 *   - only successful parses are kept; an error is always the parser's own answer;
 *   - on a hit, each value is still validated (validateAttributeValue, which also normalizes
 *     numbers in place) with the original's message, and the trees are copied with this call's
 *     value objects where the first call's stood (the actions evaluate them);
 *   - two checks read values' contents: BETWEEN's bounds must be in order (checked again on
 *     every hit: out of order, the original answers), and attribute_type's type name (an
 *     expression with attribute_type is never cached).
 *
 * Pure: it takes the original function and returns the wrapper; in-process-dynamodb.ts installs it.
 */

type Json = Record<string, unknown>;
type Validate = (data: Json) => string | undefined;
type Compare = (op: 'GT', x: unknown, y: unknown) => boolean;

const EXPRESSIONS = [
  ['UpdateExpression', '_updates'],
  ['ConditionExpression', '_condition'],
  ['KeyConditionExpression', '_keyCondition'],
  ['FilterExpression', '_filter'],
  ['ProjectionExpression', '_projection'],
] as const;
// The parsers' getImmediateType: the first of these a value carries.
const TYPES = ['S', 'N', 'B', 'NULL', 'BOOL', 'SS', 'NS', 'BS', 'L', 'M'] as const;
const immediateType = (value: unknown): string => {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return '';
  for (const t of TYPES) if ((value as Json)[t] != null) return t;
  return '';
};

/** A parsed tree with the value objects replaced by their keys. */
const SLOT = Symbol('value slot');
interface Slot {
  readonly [SLOT]: string;
}
interface Entry {
  readonly trees: ReadonlyArray<readonly [string, unknown]>;
  /** BETWEEN nodes whose bounds are both values: their keys, to check the order again. */
  readonly between: ReadonlyArray<readonly [string, string]>;
}

/** Copy `tree`, replacing the objects of `slots` by what `fill` gives; shared nodes stay shared. */
function copyTree(tree: unknown, fill: (o: object) => unknown, memo: Map<object, unknown>): unknown {
  if (tree === null || typeof tree !== 'object') return tree;
  const filled = fill(tree);
  if (filled !== undefined) return filled;
  const seen = memo.get(tree);
  if (seen !== undefined) return seen;
  if (Array.isArray(tree)) {
    const out: unknown[] = [];
    memo.set(tree, out);
    for (const item of tree) out.push(copyTree(item, fill, memo));
    return out;
  }
  const out: Json = {};
  memo.set(tree, out);
  for (const [k, v] of Object.entries(tree)) out[k] = copyTree(v, fill, memo);
  return out;
}

/** The BETWEEN nodes of a condition tree whose bounds are both expression values. */
function betweenOf(tree: unknown, slotOf: (o: unknown) => string | undefined, out: Array<readonly [string, string]>, seen = new Set<object>()): void {
  if (tree === null || typeof tree !== 'object' || seen.has(tree) || slotOf(tree) !== undefined) return;
  seen.add(tree);
  const node = tree as Json;
  if (node.type === 'between' && Array.isArray(node.args)) {
    const low = slotOf(node.args[1]);
    const high = slotOf(node.args[2]);
    if (low !== undefined && high !== undefined) out.push([low, high]);
  }
  for (const v of Object.values(node)) betweenOf(v, slotOf, out, seen);
}

export interface ExpressionCache {
  readonly validateExpressions: Validate;
  /** Parses answered from the cache, and parses run. */
  readonly stats: { hits: number; misses: number };
}

/**
 * Wrap dynalite's validateExpressions. `validateAttributeValue` and `compare` are its own
 * (validations.validateAttributeValue, db.compare). At most `maxEntries` expression shapes are kept.
 */
export function expressionCache(
  original: Validate,
  validateAttributeValue: (value: unknown) => string | undefined,
  compare: Compare,
  maxEntries = 10_000,
): ExpressionCache {
  const cache = new Map<string, Entry>();
  const stats = { hits: 0, misses: 0 };

  const keyOf = (data: Json): string | undefined => {
    const parts: unknown[] = [];
    let any = false;
    for (const [field] of EXPRESSIONS) {
      const text = data[field];
      if (text != null && typeof text !== 'string') return undefined;
      if (typeof text === 'string' && /attribute_type/i.test(text)) return undefined;
      if (text != null) any = true;
      parts.push(text ?? null);
    }
    if (!any) return undefined;
    const names = data.ExpressionAttributeNames;
    const values = data.ExpressionAttributeValues;
    if (names != null && (typeof names !== 'object' || Array.isArray(names))) return undefined;
    if (values != null && (typeof values !== 'object' || Array.isArray(values))) return undefined;
    parts.push(names == null ? null : Object.entries(names as Json));
    parts.push(values == null ? null : Object.entries(values as Json).map(([k, v]) => [k, immediateType(v)]));
    return JSON.stringify(parts);
  };

  const validateExpressions: Validate = (data) => {
    const key = keyOf(data);
    const entry = key === undefined ? undefined : cache.get(key);
    if (key === undefined || entry === undefined) {
      const message = original(data);
      if (key === undefined || message !== undefined) return message;
      stats.misses++;
      remember(key, data);
      return undefined;
    }
    const values = (data.ExpressionAttributeValues ?? {}) as Json;
    for (const [k, v] of Object.entries(values)) {
      const message = validateAttributeValue(v);
      if (message) return `ExpressionAttributeValues contains invalid value: ${message} for key ${k}`;
    }
    for (const [low, high] of entry.between) if (compare('GT', values[low], values[high])) return original(data);
    stats.hits++;
    const fill = (o: object) => ((o as Partial<Slot>)[SLOT] !== undefined ? values[(o as Slot)[SLOT]] : undefined);
    for (const [field, tree] of entry.trees) data[field] = copyTree(tree, fill, new Map());
    return undefined;
  };

  const remember = (key: string, data: Json) => {
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    const values = (data.ExpressionAttributeValues ?? {}) as Json;
    const slots = new Map<unknown, Slot>();
    for (const [k, v] of Object.entries(values)) if (v && typeof v === 'object') slots.set(v, { [SLOT]: k });
    const toSlot = (o: object) => slots.get(o);
    const trees: Array<readonly [string, unknown]> = [];
    const between: Array<readonly [string, string]> = [];
    const slotOf = (o: unknown) => slots.get(o)?.[SLOT];
    for (const [, field] of EXPRESSIONS) {
      if (data[field] === undefined) continue;
      trees.push([field, copyTree(data[field], toSlot, new Map())]);
      betweenOf(data[field], slotOf, between);
    }
    cache.set(key, { trees, between });
  };

  return { validateExpressions, stats };
}
