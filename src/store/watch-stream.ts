/**
 * The consumer side of a watch, shared by both backends: a queue of event
 * batches that the backend pushes into and the consumer drains with
 * `for await`. It tracks the last delivered revision so that a backend can
 * resume after a reconnect without loss or duplication.
 */
import type { Watch, WatchEvent } from './interface.js';

export class WatchStream implements Watch {
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly batches: WatchEvent[][] = [];
  private failure: Error | undefined;
  private cancelled = false;
  private wake: (() => void) | undefined;
  /** Highest revision pushed by the backend (may be ahead of what the consumer has seen). */
  private pushedRevision = 0;
  private deliveredRevision = 0;

  constructor(private readonly onCancel: (stream: WatchStream) => void) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  get lastRevision(): number {
    return this.deliveredRevision;
  }

  /** Revision to resume from after a reconnect: one past everything already queued. */
  get resumeRevision(): number {
    return this.pushedRevision + 1;
  }

  /** Why the watch failed, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  get closed(): boolean {
    return this.cancelled || this.failure !== undefined;
  }

  setReady(): void {
    this.markReady();
  }

  /** Queue events; anything at or below the last pushed revision is a replay and is dropped. */
  push(events: WatchEvent[]): void {
    if (this.closed) return;
    const fresh = events.filter((e) => e.kv.modRevision > this.pushedRevision);
    if (fresh.length === 0) return;
    this.pushedRevision = fresh[fresh.length - 1]!.kv.modRevision;
    this.batches.push(fresh);
    this.notify();
  }

  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    this.markReady();
    this.notify();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.markReady();
    this.onCancel(this);
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent[]> {
    try {
      for (;;) {
        const batch = this.batches.shift();
        if (batch) {
          this.deliveredRevision = batch[batch.length - 1]!.kv.modRevision;
          yield batch;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.cancelled) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // A consumer that breaks out of its loop is done with the watch.
      if (!this.cancelled) this.cancel();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
