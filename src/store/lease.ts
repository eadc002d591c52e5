/**
 * A lease kept alive in the background, as a live process keeps its session:
 * renewed every third of its TTL, and reported lost (through `lost`) as soon as
 * the store says it is gone or renewals have failed for a whole TTL.
 */
import { LeaseNotFoundError } from './errors.js';
import type { LeaseId, Store } from './interface.js';

export class KeptLease {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = Date.now();
  private stopped = false;

  private constructor(
    private readonly store: Store,
    readonly id: LeaseId,
    readonly ttl: number,
  ) {}

  static async grant(store: Store, ttlSeconds: number): Promise<KeptLease> {
    const grant = await store.grantLease(ttlSeconds);
    const lease = new KeptLease(store, grant.id, grant.ttl);
    lease.schedule(lease.ttl * 333);
    return lease;
  }

  /** Aborted when the lease is gone: every key attached to it has been deleted. */
  get lost(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops renewing without revoking, as a process that died would: the lease runs out on its own. */
  abandon(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Revokes the lease now, deleting its keys. */
  async revoke(): Promise<void> {
    this.abandon();
    try {
      await this.store.revokeLease(this.id);
    } catch (error) {
      if (!(error instanceof LeaseNotFoundError)) throw error;
    }
    this.controller.abort(new LeaseNotFoundError(this.id));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renew(), ms);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      await this.store.keepAliveLease(this.id);
      this.lastRenewed = Date.now();
      this.schedule(this.ttl * 333);
    } catch (error) {
      if (error instanceof LeaseNotFoundError || Date.now() - this.lastRenewed > this.ttl * 1000) {
        this.abandon();
        this.controller.abort(error);
        return;
      }
      this.schedule(Math.min(500, this.ttl * 250));
    }
  }
}
