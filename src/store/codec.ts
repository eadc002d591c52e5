/**
 * Codecs for the JSON values Yagura keeps in the store: a zod schema checks a
 * value when it is read and before it is written, so a corrupt or foreign
 * value is one clear error naming its key. Pure (no store access): model
 * modules that are fenced as pure may define their codecs with it.
 */
import type { z } from 'zod';
import { DomainError } from '../lib/errors.js';
import type { KeyValue } from './interface.js';

/** How one kind of document is checked and written: `what` names it in errors ("machine", "IPAM config"). */
export interface Codec<T> {
  readonly what: string;
  /** The value at `kv.key`, checked; CorruptDocumentError when it is not one. */
  decode(kv: KeyValue): T;
  /** The text to store for `value` at `key`, checked first: nothing invalid is ever written. */
  encode(key: string, value: T): string;
}

/** A value in the store that is not a valid document of its kind; names the key and the first bad field. */
export class CorruptDocumentError extends DomainError {
  override name = 'CorruptDocumentError';
  constructor(
    readonly key: string,
    what: string,
    problem: string,
  ) {
    super('corrupt', `the store's value at ${key} is not a valid ${what} (${problem}); repair or delete that key`);
  }
}

/** A JSON codec checked by `schema`. The schema's output is what callers get; what is written is checked too. */
export function jsonCodec<S extends z.ZodType>(what: string, schema: S): Codec<z.output<S>> {
  const check = (key: string, value: unknown): z.output<S> => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const issue = result.error.issues[0]!;
    const at = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new CorruptDocumentError(key, what, `${at}${issue.message}`);
  };
  return {
    what,
    decode(kv) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(kv.value);
      } catch {
        throw new CorruptDocumentError(kv.key, what, 'not JSON');
      }
      return check(kv.key, parsed);
    },
    encode(key, value) {
      check(key, value);
      return JSON.stringify(value);
    },
  };
}

/**
 * A codec that decodes each distinct stored text once: for a small document
 * read on every request (the IPAM config, whose check runs the address-plan
 * rules) but seldom written. The decoded value is frozen and shared, so
 * callers must not change it (they cannot: it throws in strict mode).
 */
export function decodedOnce<T extends object>(codec: Codec<T>): Codec<Readonly<T>> {
  let last: { key: string; text: string; value: Readonly<T> } | undefined;
  return {
    what: codec.what,
    decode(kv) {
      if (last?.key === kv.key && last.text === kv.value) return last.value;
      const value = Object.freeze(codec.decode(kv));
      last = { key: kv.key, text: kv.value, value };
      return value;
    },
    encode: (key, value) => codec.encode(key, value as T),
  };
}
