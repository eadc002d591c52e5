/**
 * Peer replication of images and assets. Every server shares the index in the
 * Store but keeps files on its own disk; a Replicator keeps this server's disk
 * in line with the index. Each replica's sync is level-triggered — it compares
 * the whole index with the disk, fetches what is missing from a peer listed in
 * the entry's `urls`, removes what no entry names, and lists this server's URL
 * where it holds a copy — so the watch on the index is only a wake-up call and
 * a missed or compacted event costs nothing but a later pass. Passes run at
 * start, on every change, after a failed fetch (retryMs) and every resyncMs.
 * What a pass does is decided by planSync (sync-plan.ts) and carried out by
 * syncReplica (replica-sync.ts), the same for images and assets.
 */
import { pino, type Logger } from 'pino';
import { StoreClosedError } from '../store/errors.js';
import type { Store, Watch } from '../store/interface.js';

export interface SyncResult {
  /** Something could not be fetched yet (no reachable peer): try again later. */
  pending: boolean;
}

/** What a Replicator drives: ImageRepository and AssetRepository. */
export interface Replica {
  readonly name: string;
  /** Store keys whose changes call for a sync. */
  readonly watchPrefix: string;
  sync(signal: AbortSignal): Promise<SyncResult>;
}

export interface ReplicatorOptions {
  store: Store;
  replicas: Replica[];
  logger?: Logger;
  /** After a pass that left something unfetched or failed, run again this much later (ms, default 5000). */
  retryMs?: number;
  /** Run a pass this often even without changes (ms, default 60000): a safety net, not the mechanism. */
  resyncMs?: number;
}

export class Replicator {
  private readonly loops: ReplicaLoop[];
  private readonly abort = new AbortController();

  constructor(options: ReplicatorOptions) {
    const logger = options.logger ?? pino({ level: 'silent' });
    this.loops = options.replicas.map(
      (replica) =>
        new ReplicaLoop(options.store, replica, logger, this.abort.signal, options.retryMs ?? 5000, options.resyncMs ?? 60_000),
    );
  }

  /** Starts watching and the first pass of every replica; resolves once the watches are in place (not when fetches finish). */
  async start(): Promise<void> {
    await Promise.all(this.loops.map((loop) => loop.start()));
  }

  /** Stops watching, aborts fetches in flight and waits for running passes to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops.map((loop) => loop.stop()));
  }
}

class ReplicaLoop {
  private watch: Watch | undefined;
  private dirty = false;
  private running: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly replica: Replica,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
    private readonly retryMs: number,
    private readonly resyncMs: number,
  ) {}

  async start(): Promise<void> {
    await this.follow();
    this.resyncTimer = setInterval(() => this.kick(), this.resyncMs);
    this.resyncTimer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.watch?.cancel();
    clearTimeout(this.retryTimer);
    clearInterval(this.resyncTimer);
    await this.running;
  }

  private async follow(): Promise<void> {
    const watch = this.store.watch({ prefix: this.replica.watchPrefix });
    this.watch = watch;
    await watch.ready;
    void (async () => {
      try {
        for await (const _events of watch) this.kick();
      } catch (error) {
        if (this.signal.aborted || error instanceof StoreClosedError) return;
        // Compacted or broken: a fresh watch and a full pass catch up, whatever was missed.
        this.logger.warn(
          { replica: this.replica.name, err: (error as Error).message },
          'replication watch failed; restarting it',
        );
        setTimeout(() => {
          if (this.signal.aborted) return;
          this.follow()
            .then(() => this.kick())
            .catch((e: unknown) =>
              this.logger.error({ replica: this.replica.name, err: (e as Error).message }, 'replication watch cannot restart'),
            );
        }, this.retryMs).unref();
      }
    })();
  }

  private kick(): void {
    if (this.signal.aborted) return;
    this.dirty = true;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.dirty) this.kick();
    });
  }

  private async run(): Promise<void> {
    while (this.dirty && !this.signal.aborted) {
      this.dirty = false;
      let pending: boolean;
      try {
        pending = (await this.replica.sync(this.signal)).pending;
      } catch (error) {
        if (this.signal.aborted) return;
        this.logger.warn({ replica: this.replica.name, err: (error as Error).message }, 'replication pass failed');
        pending = true;
      }
      if (pending && !this.signal.aborted) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.kick(), this.retryMs);
        this.retryTimer.unref();
      }
    }
  }
}

/** The peers to try for a copy, in random order so that fetches spread over the servers that hold one. */
export function peerOrder(urls: string[], self: string): string[] {
  const peers = urls.filter((u) => u !== self);
  for (let i = peers.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [peers[i], peers[j]] = [peers[j]!, peers[i]!];
  }
  return peers;
}
