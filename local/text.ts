/**
 * Input strings on a terminal: a record's ARN, a file snippet in a quarantine reason, a name from
 * a log can carry control characters and terminal escape sequences (ESC [ ... that move the
 * cursor, rewrite the screen or the title). Text output shows them escaped, never raw.
 */

// C0 controls but tab, DEL, C1 controls, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `s` with every control character written as `\uXXXX` (newlines too, when `keepNewlines` is false). */
export function printable(s: string, keepNewlines = false): string {
  const escaped = s.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return keepNewlines ? escaped : escaped.replace(/\n/g, '\\n');
}

/** A value with every string in it made printable (for rendering records as text). */
export function printableDeep<T>(value: T): T {
  if (typeof value === 'string') return printable(value) as T;
  if (Array.isArray(value)) return value.map(printableDeep) as T;
  if (value && typeof value === 'object' && !(value instanceof Set)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [printable(k), printableDeep(v)])) as T;
  return value;
}
