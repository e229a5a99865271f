/**
 * Field readers for items as the document client returns them (`Record<string, unknown>`): each
 * checks the type it promises, so the typed readers of the item modules need no casts and a
 * malformed item reads as absent fields, not as a crash somewhere downstream.
 */
import { FRAMEWORKS, type FrameworkRef, type Signal } from '../../core/model';

export type RawItem = Readonly<Record<string, unknown>>;

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Set);

export const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const textOr = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);
export const textOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
export const bool = (v: unknown): boolean => v === true;

/** A list of strings: a string set (the document client's `Set`) or a list, sorted when it was a set. */
export function strings(v: unknown): string[] {
  if (v instanceof Set) return [...v].filter((x): x is string => typeof x === 'string').sort();
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** The value as JSON would carry it: string sets become sorted lists. */
export function plain(v: unknown): unknown {
  return v instanceof Set ? [...v].sort() : v;
}

const SCALAR = (v: unknown): v is string | number | boolean | null => v === null || ['string', 'number', 'boolean'].includes(typeof v);

export function signals(v: unknown): Signal[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((s) =>
    isRecord(s) && typeof s.eventName === 'string' && typeof s.path === 'string' && SCALAR(s.value)
      ? [{ eventName: s.eventName, path: s.path, value: s.value, ...(typeof s.note === 'string' ? { note: s.note } : {}) }]
      : [],
  );
}

const isFramework = (v: unknown): v is FrameworkRef['framework'] => typeof v === 'string' && (FRAMEWORKS as readonly string[]).includes(v);

export function frameworks(v: unknown): FrameworkRef[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((f) =>
    isRecord(f) && isFramework(f.framework) && typeof f.id === 'string' && typeof f.name === 'string' ? [{ framework: f.framework, id: f.id, name: f.name }]
      : [],
  );
}

/** A record of strings (tags). */
export function stringRecord(v: unknown): Record<string, string> {
  if (!isRecord(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** What an item attribute may hold (the document client's types: lists, maps, string sets). */
export type StoredValue = string | number | boolean | null | readonly unknown[] | ReadonlySet<string> | object;

/** An item ready to put: its key and its attributes. */
export type Item = Record<string, unknown> & { pk: string; sk: string };
