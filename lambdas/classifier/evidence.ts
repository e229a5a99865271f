/**
 * Small helpers the rules share: read a field of the record by path, and record what was read
 * as a `Signal` (event name, field path, value), so every decision carries its evidence.
 */
import type { NormalizedEvent } from './types';
import type { Signal } from '../core/model';
import { cut, LIMITS } from './boundary';

/**
 * Read `a.b.c` out of a record; array elements are addressed as `items.0.x`. As in `list`, a
 * single object where a list is expected (how the EC2 serializer writes one-element lists) is
 * element 0.
 */
export function at(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (node === null || node === undefined) return undefined;
    if (Array.isArray(node)) {
      const index = Number(key);
      if (!Number.isInteger(index)) return undefined;
      node = node[index];
    } else if (key === '0' && typeof node === 'object' && !('0' in node)) {
      continue;
    } else if (typeof node === 'object') {
      node = (node as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return node;
}

export function str(root: unknown, path: string): string | undefined {
  const value = at(root, path);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The elements of a list that the EC2 serializer may also write as a single object. */
export function list(root: unknown, path: string): unknown[] {
  const value = at(root, path);
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function signal(event: NormalizedEvent, path: string, value: unknown, note?: string): Signal {
  // A signal's value is kept whole up to LIMITS.value characters (it is evidence, not the record).
  const scalar =
    value === null || typeof value === 'number' || typeof value === 'boolean'
      ? value
      : typeof value === 'string'
        ? cut(value, LIMITS.value)
        : value === undefined
          ? null
          : cut(JSON.stringify(value) ?? 'null', LIMITS.value);
  return note === undefined ? { eventName: event.eventName, path, value: scalar } : { eventName: event.eventName, path, value: scalar, note };
}

/** A signal for a field read from the record, by path: the value is read for you. */
export function fieldSignal(event: NormalizedEvent, path: string, note?: string): Signal {
  return signal(event, path, at(event.record, path), note);
}

/** The signal every decision starts from: which API call this was. */
export function eventSignal(event: NormalizedEvent, note?: string): Signal {
  return signal(event, 'eventName', event.eventName, note);
}

/** The first path (of several) that holds a non-empty string, with its value. */
export function firstString(event: NormalizedEvent, paths: readonly string[]): { path: string; value: string } | undefined {
  for (const path of paths) {
    const value = str(event.record, path);
    if (value) return { path, value };
  }
  return undefined;
}
