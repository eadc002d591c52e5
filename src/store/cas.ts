/** Read-modify-write of one key under compare-and-swap: the building block for every counter and record update. */
import { ContentionError } from './errors.js';
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

const MAX_ATTEMPTS = 200;

/**
 * Runs a read-then-CAS `attempt` until it returns a value (undefined = another
 * writer got there first: read again and retry), with a short random backoff.
 */
export async function retryCas<T>(attempt: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const result = await attempt();
    if (result !== undefined) return result;
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * i)));
  }
  throw new ContentionError(MAX_ATTEMPTS);
}
