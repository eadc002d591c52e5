/**
 * Typed documents over the store. Every JSON value Yagura keeps has a codec: a
 * zod schema that checks it on the way in and on the way out, so a corrupt or
 * foreign value gives one clear error naming its key instead of a crash or a
 * silent wrong answer later. `transact` is the one read-modify-write loop:
 * whatever a change reads is compared unchanged at commit (compare-and-swap),
 * its writes and any extra record (the audit entry, a leader guard) go in the
 * same transaction, and it is retried when another writer got there first.
 * The codecs themselves are pure and live in codec.ts.
 */
import { DomainError } from '../lib/errors.js';
import type { Codec } from './codec.js';
import { ContentionError } from './errors.js';
import { type Compare, type KeyValue, keyUnchanged, type Store, type TxnOp } from './interface.js';

/** A document as read: its decoded value and the key-value it came from (revisions, for compare-and-swap). */
export interface Read<T> {
  value: T;
  kv: KeyValue;
}

/** Reads and decodes one key; undefined when the key does not exist. */
export async function readDocument<T>(store: Store, key: string, codec: Codec<T>): Promise<Read<T> | undefined> {
  const kv = await store.get(key);
  return kv ? { value: codec.decode(kv), kv } : undefined;
}

/** Reads and decodes every key under `prefix`, in key order (all pages, one snapshot). */
export async function readDocuments<T>(store: Store, prefix: string, codec: Codec<T>): Promise<Read<T>[]> {
  const found: Read<T>[] = [];
  let after: string | undefined;
  let revision: number | undefined;
  for (;;) {
    const page = await store.range({ prefix, ...(after ? { after } : {}), ...(revision ? { revision } : {}), limit: 1000 });
    revision = page.revision;
    for (const kv of page.kvs) found.push({ value: codec.decode(kv), kv });
    if (!page.more) return found;
    after = page.next;
  }
}

/**
 * One attempt of a read-modify-write. Reads through it are remembered and
 * compared unchanged at commit; writes are collected and committed together.
 */
export class Transaction {
  private readonly reads = new Map<string, KeyValue | undefined>();
  /** Keys listed through `keys` (compared unchanged; kept apart from `reads`, whose values `get` decodes). */
  private readonly listed: Compare[] = [];
  private readonly guards: { compare: Compare; refusal?: () => Error }[] = [];
  private readonly writes: TxnOp[] = [];

  constructor(private readonly store: Store) {}

  /** Reads a key's raw value (compared unchanged at commit). */
  async getRaw(key: string): Promise<KeyValue | undefined> {
    if (this.reads.has(key)) return this.reads.get(key);
    const kv = await this.store.get(key);
    this.reads.set(key, kv);
    return kv;
  }

  /** Reads and decodes a document (compared unchanged at commit). */
  async get<T>(key: string, codec: Codec<T>): Promise<T | undefined> {
    const kv = await this.getRaw(key);
    return kv ? codec.decode(kv) : undefined;
  }

  /**
   * Takes `kv` (read outside this transaction, e.g. by a scan that picked it
   * among many) as what this attempt read at `key`: compared unchanged at
   * commit, as if read through `getRaw`, without reading it again.
   */
  assume(key: string, kv: KeyValue | undefined): void {
    if (!this.reads.has(key)) this.reads.set(key, kv);
  }

  /**
   * The keys under `prefix`, in key order; each is compared unchanged at
   * commit. (A key added under the prefix meanwhile is not noticed.)
   */
  async keys(prefix: string): Promise<string[]> {
    const { kvs } = await this.store.range({ prefix, keysOnly: true });
    for (const kv of kvs) this.listed.push(keyUnchanged(kv.key, kv));
    return kvs.map((kv) => kv.key);
  }

  /** Writes a document (checked by the codec first). */
  put<T>(key: string, codec: Codec<T>, value: T): void {
    this.writes.push({ type: 'put', key, value: codec.encode(key, value) });
  }

  delete(key: string): void {
    this.writes.push({ type: 'delete', key });
  }

  /** Adds a write built elsewhere (the audit record of this change) to the same transaction. */
  add(...ops: TxnOp[]): void {
    this.writes.push(...ops);
  }

  /**
   * Commits only if `compare` holds too (e.g. this server still holds the
   * leader key, or a key to be created is still missing). When it does not,
   * `transact` throws `refusal()` (a GuardFailedError without one).
   */
  require(compare: Compare, refusal?: () => Error): void {
    this.guards.push(refusal ? { compare, refusal } : { compare });
  }

  /** @internal Commits; false when another writer changed something this attempt read. */
  async commit(): Promise<boolean> {
    if (this.writes.length === 0 && this.guards.length === 0) return true;
    const compare = [
      ...[...this.reads].map(([key, kv]) => keyUnchanged(key, kv)),
      ...this.listed,
      ...this.guards.map((g) => g.compare),
    ];
    return (await this.store.txn({ compare, success: this.writes })).succeeded;
  }

  /**
   * @internal After a failed commit: the refusal of the first `require`d guard
   * that no longer holds (retrying cannot help), or undefined when they all hold.
   */
  async refusal(): Promise<Error | undefined> {
    if (this.guards.length === 0 || (await this.holds(this.guards.map((g) => g.compare)))) return undefined;
    for (const guard of this.guards) {
      if (!(await this.holds([guard.compare]))) return guard.refusal?.() ?? new GuardFailedError();
    }
    return undefined; // a guard failed and held again since: read again and retry
  }

  private async holds(compare: Compare[]): Promise<boolean> {
    return (await this.store.txn({ compare, success: [] })).succeeded;
  }
}

/** Thrown by `transact` when a `require`d guard failed (e.g. leadership was lost): retrying cannot help. */
export class GuardFailedError extends DomainError {
  override name = 'GuardFailedError';
  constructor() {
    super('conflict', 'the change was refused: a condition it depends on no longer holds');
  }
}

const MAX_ATTEMPTS = 200;

/**
 * Runs `change` in a fresh Transaction until it commits: when another writer
 * changed a key it read in between, it reads again and decides again (with a
 * short random backoff). What `change` throws ends the loop with nothing
 * written. Returns what `change` returned in the attempt that committed.
 */
export async function transact<R>(store: Store, change: (tx: Transaction) => Promise<R>): Promise<R> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const tx = new Transaction(store);
    const result = await change(tx);
    if (await tx.commit()) return result;
    const refusal = await tx.refusal();
    if (refusal) throw refusal;
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
  }
  throw new ContentionError(MAX_ATTEMPTS);
}
