/**
 * One watch on etcd, resumable: its own gRPC watch stream, re-created after any
 * disconnect from one past the last revision it delivered, so a consumer sees
 * every event once and in order across member failures and reconnects.
 */
import type { Etcd3, IKeyValue, IWatchResponse } from 'etcd3';
import { CompactedError, StoreError } from './errors.js';
import type { KeyValue, WatchEvent } from './interface.js';
import type { ByteRange } from './keys.js';
import type { WatchStream } from './watch-stream.js';

type GrpcWatchStream = Awaited<ReturnType<Etcd3['watchClient']['watch']>>;

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 3000;

export class EtcdWatch {
  private grpc: GrpcWatchStream | undefined;
  private stopped = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Where the next (re)connection starts; 0 = from now on. */
  private nextRevision: number;

  constructor(
    private readonly client: Etcd3,
    private readonly range: ByteRange,
    startRevision: number,
    readonly stream: WatchStream,
    private readonly toKeyValue: (kv: IKeyValue) => KeyValue,
  ) {
    this.nextRevision = startRevision > 0 ? startRevision : 0;
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const grpc = this.grpc;
    this.grpc = undefined;
    grpc?.on('error', () => {});
    if (grpc) closeStream(grpc);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let grpc: GrpcWatchStream;
    try {
      grpc = await this.client.watchClient.watch();
    } catch (error) {
      this.retry(error);
      return;
    }
    if (this.stopped) {
      grpc.on('error', () => {});
      closeStream(grpc);
      return;
    }
    this.grpc = grpc;
    grpc.on('data', (response: IWatchResponse) => {
      if (grpc === this.grpc) this.receive(response);
    });
    grpc.on('error', (error: Error) => this.lost(grpc, error));
    grpc.on('end', () => this.lost(grpc, new StoreError('etcd ended the watch stream')));
    grpc.write({
      create_request: {
        key: this.range.start,
        range_end: this.range.end,
        start_revision: this.nextRevision,
        progress_notify: true,
      },
    });
  }

  private receive(response: IWatchResponse): void {
    if (response.canceled) {
      const compactRevision = Number(response.compact_revision);
      this.stream.fail(
        compactRevision > 0
          ? new CompactedError(this.nextRevision, compactRevision)
          : new StoreError(`etcd cancelled the watch: ${response.cancel_reason || 'no reason given'}`),
      );
      this.stop();
      return;
    }
    this.retryMs = RETRY_MIN_MS;
    if (response.created) {
      // Started "from now": later reconnects must continue from here, not from "now" again.
      if (this.nextRevision === 0) this.nextRevision = Number(response.header.revision) + 1;
      this.stream.setReady();
    }
    if (response.events.length === 0) return;
    const events: WatchEvent[] = response.events.map((e) => ({
      type: e.type === 'Delete' ? 'delete' : 'put',
      kv: this.toKeyValue(e.kv),
    }));
    this.stream.push(events);
    this.nextRevision = Math.max(this.nextRevision, events[events.length - 1]!.kv.modRevision + 1);
  }

  private lost(grpc: GrpcWatchStream, error: unknown): void {
    if (this.stopped || grpc !== this.grpc) return;
    this.grpc = undefined;
    grpc.on('error', () => {});
    closeStream(grpc);
    this.retry(error);
  }

  private retry(_error: unknown): void {
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}

/**
 * Ends a stream we no longer want. Half-closing first matters: etcd3 counts an
 * error on a still-writable stream (our own cancel included) as a failure of
 * the host, and three in a row open its circuit breaker, failing every call
 * on that client for seconds.
 */
export function closeStream(stream: { end(): void; cancel(): void; on(event: 'error', listener: () => void): unknown }): void {
  stream.on('error', () => {});
  stream.end();
  stream.cancel();
}
