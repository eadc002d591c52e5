/**
 * Read-modify-write of one raw key under compare-and-swap (the store benchmark
 * and conformance suite use it). Documents are changed with document.ts's
 * `transact`, which checks values and carries audit records.
 */
import { type KeyValue, keyUnchanged, type Store } from './interface.js';

export interface UpdateResult {
  revision: number;
  value: string;
  /** How many tries it took (1 = no one else wrote the key in between). */
  attempts: number;
}

/**
 * Reads `key`, computes its new value with `change`, and writes it only if no
 * one wrote the key in between; otherwise reads again and retries.
 */
export async function updateKey(
  store: Store,
  key: string,
  change: (current: KeyValue | undefined) => string,
): Promise<UpdateResult> {
  for (let attempts = 1; ; attempts++) {
    const current = await store.get(key);
    const value = change(current);
    const result = await store.txn({
      compare: [keyUnchanged(key, current)],
      success: [{ type: 'put', key, value }],
    });
    if (result.succeeded) return { revision: result.revision, value, attempts };
  }
}
