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
const ATTRIBUTE_TYPE = /attribute_type/i;
const immediateType = (value: unknown): string => {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return '';
  for (const t of TYPES) if ((value as Json)[t] != null) return t;
  return '';
};

interface Entry {
  readonly trees: ReadonlyArray<readonly [string, Plan]>;
  /** BETWEEN nodes whose bounds are both values: their keys, to check the order again. */
  readonly between: ReadonlyArray<readonly [string, string]>;
}

/**
 * A parsed tree as the steps that build a fresh copy of it: each distinct object once, children
 * before their parents (so nodes the parse shares stay shared), each member a constant, an
 * object built before, or a value slot filled with this call's value object. Rebuilding from a
 * plan allocates only the copy: dynalite changes the trees it is handed (updateItem replaces each
 * SET section's value with what it resolves to), so every call gets its own.
 */
interface Plan {
  readonly steps: ReadonlyArray<PlanStep>;
}
interface PlanStep {
  readonly array: boolean;
  /** Member names (indexes for arrays, in order) and, for each, how its value is made. */
  readonly keys: readonly string[];
  readonly kinds: ReadonlyArray<0 | 1 | 2>; // 0: the constant; 1: the object built at that step; 2: the value of that key
  readonly refs: readonly unknown[];
}

function planOf(tree: object, slotOf: (o: object) => string | undefined): Plan {
  const steps: PlanStep[] = [];
  const index = new Map<object, number>();
  const visit = (node: object): number => {
    const seen = index.get(node);
    if (seen !== undefined) return seen;
    const keys: string[] = [];
    const kinds: Array<0 | 1 | 2> = [];
    const refs: unknown[] = [];
    for (const [k, v] of Object.entries(node)) {
      keys.push(k);
      const slot = v !== null && typeof v === 'object' ? slotOf(v) : undefined;
      if (slot !== undefined) {
        kinds.push(2);
        refs.push(slot);
      } else if (v !== null && typeof v === 'object') {
        kinds.push(1);
        refs.push(visit(v));
      } else {
        kinds.push(0);
        refs.push(v);
      }
    }
    const at = steps.length;
    steps.push({ array: Array.isArray(node), keys, kinds, refs });
    index.set(node, at);
    return at;
  };
  visit(tree);
  return { steps };
}

/** A fresh copy of the planned tree, with `values` where its slots stood. */
function build(plan: Plan, values: Json): unknown {
  const built: unknown[] = new Array(plan.steps.length);
  for (let i = 0; i < plan.steps.length; i++) {
    const { array, keys, kinds, refs } = plan.steps[i];
    if (array) {
      const out: unknown[] = [];
      for (let j = 0; j < kinds.length; j++) out.push(kinds[j] === 0 ? refs[j] : kinds[j] === 1 ? built[refs[j] as number] : values[refs[j] as string]);
      built[i] = out;
    } else {
      const out: Json = {};
      for (let j = 0; j < kinds.length; j++) out[keys[j]] = kinds[j] === 0 ? refs[j] : kinds[j] === 1 ? built[refs[j] as number] : values[refs[j] as string];
      built[i] = out;
    }
  }
  return built[built.length - 1];
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

  // Each part length-prefixed, so no two requests share a key: no escaping, no arrays to serialize.
  const keyOf = (data: Json): string | undefined => {
    let key = '';
    let any = false;
    for (const [field] of EXPRESSIONS) {
      const text = data[field];
      if (text == null) {
        key += '-';
        continue;
      }
      if (typeof text !== 'string' || ATTRIBUTE_TYPE.test(text)) return undefined;
      any = true;
      key += `${text.length}:${text}`;
    }
    if (!any) return undefined;
    const names = data.ExpressionAttributeNames;
    const values = data.ExpressionAttributeValues;
    if (names != null && (typeof names !== 'object' || Array.isArray(names))) return undefined;
    if (values != null && (typeof values !== 'object' || Array.isArray(values))) return undefined;
    if (names == null) key += '-';
    else {
      const entries = Object.entries(names as Json);
      key += `${entries.length}n`;
      for (const [k, v] of entries) {
        // A name that is no string is the parser's to refuse; its text would not tell it apart.
        if (typeof v !== 'string') return undefined;
        key += `${k.length}:${k}${v.length}:${v}`;
      }
    }
    if (values == null) key += '-';
    else {
      const entries = Object.entries(values as Json);
      key += `${entries.length}v`;
      for (const [k, v] of entries) key += `${k.length}:${k}${immediateType(v)};`;
    }
    return key;
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
    for (const [field, plan] of entry.trees) data[field] = build(plan, values);
    return undefined;
  };

  const remember = (key: string, data: Json) => {
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    const values = (data.ExpressionAttributeValues ?? {}) as Json;
    const slots = new Map<unknown, string>();
    for (const [k, v] of Object.entries(values)) if (v && typeof v === 'object') slots.set(v, k);
    const slotOf = (o: unknown) => slots.get(o);
    const trees: Array<readonly [string, Plan]> = [];
    const between: Array<readonly [string, string]> = [];
    for (const [, field] of EXPRESSIONS) {
      const tree = data[field];
      if (tree === undefined) continue;
      // Every parse is an object; anything else is left to the parser, every time.
      if (tree === null || typeof tree !== 'object') return;
      // Planned before dynalite's action runs: the trees as the parser left them.
      trees.push([field, planOf(tree as object, slotOf)]);
      betweenOf(tree, slotOf, between);
    }
    cache.set(key, { trees, between });
  };

  return { validateExpressions, stats };
}
