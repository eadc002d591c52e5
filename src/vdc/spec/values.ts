/** Small helpers for raw YAML values, shared by the schema, the checks and the assembly. */
export { describe, isRecord } from '../../lib/problem-messages.js';

export function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `{ key: value }` when value is defined, `{}` otherwise: keeps optional fields absent rather than undefined. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
