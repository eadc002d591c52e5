/**
 * The embedded store: etcd's model on one SQLite file, for a boot server that
 * runs with no external service. One process owns the data dir (an exclusive
 * SQLite lock); writes are group-committed — every write queued in the same
 * tick shares one fsync'd transaction — and a write's promise resolves only
 * after its commit, so an acknowledged write survives `kill -9` and power loss.
 * Watches are served in-process from the history table and the commit path.
 *
 * Long file: one class implementing the whole Store interface over SQLite; the
 * parts that stand alone (schema, opening, watch streams, compaction, compare)
 * are files of their own already, and what is left shares the prepared
 * statements and the group-commit queue.
 */
import { randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';
import { CompactedError, FutureRevisionError, InvalidRequestError, LeaseNotFoundError, StoreClosedError } from './errors.js';
import type {
  DeleteResult,
  KeySelector,
  KeyValue,
  LeaseGrant,
  LeaseId,
  LeaseStatus,
  PutOptions,
  PutResult,
  RangeRequest,
  RangeResult,
  Store,
  StoreStatus,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  Watch,
  WatchEvent,
  WatchRequest,
} from './interface.js';
import { type ByteRange, byteRange, checkKey, checkLimit, checkTtl, inRange, pageRange } from './keys.js';
import { evaluateCompare } from './compare.js';
import { openEmbeddedDatabase } from './embedded-open.js';
import { WatchStream } from './watch-stream.js';

export interface EmbeddedStoreOptions {
  dataDir: string;
  /** How often expired leases are looked for (ms). */
  leaseCheckIntervalMs?: number;
  /** Wall clock, injectable for tests of lease expiry across restarts. */
  now?: () => number;
}

interface KvRow {
  /** Stored as a BLOB (bytewise order); read back as text where it is returned to callers. */
  key: Buffer | string;
  value: string;
  create_rev: number;
  mod_rev: number;
  version: number;
  lease: number;
}

interface HistoryRow extends KvRow {
  deleted: number;
}

interface WriteJob {
  work: (w: WriteBatch) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Watcher {
  stream: WatchStream;
  range: ByteRange;
}

export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const opened = openEmbeddedDatabase(options.dataDir);
  const store = new EmbeddedStore(opened.db, opened.revision, opened.compactRevision, options, opened.release);
  await store.expireLeases();
  return store;
}

export class EmbeddedStore implements Store {
  readonly backend = 'embedded' as const;
  private revision: number;
  private compactRevision: number;
  private readonly queue: WriteJob[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly watchers = new Set<Watcher>();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly runJob: (job: WriteJob, batch: WriteBatch) => unknown;
  private readonly runBatch: (jobs: WriteJob[]) => CommittedBatch;
  private readonly leaseTimer: NodeJS.Timeout;
  private expiring = false;
  private readonly now: () => number;

  constructor(
    private readonly db: Database.Database,
    revision: number,
    compactRevision: number,
    private readonly options: EmbeddedStoreOptions,
    private readonly release: () => void,
  ) {
    this.revision = revision;
    this.compactRevision = compactRevision;
    this.now = options.now ?? Date.now;
    this.runJob = db.transaction((job: WriteJob, batch: WriteBatch) => job.work(batch));
    this.runBatch = db.transaction((jobs: WriteJob[]) => this.applyBatch(jobs));
    this.leaseTimer = setInterval(() => void this.expireLeases(), options.leaseCheckIntervalMs ?? 250);
    this.leaseTimer.unref();
  }

  // ---- reads: served from the committed state, synchronously ----

  async get(key: string, options: { revision?: number } = {}): Promise<KeyValue | undefined> {
    checkKey(key);
    return this.readRange({ key, revision: options.revision }, this.revision).kvs[0];
  }

  async range(request: RangeRequest): Promise<RangeResult> {
    return this.readRange(request, this.revision);
  }

  // ---- writes: queued and group-committed ----

  async put(key: string, value: string, options: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    checkValue(value);
    return this.write((w) => {
      w.put(key, value, options.lease);
      return { revision: w.revision };
    });
  }

  async delete(selector: KeySelector): Promise<DeleteResult> {
    const range = byteRange(selector);
    return this.write((w) => {
      const deleted = w.deleteRange(range);
      return { revision: w.revision, deleted };
    });
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    const compares = request.compare ?? [];
    for (const c of compares) checkKey(c.key);
    for (const op of [...(request.success ?? []), ...(request.failure ?? [])]) checkOp(op);
    return this.write((w) => {
      const succeeded = compares.every((c) => evaluateCompare(c, this.readKeyValue(c.key)));
      const ops = (succeeded ? request.success : request.failure) ?? [];
      const results = ops.map((op) => this.applyOp(w, op));
      return { succeeded, revision: w.revision, results };
    });
  }

  // ---- watches ----

  watch(request: WatchRequest): Watch {
    const range = watchRange(request);
    const watcher: Watcher = { range, stream: new WatchStream((s) => this.forgetWatch(s)) };
    if (this.closed) {
      watcher.stream.fail(new StoreClosedError());
      return watcher.stream;
    }
    const start = request.startRevision && request.startRevision > 0 ? request.startRevision : this.revision + 1;
    if (start < this.compactRevision) {
      watcher.stream.fail(new CompactedError(start, this.compactRevision));
      return watcher.stream;
    }
    // Replay and registration happen in one synchronous step, so no commit can
    // fall between the history read and the live subscription.
    if (start <= this.revision) {
      const rows = this.statement(
        `SELECT key, value, create_rev, rev AS mod_rev, version, lease, deleted FROM history
         WHERE rev >= ? ${rangeSql(range, 'key')} ORDER BY rev, sub`,
      ).all(start, ...rangeArgs(range)) as HistoryRow[];
      if (rows.length > 0) watcher.stream.push(rows.map(toEvent));
    }
    this.watchers.add(watcher);
    watcher.stream.setReady();
    return watcher.stream;
  }

  // ---- leases ----

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    checkTtl(ttlSeconds);
    return this.write(() => {
      let id: number;
      do id = randomInt(1, 2 ** 47);
      while (this.statement('SELECT 1 FROM leases WHERE id = ?').get(id));
      this.statement('INSERT INTO leases (id, ttl, expires_at) VALUES (?, ?, ?)').run(
        id,
        ttlSeconds,
        this.now() + ttlSeconds * 1000,
      );
      return { id: String(id), ttl: ttlSeconds };
    });
  }

  async keepAliveLease(id: LeaseId): Promise<number> {
    const leaseId = parseLeaseId(id);
    return this.write((w) => {
      const lease = this.statement('SELECT ttl, expires_at FROM leases WHERE id = ?').get(leaseId) as
        { ttl: number; expires_at: number } | undefined;
      if (!lease) throw new LeaseNotFoundError(id);
      if (lease.expires_at <= this.now()) {
        // Too late: expire it now rather than resurrect it, as etcd does.
        w.revokeLease(leaseId);
        return -1;
      }
      this.statement('UPDATE leases SET expires_at = ? WHERE id = ?').run(this.now() + lease.ttl * 1000, leaseId);
      return lease.ttl;
    }).then((ttl) => {
      if (ttl < 0) throw new LeaseNotFoundError(id);
      return ttl;
    });
  }

  async revokeLease(id: LeaseId): Promise<void> {
    const leaseId = parseLeaseId(id);
    const found = await this.write((w) => w.revokeLease(leaseId));
    if (!found) throw new LeaseNotFoundError(id);
  }

  async leaseStatus(id: LeaseId): Promise<LeaseStatus | undefined> {
    this.checkOpen();
    const lease = this.statement('SELECT ttl, expires_at FROM leases WHERE id = ?').get(parseLeaseId(id)) as
      { ttl: number; expires_at: number } | undefined;
    if (!lease) return undefined;
    const keys = this.statement('SELECT key FROM kv WHERE lease = ? ORDER BY key').pluck().all(parseLeaseId(id)) as Buffer[];
    return {
      id,
      ttl: Math.ceil((lease.expires_at - this.now()) / 1000),
      grantedTtl: lease.ttl,
      keys: keys.map((k) => k.toString()),
    };
  }

  /** Revokes every lease whose time has run out (also those that ran out while the process was down). */
  async expireLeases(): Promise<void> {
    if (this.expiring || this.closed) return;
    if (!this.statement('SELECT 1 FROM leases WHERE expires_at <= ? LIMIT 1').get(this.now())) return;
    this.expiring = true;
    try {
      await this.write((w) => {
        const due = this.statement('SELECT id FROM leases WHERE expires_at <= ?').pluck().all(this.now()) as number[];
        for (const id of due) w.revokeLease(id);
      });
    } finally {
      this.expiring = false;
    }
  }

  // ---- maintenance ----

  async compact(revision: number): Promise<void> {
    if (!Number.isInteger(revision) || revision < 1)
      throw new InvalidRequestError(`compact revision must be a positive integer, got ${revision}`);
    await this.write((w) => {
      if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
      if (revision <= this.compactRevision) return;
      w.onCommit(() => (this.compactRevision = revision));
      // Keep, for every key, the newest change at or before `revision` unless it
      // is a tombstone: reads at `revision` and later still see every live key.
      this.statement(
        `DELETE FROM history WHERE rev < @rev AND (deleted = 1 OR EXISTS (
           SELECT 1 FROM history AS newer WHERE newer.key = history.key AND newer.rev > history.rev AND newer.rev <= @rev))`,
      ).run({ rev: revision });
      this.statement(`UPDATE meta SET value = ? WHERE name = 'compact_revision'`).run(revision);
    });
  }

  async status(): Promise<StoreStatus> {
    this.checkOpen();
    this.statement('SELECT 1').get();
    return {
      revision: this.revision,
      compactRevision: this.compactRevision,
      backend: this.backend,
      location: this.options.dataDir,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.leaseTimer);
    this.flush();
    this.closed = true;
    for (const watcher of this.watchers) watcher.stream.fail(new StoreClosedError());
    this.watchers.clear();
    this.db.close();
    this.release();
  }

  // ---- internals ----

  private write<T>(work: (w: WriteBatch) => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every queued write in one transaction, then publishes events and settles the promises. */
  private flush(): void {
    this.flushScheduled = false;
    const jobs = this.queue.splice(0);
    if (jobs.length === 0) return;
    let committed: ReturnType<typeof this.runBatch>;
    try {
      committed = this.runBatch(jobs);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    this.revision = committed.revision;
    for (const hook of committed.hooks) hook();
    this.publish(committed.events);
    committed.outcomes.forEach((outcome, i) => (outcome.ok ? jobs[i]!.resolve(outcome.value) : jobs[i]!.reject(outcome.error)));
  }

  private applyBatch(jobs: WriteJob[]): CommittedBatch {
    let revision = this.revision;
    const events: WatchEvent[] = [];
    const outcomes: Outcome[] = [];
    const hooks: (() => void)[] = [];
    for (const job of jobs) {
      const batch = new WriteBatch(this, revision);
      try {
        // Each job is a savepoint: a job that throws leaves no trace.
        const value = this.runJob(job, batch);
        if (batch.changed) {
          revision = batch.revision;
          events.push(...batch.events);
        }
        hooks.push(...batch.hooks);
        outcomes.push({ ok: true, value });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    if (revision !== this.revision) this.statement(`UPDATE meta SET value = ? WHERE name = 'revision'`).run(revision);
    return { outcomes, events, revision, hooks };
  }

  private publish(events: WatchEvent[]): void {
    if (events.length === 0) return;
    for (const watcher of this.watchers) {
      const matching = events.filter((e) => inRange(Buffer.from(e.kv.key), watcher.range));
      if (matching.length > 0) watcher.stream.push(matching);
    }
  }

  private forgetWatch(stream: WatchStream): void {
    for (const watcher of this.watchers) if (watcher.stream === stream) this.watchers.delete(watcher);
  }

  private applyOp(w: WriteBatch, op: TxnOp): TxnOpResult {
    switch (op.type) {
      case 'put':
        w.put(op.key, op.value, op.lease);
        return { type: 'put', revision: w.revision };
      case 'delete':
        return { type: 'delete', deleted: w.deleteRange(byteRange(op)) };
      case 'range':
        return { type: 'range', ...this.readRange(op, w.currentRevision) };
    }
  }

  private readKeyValue(key: string): KeyValue | undefined {
    const row = this.readKey(key);
    return row && toKeyValue(row);
  }

  /** The live row of one key (inside or outside a write batch). */
  readKey(key: string): KvRow | undefined {
    return this.statement('SELECT * FROM kv WHERE key = ?').get(Buffer.from(key)) as KvRow | undefined;
  }

  private readRange(request: RangeRequest, currentRevision: number): RangeResult {
    this.checkOpen();
    checkLimit(request.limit);
    const range = pageRange(request);
    const limit = request.limit && request.limit > 0 ? request.limit : -1;
    const at = request.revision && request.revision > 0 ? request.revision : undefined;
    const value = request.keysOnly ? `'' AS value` : 'value';
    let rows: KvRow[];
    if (at === undefined || at === currentRevision) {
      rows = this.statement(
        `SELECT CAST(key AS TEXT) AS key, ${value}, create_rev, mod_rev, version, lease FROM kv
         WHERE 1 ${rangeSql(range, 'key')} ORDER BY key LIMIT ?`,
      ).all(...rangeArgs(range), limit < 0 ? -1 : limit + 1) as KvRow[];
    } else {
      if (at < this.compactRevision) throw new CompactedError(at, this.compactRevision);
      if (at > currentRevision) throw new FutureRevisionError(at, currentRevision);
      rows = this.statement(
        `SELECT CAST(key AS TEXT) AS key, ${value}, create_rev, rev AS mod_rev, version, lease FROM history AS h
         WHERE h.deleted = 0 ${rangeSql(range, 'h.key')}
           AND h.rev = (SELECT MAX(rev) FROM history WHERE key = h.key AND rev <= ?)
         ORDER BY h.key LIMIT ?`,
      ).all(...rangeArgs(range), at, limit < 0 ? -1 : limit + 1) as KvRow[];
    }
    const more = limit > 0 && rows.length > limit;
    if (more) rows.pop();
    const kvs = rows.map((row) => toKeyValue(row));
    return { kvs, more, next: more ? kvs[kvs.length - 1]!.key : undefined, revision: at ?? currentRevision };
  }

  statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface CommittedBatch {
  outcomes: Outcome[];
  events: WatchEvent[];
  revision: number;
  /** In-memory state changes that may happen only once the batch is on disk. */
  hooks: (() => void)[];
}

/**
 * The writes of one job (a put, a delete, a transaction, a lease revocation):
 * all at one revision, which exists only if something changed.
 */
class WriteBatch {
  changed = false;
  readonly events: WatchEvent[] = [];
  readonly hooks: (() => void)[] = [];
  private readonly touched = new Set<string>();

  constructor(
    private readonly store: EmbeddedStore,
    private readonly previousRevision: number,
  ) {}

  /** The revision this job writes at. */
  get revision(): number {
    return this.previousRevision + 1;
  }

  /** The revision a read inside this job sees. */
  get currentRevision(): number {
    return this.changed ? this.revision : this.previousRevision;
  }

  onCommit(hook: () => void): void {
    this.hooks.push(hook);
  }

  put(key: string, value: string, lease?: LeaseId): void {
    const leaseId = lease === undefined ? 0 : parseLeaseId(lease);
    if (leaseId !== 0 && !this.store.statement('SELECT 1 FROM leases WHERE id = ?').get(leaseId)) {
      throw new LeaseNotFoundError(lease!);
    }
    this.touch(key);
    const old = this.store.readKey(key);
    const row: KvRow = {
      key: Buffer.from(key),
      value,
      create_rev: old ? old.create_rev : this.revision,
      mod_rev: this.revision,
      version: old ? old.version + 1 : 1,
      lease: leaseId,
    };
    this.store
      .statement(
        `INSERT INTO kv (key, value, create_rev, mod_rev, version, lease) VALUES (@key, @value, @create_rev, @mod_rev, @version, @lease)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev, version = excluded.version, lease = excluded.lease`,
      )
      .run(row);
    this.record(row, false);
  }

  deleteRange(range: ByteRange): number {
    const keys = this.store
      .statement(`SELECT key FROM kv WHERE 1 ${rangeSql(range, 'key')}`)
      .pluck()
      .all(...rangeArgs(range)) as Buffer[];
    for (const key of keys) this.deleteKey(key);
    return keys.length;
  }

  /** Deletes the lease and its keys; false when there was no such lease. */
  revokeLease(id: number): boolean {
    const keys = this.store.statement('SELECT key FROM kv WHERE lease = ?').pluck().all(id) as Buffer[];
    for (const key of keys) this.deleteKey(key);
    return this.store.statement('DELETE FROM leases WHERE id = ?').run(id).changes > 0;
  }

  private deleteKey(key: Buffer): void {
    this.touch(key.toString());
    this.store.statement('DELETE FROM kv WHERE key = ?').run(key);
    this.record({ key, value: '', create_rev: 0, mod_rev: this.revision, version: 0, lease: 0 }, true);
  }

  private record(row: KvRow, deleted: boolean): void {
    this.store
      .statement(
        'INSERT INTO history (rev, sub, key, deleted, value, create_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(this.revision, this.events.length, row.key, deleted ? 1 : 0, row.value, row.create_rev, row.version, row.lease);
    this.events.push(toEvent({ ...row, deleted: deleted ? 1 : 0 }));
    this.changed = true;
  }

  private touch(key: string): void {
    if (this.touched.has(key))
      throw new InvalidRequestError(`key ${JSON.stringify(key)} is written more than once in one transaction`);
    this.touched.add(key);
  }
}

function rangeSql(range: ByteRange, column: string): string {
  if (range.end === undefined) return `AND ${column} = ?`;
  if (range.end.length === 0) return `AND ${column} >= ?`;
  return `AND ${column} >= ? AND ${column} < ?`;
}

function rangeArgs(range: ByteRange): Buffer[] {
  if (range.end === undefined || range.end.length === 0) return [range.start];
  return [range.start, range.end];
}

function watchRange(request: WatchRequest): ByteRange {
  if (request.prefix !== undefined) return byteRange({ prefix: request.prefix });
  if (request.key !== undefined) return byteRange({ key: request.key });
  throw new InvalidRequestError('a watch needs a key or a prefix');
}

function toKeyValue(row: KvRow): KeyValue {
  const kv: KeyValue = {
    key: typeof row.key === 'string' ? row.key : row.key.toString(),
    value: row.value,
    createRevision: row.create_rev,
    modRevision: row.mod_rev,
    version: row.version,
  };
  if (row.lease) kv.lease = String(row.lease);
  return kv;
}

function toEvent(row: HistoryRow): WatchEvent {
  return { type: row.deleted ? 'delete' : 'put', kv: toKeyValue(row) };
}

function parseLeaseId(id: LeaseId): number {
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n <= 0) throw new LeaseNotFoundError(String(id));
  return n;
}

function checkValue(value: unknown): void {
  if (typeof value !== 'string') throw new InvalidRequestError('value must be a string');
}

function checkOp(op: TxnOp): void {
  switch (op.type) {
    case 'put':
      checkKey(op.key);
      checkValue(op.value);
      return;
    case 'delete':
      byteRange(op);
      return;
    case 'range':
      byteRange(op);
      checkLimit(op.limit);
      return;
    default:
      throw new InvalidRequestError(`unknown transaction operation ${JSON.stringify((op as { type: unknown }).type)}`);
  }
}
