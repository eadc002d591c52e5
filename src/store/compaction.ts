/**
 * Automatic compaction: keep the store's history for a retention period and
 * forget what is older, so that a busy store (DHCP renewals, heartbeats) does
 * not grow without bound. Decision (which revision to compact to) is pure;
 * the loop that samples revisions and compacts is thin.
 */
import type { Store } from './interface.js';

export interface RevisionSample {
  at: number;
  revision: number;
}

/**
 * The revision to compact to: the newest sampled revision that is at least
 * `retentionMs` old, if it is beyond what was already compacted.
 */
export function compactionTarget(
  samples: RevisionSample[],
  now: number,
  retentionMs: number,
  compacted: number,
): number | undefined {
  let target: number | undefined;
  for (const sample of samples) if (now - sample.at >= retentionMs) target = sample.revision;
  return target !== undefined && target > compacted ? target : undefined;
}

/** Samples older than the newest one past retention are of no further use. */
export function pruneSamples(samples: RevisionSample[], now: number, retentionMs: number): RevisionSample[] {
  let firstKept = 0;
  samples.forEach((s, i) => {
    if (now - s.at >= retentionMs) firstKept = i;
  });
  return samples.slice(firstKept);
}

export interface AutoCompaction {
  stop(): void;
}

export function startAutoCompaction(
  store: Store,
  options: {
    retentionMs: number;
    intervalMs?: number;
    onError?: (error: unknown) => void;
    onCompact?: (revision: number) => void;
  },
): AutoCompaction {
  const interval = options.intervalMs ?? Math.max(1000, Math.min(options.retentionMs / 10, 300_000));
  let samples: RevisionSample[] = [];
  let compacted = 0;
  const tick = async () => {
    try {
      const status = await store.status();
      const now = Date.now();
      samples.push({ at: now, revision: status.revision });
      compacted = Math.max(compacted, status.compactRevision);
      const target = compactionTarget(samples, now, options.retentionMs, compacted);
      if (target !== undefined) {
        await store.compact(target);
        compacted = target;
        options.onCompact?.(target);
      }
      samples = pruneSamples(samples, now, options.retentionMs);
    } catch (error) {
      options.onError?.(error);
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), interval);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
