/**
 * Leader election on a key prefix, as etcd's concurrency package does it: each
 * candidate writes a key under the prefix attached to its lease; the key with
 * the lowest create revision is the leader. A leader's writes are made
 * conditional on its key still having that create revision, so a deposed
 * leader (its lease expired while it was paused or cut off) cannot write.
 */
import { StoreError } from './errors.js';
import type { Compare, KeyValue, Store, TxnRequest, TxnResult } from './interface.js';
import type { KeptLease } from './lease.js';

export interface LeaderInfo {
  key: string;
  value: string;
  createRevision: number;
}

export class NotLeaderError extends StoreError {
  override name = 'NotLeaderError';
  constructor(key: string) {
    super(`no longer the leader (election key ${key} is gone or was re-created)`, 'conflict');
  }
}

export class Election {
  constructor(
    private readonly store: Store,
    /** Candidates' keys live under this prefix, e.g. "elections/dhcp/". */
    private readonly prefix: string,
  ) {}

  /** Waits until this candidate leads. Rejects if the lease is lost or `signal` aborts first. */
  async campaign(lease: KeptLease, value: string, signal?: AbortSignal): Promise<Leadership> {
    const key = `${this.prefix}${lease.id}`;
    const entered = await this.store.txn({
      compare: [{ key, target: 'createRevision', result: '=', value: 0 }],
      success: [{ type: 'put', key, value, lease: lease.id }],
      failure: [{ type: 'range', key }],
    });
    const mine = entered.succeeded ? entered.revision : (entered.results[0] as { kvs: KeyValue[] }).kvs[0]?.createRevision;
    if (!mine) throw new NotLeaderError(key);
    const stop = anySignal(lease.lost, signal);
    for (;;) {
      stop.throwIfAborted();
      const candidates = await this.store.range({ prefix: this.prefix });
      if (!candidates.kvs.some((kv) => kv.key === key && kv.createRevision === mine)) throw new NotLeaderError(key);
      const ahead = new Set(candidates.kvs.filter((kv) => kv.createRevision < mine).map((kv) => kv.key));
      if (ahead.size === 0) return new Leadership(this.store, key, mine, lease);
      await this.waitForDeletion(ahead, key, candidates.revision + 1, stop);
    }
  }

  /** The current leader, if any. */
  async leader(): Promise<LeaderInfo | undefined> {
    return leaderOf((await this.store.range({ prefix: this.prefix })).kvs);
  }

  /** Yields the leader (or undefined) now and after every change of leader. */
  async *observe(signal?: AbortSignal): AsyncGenerator<LeaderInfo | undefined> {
    const first = await this.store.range({ prefix: this.prefix });
    let current = leaderOf(first.kvs);
    yield current;
    const watch = this.store.watch({ prefix: this.prefix, startRevision: first.revision + 1 });
    signal?.addEventListener('abort', () => watch.cancel(), { once: true });
    for await (const _events of watch) {
      const next = await this.leader();
      if (next?.key !== current?.key || next?.createRevision !== current?.createRevision) {
        current = next;
        yield current;
      }
    }
  }

  private async waitForDeletion(keys: Set<string>, mine: string, from: number, stop: AbortSignal): Promise<void> {
    const watch = this.store.watch({ prefix: this.prefix, startRevision: from });
    const cancel = () => watch.cancel();
    stop.addEventListener('abort', cancel, { once: true });
    try {
      for await (const events of watch) {
        if (events.some((e) => e.type === 'delete' && (keys.has(e.kv.key) || e.kv.key === mine))) return;
      }
    } finally {
      stop.removeEventListener('abort', cancel);
      watch.cancel();
    }
  }
}

export class Leadership {
  constructor(
    private readonly store: Store,
    readonly key: string,
    readonly createRevision: number,
    readonly lease: KeptLease,
  ) {}

  /** Aborted when the lease behind this leadership is lost. */
  get lost(): AbortSignal {
    return this.lease.lost;
  }

  /** The compare that holds only while this candidate is still the leader. */
  guard(): Compare {
    return { key: this.key, target: 'createRevision', result: '=', value: this.createRevision };
  }

  /**
   * A transaction that commits only while this candidate leads. Throws
   * NotLeaderError when leadership is gone; `succeeded` false means the
   * caller's own compares failed. Guarded transactions take no failure ops.
   */
  async txn(request: Omit<TxnRequest, 'failure'>): Promise<TxnResult> {
    const result = await this.store.txn({
      compare: [this.guard(), ...(request.compare ?? [])],
      success: request.success,
      failure: [{ type: 'range', key: this.key }],
    });
    if (result.succeeded) return result;
    const range = result.results[0] as { kvs: KeyValue[] };
    if (range.kvs[0]?.createRevision !== this.createRevision) throw new NotLeaderError(this.key);
    return { ...result, results: [] };
  }

  /** Steps down: deletes the election key (only if it is still ours) and revokes the lease. */
  async resign(): Promise<void> {
    await this.store.txn({ compare: [this.guard()], success: [{ type: 'delete', key: this.key }] });
    await this.lease.revoke();
  }
}

function leaderOf(kvs: KeyValue[]): LeaderInfo | undefined {
  let leader: KeyValue | undefined;
  for (const kv of kvs) if (!leader || kv.createRevision < leader.createRevision) leader = kv;
  return leader && { key: leader.key, value: leader.value, createRevision: leader.createRevision };
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}
