/**
 * The one key-value store every part of Yagura keeps its state in. The model is
 * etcd v3's: a global revision that grows by one with every write transaction,
 * and per key a create revision, a mod revision and a version. Two backends
 * implement it (embedded SQLite and a real etcd cluster); the conformance suite
 * in test/integration/store-conformance runs unchanged against both.
 */

/** Lease IDs are 64-bit in etcd, beyond JavaScript's safe integers: kept as decimal strings. */
export type LeaseId = string;

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created this incarnation of the key. */
  createRevision: number;
  /** Revision of the last write to the key. */
  modRevision: number;
  /** Number of writes since the key was (re)created; 1 after the first put. */
  version: number;
  /** The lease the key is attached to, if any. */
  lease?: LeaseId;
}

/**
 * Which keys a range or delete addresses: one key, every key under a prefix, or
 * the half-open interval [key, end).
 */
export type KeySelector = { key: string; end?: string } | { prefix: string };

export type RangeRequest = KeySelector & {
  /** Continuation: only keys strictly after this one (the `next` of the previous page). */
  after?: string;
  /** At most this many keys; `more` tells whether the range holds further keys. */
  limit?: number;
  /** Leave values out (they come back as ""). */
  keysOnly?: boolean;
  /** Read the store as it was at this revision (fails with CompactedError when compacted away). */
  revision?: number;
};

export interface RangeResult {
  kvs: KeyValue[];
  /** True when the range holds keys beyond this page. */
  more: boolean;
  /** Pass as `after` to fetch the next page (set when `more`). */
  next?: string;
  /** The revision the read was served at; pass it as `revision` to page through one snapshot. */
  revision: number;
}

export interface PutOptions {
  lease?: LeaseId;
}

export interface PutResult {
  revision: number;
}

export interface DeleteResult {
  revision: number;
  deleted: number;
}

export type CompareTarget = 'value' | 'version' | 'createRevision' | 'modRevision' | 'lease';
export type CompareResult = '=' | '!=' | '<' | '>';

/**
 * One condition of a transaction. A key that does not exist has version,
 * createRevision and modRevision 0, value "" and no lease, as in etcd; use
 * `keyExists` and `keyMissing` for existence.
 */
export interface Compare {
  key: string;
  target: CompareTarget;
  result: CompareResult;
  value: string | number;
}

export type TxnOp =
  | { type: 'put'; key: string; value: string; lease?: LeaseId }
  | ({ type: 'delete' } & KeySelector)
  | ({ type: 'range' } & RangeRequest);

export type TxnOpResult =
  { type: 'put'; revision: number } | { type: 'delete'; deleted: number } | ({ type: 'range' } & RangeResult);

export interface TxnRequest {
  compare?: Compare[];
  success?: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  succeeded: boolean;
  /** The store's revision after the transaction (unchanged when it wrote nothing). */
  revision: number;
  results: TxnOpResult[];
}

export interface WatchRequest {
  key?: string;
  prefix?: string;
  /** Deliver events from this revision on (default: only future events). */
  startRevision?: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a delete: the key, modRevision = the deleting revision, everything else empty. */
  kv: KeyValue;
}

/**
 * A stream of events, each delivered once and in revision order; all events of
 * one revision arrive in the same batch. Iterating throws CompactedError when the
 * start revision is gone. To resume elsewhere, watch again from the last
 * delivered revision + 1.
 */
export interface Watch extends AsyncIterable<WatchEvent[]> {
  /** Resolves once the watch is registered: every write after this point is delivered. */
  readonly ready: Promise<void>;
  /** Revision of the last event delivered to the consumer (0 before any). */
  readonly lastRevision: number;
  cancel(): void;
}

export interface LeaseGrant {
  id: LeaseId;
  ttl: number;
}

export interface LeaseStatus {
  id: LeaseId;
  /** Seconds left; 0 or less means about to expire. */
  ttl: number;
  grantedTtl: number;
  keys: string[];
}

export interface StoreStatus {
  revision: number;
  compactRevision: number;
  backend: StoreBackend;
  /** Where the store lives: a data dir, or the etcd endpoints. */
  location: string;
}

export type StoreBackend = 'embedded' | 'etcd';

export interface Store {
  readonly backend: StoreBackend;

  get(key: string, options?: { revision?: number }): Promise<KeyValue | undefined>;
  range(request: RangeRequest): Promise<RangeResult>;
  put(key: string, value: string, options?: PutOptions): Promise<PutResult>;
  delete(selector: KeySelector): Promise<DeleteResult>;
  /** All compares hold → success ops, else failure ops; atomically, at one revision. */
  txn(request: TxnRequest): Promise<TxnResult>;

  watch(request: WatchRequest): Watch;

  grantLease(ttlSeconds: number): Promise<LeaseGrant>;
  /** Renews the lease to its full TTL; throws LeaseNotFoundError when it has expired or was revoked. */
  keepAliveLease(id: LeaseId): Promise<number>;
  /** Deletes the lease and every key attached to it. Revoking an unknown lease throws LeaseNotFoundError. */
  revokeLease(id: LeaseId): Promise<void>;
  leaseStatus(id: LeaseId): Promise<LeaseStatus | undefined>;

  /** Forget history before `revision`: reads and watches before it fail with CompactedError. */
  compact(revision: number): Promise<void>;
  /** Answers only when the store can serve reads; throws otherwise. */
  status(): Promise<StoreStatus>;
  close(): Promise<void>;
}

export const keyExists = (key: string): Compare => ({ key, target: 'version', result: '>', value: 0 });
export const keyMissing = (key: string): Compare => ({ key, target: 'createRevision', result: '=', value: 0 });

/** Holds while `key` is as it was read (`kv`), or still missing when it was read as missing. */
export const keyUnchanged = (key: string, kv: KeyValue | undefined): Compare =>
  kv ? { key, target: 'modRevision', result: '=', value: kv.modRevision } : keyMissing(key);
