/**
 * Lookups of input-supplied names in constant tables. A plain object also answers for its
 * prototype's members: an `eventName` of `__proto__`, `constructor` or `toLocaleString` would
 * find a function where a rule was expected. `own` answers only for the table's own entries.
 */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
