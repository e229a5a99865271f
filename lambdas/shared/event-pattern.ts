/**
 * An EventBridge event-pattern matcher, so the local replay applies the stack's own rules.
 *
 * Semantics follow the EventBridge user guide ("Creating event patterns", "Comparison operators")
 * and the event-ruler README (the open-source engine behind EventBridge):
 * - every field named in the pattern must be present in the event (except `exists: false`);
 * - the values listed for a field are alternatives (OR), the fields are conjunctive (AND);
 * - an array in the event matches when any of its elements matches; a nested pattern is
 *   evaluated against one array element at a time ("array-consistent" matching);
 * - `$or` holds two or more sub-patterns at the same level, any of which may match;
 * - operators: exact (string, number, boolean, null), prefix, suffix, equals-ignore-case
 *   (alone or inside prefix/suffix), wildcard, anything-but (value, list, prefix, suffix,
 *   equals-ignore-case, wildcard), numeric, exists, cidr (IPv4).
 * - `exists` only looks at leaves: an object where the pattern expects a leaf counts as absent.
 *
 * Patterns are compiled once into closures; matching allocates nothing, which matters because
 * the replay evaluates every rule against every record of a CloudTrail archive.
 * Known deviation: `exists: false` below an array is evaluated per array element.
 */

export type CompiledPattern = (event: unknown) => boolean;
type NodeMatcher = (node: unknown) => boolean;
type LeafTest = (value: Leaf) => boolean;
type Leaf = string | number | boolean | null;

export class EventPatternError extends Error {
  constructor(message: string, readonly path: string) {
    super(`invalid event pattern at ${path || '(root)'}: ${message}`);
    this.name = 'EventPatternError';
  }
}

/** Compile a pattern; throws EventPatternError with the offending path on an invalid one. */
export function compileEventPattern(pattern: unknown): CompiledPattern {
  if (!isPlainObject(pattern)) throw new EventPatternError('a pattern must be a JSON object', '');
  const matcher = compileObject(pattern, '');
  return (event) => matcher(event);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compileObject(pattern: Record<string, unknown>, path: string): NodeMatcher {
  const fieldMatchers: NodeMatcher[] = [];
  for (const [key, sub] of Object.entries(pattern)) {
    const subPath = path ? `${path}.${key}` : key;
    if (key === '$or') {
      fieldMatchers.push(compileOr(sub, subPath));
    } else if (Array.isArray(sub)) {
      const leaf = compileLeafList(sub, subPath);
      fieldMatchers.push((node) => leaf(isPlainObject(node) ? node[key] : undefined));
    } else if (isPlainObject(sub)) {
      const nested = compileObject(sub, subPath);
      fieldMatchers.push((node) => matchNested(nested, isPlainObject(node) ? node[key] : undefined));
    } else {
      throw new EventPatternError('field values must be an array of matchers or a nested object', subPath);
    }
  }
  return (node) => {
    for (const m of fieldMatchers) if (!m(node)) return false;
    return true;
  };
}

function compileOr(sub: unknown, path: string): NodeMatcher {
  if (!Array.isArray(sub) || sub.length < 2 || !sub.every(isPlainObject)) {
    throw new EventPatternError('$or takes an array of at least two objects', path);
  }
  const alternatives = sub.map((alt, i) => compileObject(alt as Record<string, unknown>, `${path}[${i}]`));
  return (node) => alternatives.some((alt) => alt(node));
}

/** A nested pattern applies to an object, or to any one element of an array of objects. */
function matchNested(nested: NodeMatcher, node: unknown): boolean {
  if (Array.isArray(node)) {
    for (const element of node) if (matchNested(nested, element)) return true;
    // An empty array (or one with no objects) is "absent": only exists:false leaves can match.
    return node.length === 0 || !node.some((e) => isPlainObject(e) || Array.isArray(e)) ? nested(undefined) : false;
  }
  return nested(isPlainObject(node) ? node : undefined);
}

/** The leaf values of a node: scalars, flattened out of arrays. Objects are not leaves. */
function leaves(node: unknown, out: Leaf[]): Leaf[] {
  if (node === undefined) return out;
  if (Array.isArray(node)) {
    for (const element of node) leaves(element, out);
    return out;
  }
  if (node === null || typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
    out.push(node);
  }
  return out;
}

function compileLeafList(list: unknown[], path: string): NodeMatcher {
  if (list.length === 0) throw new EventPatternError('a matcher list must not be empty', path);
  const valueTests: LeafTest[] = [];
  let existsTrue = false;
  let existsFalse = false;
  for (const [i, item] of list.entries()) {
    const itemPath = `${path}[${i}]`;
    if (isPlainObject(item) && 'exists' in item) {
      if (Object.keys(item).length !== 1 || typeof item.exists !== 'boolean') {
        throw new EventPatternError('exists takes true or false', itemPath);
      }
      if (item.exists) existsTrue = true;
      else existsFalse = true;
    } else {
      valueTests.push(compileLeafMatcher(item, itemPath));
    }
  }
  return (node) => {
    const values = leaves(node, []);
    if (values.length === 0) return existsFalse;
    if (existsTrue) return true;
    for (const value of values) for (const test of valueTests) if (test(value)) return true;
    return false;
  };
}

function requireString(value: unknown, op: string, path: string): string {
  if (typeof value !== 'string') throw new EventPatternError(`${op} takes a string`, path);
  return value;
}

/** A string operand, or `{ "equals-ignore-case": string }` where the operator allows it. */
function stringOperand(value: unknown, op: string, path: string): { text: string; ignoreCase: boolean } {
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'equals-ignore-case') {
      return { text: requireString(value['equals-ignore-case'], `${op}/equals-ignore-case`, path), ignoreCase: true };
    }
    throw new EventPatternError(`${op} takes a string or {"equals-ignore-case": string}`, path);
  }
  return { text: requireString(value, op, path), ignoreCase: false };
}

function compileLeafMatcher(item: unknown, path: string): LeafTest {
  if (item === null || typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
    return (value) => value === item;
  }
  if (!isPlainObject(item)) throw new EventPatternError('unsupported matcher', path);
  const keys = Object.keys(item);
  if (keys.length !== 1) throw new EventPatternError(`a matcher object has exactly one operator, got ${keys.join(', ')}`, path);
  const op = keys[0];
  const arg = item[op];
  switch (op) {
    case 'prefix': {
      const { text, ignoreCase } = stringOperand(arg, op, path);
      const needle = ignoreCase ? text.toLowerCase() : text;
      return (v) => typeof v === 'string' && (ignoreCase ? v.toLowerCase() : v).startsWith(needle);
    }
    case 'suffix': {
      const { text, ignoreCase } = stringOperand(arg, op, path);
      const needle = ignoreCase ? text.toLowerCase() : text;
      return (v) => typeof v === 'string' && (ignoreCase ? v.toLowerCase() : v).endsWith(needle);
    }
    case 'equals-ignore-case': {
      const needle = requireString(arg, op, path).toLowerCase();
      return (v) => typeof v === 'string' && v.toLowerCase() === needle;
    }
    case 'wildcard': {
      const re = wildcardRegExp(requireString(arg, op, path), path);
      return (v) => typeof v === 'string' && re.test(v);
    }
    case 'anything-but':
      return compileAnythingBut(arg, path);
    case 'numeric':
      return compileNumeric(arg, path);
    case 'cidr':
      return compileCidr(requireString(arg, op, path), path);
    default:
      throw new EventPatternError(`unknown operator "${op}"`, path);
  }
}

function compileAnythingBut(arg: unknown, path: string): LeafTest {
  if (typeof arg === 'string' || typeof arg === 'number') return (v) => v !== arg;
  if (Array.isArray(arg)) {
    const allStrings = arg.every((a) => typeof a === 'string');
    const allNumbers = arg.every((a) => typeof a === 'number');
    if (arg.length === 0 || (!allStrings && !allNumbers)) {
      throw new EventPatternError('anything-but lists hold only strings or only numbers', path);
    }
    const excluded = new Set<unknown>(arg);
    return (v) => !excluded.has(v);
  }
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1) throw new EventPatternError('anything-but takes one nested operator', path);
    const [op] = keys;
    const operands = Array.isArray(arg[op]) ? (arg[op] as unknown[]) : [arg[op]];
    const texts = operands.map((o) => requireString(o, `anything-but/${op}`, path));
    switch (op) {
      case 'prefix':
        return (v) => typeof v === 'string' && !texts.some((t) => v.startsWith(t));
      case 'suffix':
        return (v) => typeof v === 'string' && !texts.some((t) => v.endsWith(t));
      case 'equals-ignore-case': {
        const lowered = texts.map((t) => t.toLowerCase());
        return (v) => typeof v === 'string' && !lowered.includes(v.toLowerCase());
      }
      case 'wildcard': {
        const res = texts.map((t) => wildcardRegExp(t, path));
        return (v) => typeof v === 'string' && !res.some((re) => re.test(v));
      }
      default:
        throw new EventPatternError(`anything-but does not take "${op}"`, path);
    }
  }
  throw new EventPatternError('anything-but takes a string, a number, a list or a nested operator', path);
}

/** `*` matches any run of characters; `\*` and `\\` escape; consecutive `*` are invalid. */
function wildcardRegExp(wildcard: string, path: string): RegExp {
  if (wildcard.includes('**')) throw new EventPatternError('consecutive wildcard characters are not allowed', path);
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const c = wildcard[i];
    if (c === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\') throw new EventPatternError('a backslash may only escape * or \\', path);
      source += `\\${next}`;
      i++;
    } else if (c === '*') {
      source += '[\\s\\S]*';
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

const NUMERIC_OPS = new Set(['<', '<=', '=', '>', '>=']);

function compileNumeric(arg: unknown, path: string): LeafTest {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) {
    throw new EventPatternError('numeric takes one or two [operator, number] pairs', path);
  }
  const tests: Array<(n: number) => boolean> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const bound = arg[i + 1];
    if (typeof op !== 'string' || !NUMERIC_OPS.has(op) || typeof bound !== 'number') {
      throw new EventPatternError(`numeric operator/operand pair ${JSON.stringify([op, bound])} is invalid`, path);
    }
    tests.push(
      op === '<' ? (n) => n < bound : op === '<=' ? (n) => n <= bound : op === '=' ? (n) => n === bound : op === '>' ? (n) => n > bound : (n) => n >= bound,
    );
  }
  return (v) => typeof v === 'number' && tests.every((t) => t(v));
}

function ipv4ToInt(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

function compileCidr(cidr: string, path: string): LeafTest {
  const [address, bitsText] = cidr.split('/');
  const base = ipv4ToInt(address);
  const bits = Number(bitsText);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new EventPatternError(`cidr "${cidr}" is not an IPv4 CIDR block (IPv6 is not simulated)`, path);
  }
  const size = 2 ** (32 - bits);
  const start = Math.floor(base / size) * size;
  return (v) => {
    if (typeof v !== 'string') return false;
    const ip = ipv4ToInt(v);
    return ip !== undefined && ip >= start && ip < start + size;
  };
}
