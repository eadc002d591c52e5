/**
 * Opening the boot server's store, waiting for it when asked: a boot server
 * started together with its etcd member (as in a virtual DC, or at a site's
 * power-on) finds no etcd for the first seconds, until the members can reach
 * each other and elect a leader. Only an unreachable store is waited for; a
 * bad option or file fails at once, as without waiting.
 */
import type { Logger } from 'pino';
import { StoreUnreachableError } from '../store/errors.js';
import { openStore, type StoreConfig } from '../store/factory.js';
import type { Store } from '../store/interface.js';

/** Pause between attempts; each etcd attempt also waits up to its dial timeout. */
export const STORE_RETRY_MS = 1000;

/** Opens the store; while it is unreachable, tries again until `waitMs` has passed (0: one attempt), logging each failure. */
export async function openStoreWaiting(config: StoreConfig, waitMs: number, logger: Logger): Promise<Store> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const store = await openStore(config);
      if (attempt > 1) logger.info({ attempt }, 'the store answers now');
      return store;
    } catch (error) {
      // The last attempt is made at the deadline, so the store is waited for the whole time asked.
      if (!(error instanceof StoreUnreachableError) || Date.now() >= deadline) throw error;
      logger.warn(
        { attempt, secondsLeft: Math.round((deadline - Date.now()) / 1000) },
        `waiting for the store: ${error.message}`,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(STORE_RETRY_MS, deadline - Date.now())));
    }
  }
}
