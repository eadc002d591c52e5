/** Deletes audit records older than the retention period, hourly; any server may run it (deleting twice is harmless). */
import type { Store } from '../store/interface.js';
import { AUDIT_PREFIX, retentionCutoff } from './audit.js';

export function startAuditRetention(
  store: Store,
  options: { days: number; intervalMs?: number; onError?: (error: unknown) => void; onDelete?: (count: number) => void },
): { stop(): void } {
  const sweep = async () => {
    try {
      const cutoff = retentionCutoff(new Date(), options.days);
      const { deleted } = await store.delete({ key: AUDIT_PREFIX, end: `${AUDIT_PREFIX}${cutoff}` });
      if (deleted > 0) options.onDelete?.(deleted);
    } catch (error) {
      options.onError?.(error);
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), options.intervalMs ?? 3_600_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
