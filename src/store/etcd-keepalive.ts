/**
 * Lease renewals over etcd's LeaseKeepAlive stream: one shared stream, each
 * renewal answered by the next response that carries its lease ID.
 */
import type { Etcd3, ILeaseKeepAliveResponse } from 'etcd3';
import { StoreError } from './errors.js';
import { closeStream } from './etcd-watch.js';

type KeepAliveStream = Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>>;

interface Pending {
  resolve: (ttl: number) => void;
  reject: (error: Error) => void;
}

const RENEW_TIMEOUT_MS = 5000;

export class EtcdKeepAlive {
  private stream: Promise<KeepAliveStream> | undefined;
  private readonly pending = new Map<string, Pending[]>();

  constructor(private readonly client: Etcd3) {}

  /** Renews the lease; resolves to its TTL, or 0 when etcd no longer knows it. */
  async renew(id: string): Promise<number> {
    const stream = await this.open();
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(() => reject(new StoreError(`etcd did not answer the keep-alive of lease ${id}`))),
        RENEW_TIMEOUT_MS,
      );
      const entry: Pending = {
        resolve: (ttl) => settle(() => resolve(ttl)),
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (finish: () => void) => {
        clearTimeout(timer);
        const waiting = this.pending.get(id);
        const i = waiting?.indexOf(entry) ?? -1;
        if (i >= 0) waiting!.splice(i, 1);
        finish();
      };
      const waiting = this.pending.get(id) ?? [];
      waiting.push(entry);
      this.pending.set(id, waiting);
      stream.write({ ID: id });
    });
  }

  close(): void {
    void this.stream?.then(closeStream);
    this.stream = undefined;
    this.failAll(new StoreError('the store has been closed'));
  }

  private open(): Promise<KeepAliveStream> {
    if (this.stream) return this.stream;
    const opening = this.client.leaseClient.leaseKeepAlive().then((s) => {
      s.on('data', (response: ILeaseKeepAliveResponse) => this.pending.get(response.ID)?.[0]?.resolve(Number(response.TTL)));
      const lost = (error: Error) => {
        if (this.stream === opening) this.stream = undefined;
        this.failAll(error);
      };
      s.on('error', lost);
      s.on('end', () => lost(new StoreError('etcd ended the keep-alive stream')));
      return s;
    });
    opening.catch(() => {
      if (this.stream === opening) this.stream = undefined;
    });
    this.stream = opening;
    return opening;
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) for (const p of [...waiting]) p.reject(error);
    this.pending.clear();
  }
}
