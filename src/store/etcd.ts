/**
 * The etcd store: the same Store model on a real etcd v3 cluster, for boot
 * servers that run as one highly available control plane. Every key lives
 * under a prefix (default /yagura/), so one etcd can serve other tenants too.
 * Talks to etcd through the etcd3 client's raw gRPC services, so that
 * transactions, revisions and watch resumption are exactly etcd's.
 */
import type { Etcd3 } from 'etcd3';
import { type IKeyValue, type IRangeRequest, type IRequestOp, type IResponseOp, type IOptions } from 'etcd3';
import {
  CompactedError,
  FutureRevisionError,
  InvalidRequestError,
  LeaseNotFoundError,
  StoreClosedError,
  StoreError,
} from './errors.js';
import type {
  Compare,
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
  WatchRequest,
} from './interface.js';
import { type ByteRange, byteRange, checkKey, checkLimit, checkTtl, pageRange, prefixEnd } from './keys.js';
import { EtcdWatch } from './etcd-watch.js';
import { EtcdKeepAlive } from './etcd-keepalive.js';
import { WatchStream } from './watch-stream.js';

export interface EtcdStoreOptions {
  endpoints: string[];
  /** Every key is stored under this prefix. */
  prefix: string;
  credentials?: IOptions['credentials'];
  auth?: { username: string; password: string };
  /** How long to wait for etcd to answer at open (ms). */
  dialTimeoutMs?: number;
}

const COMPARE_TARGET = {
  value: 'Value',
  version: 'Version',
  createRevision: 'Create',
  modRevision: 'Mod',
  lease: 'Lease',
} as const;
const COMPARE_RESULT = { '=': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' } as const;

export class EtcdStore implements Store {
  readonly backend = 'etcd' as const;
  private readonly prefix: Buffer;
  private readonly watches = new Set<EtcdWatch>();
  private readonly keepAlive: EtcdKeepAlive;
  private closed = false;
  private compactFloor = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly options: EtcdStoreOptions,
  ) {
    this.prefix = Buffer.from(options.prefix);
    this.keepAlive = new EtcdKeepAlive(client);
  }

  async get(key: string, options: { revision?: number } = {}): Promise<KeyValue | undefined> {
    checkKey(key);
    return (await this.range({ key, revision: options.revision })).kvs[0];
  }

  async range(request: RangeRequest): Promise<RangeResult> {
    checkLimit(request.limit);
    const response = await this.call(() => this.client.kv.range(this.rangeRequest(request)), { revision: request.revision });
    return this.rangeResult(response.kvs, response.more, Number(response.header.revision), request);
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    const response = await this.call(() =>
      this.client.kv.put({ key: this.full(key), value: Buffer.from(value), lease: options.lease ?? 0 }),
    );
    return { revision: Number(response.header.revision) };
  }

  async delete(selector: KeySelector): Promise<DeleteResult> {
    const range = this.fullRange(byteRange(selector));
    const response = await this.call(() => this.client.kv.deleteRange({ key: range.start, range_end: range.end }));
    return { revision: Number(response.header.revision), deleted: Number(response.deleted) };
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    const success = request.success ?? [];
    const failure = request.failure ?? [];
    const response = await this.call(() =>
      this.client.kv.txn({
        compare: (request.compare ?? []).map((c) => this.compare(c)),
        success: success.map((op) => this.requestOp(op)),
        failure: failure.map((op) => this.requestOp(op)),
      }),
    );
    const ops = response.succeeded ? success : failure;
    const revision = Number(response.header.revision);
    return {
      succeeded: response.succeeded,
      revision,
      results: response.responses.map((r, i) => this.opResult(r, ops[i]!, revision)),
    };
  }

  watch(request: WatchRequest): Watch {
    let range: ByteRange;
    if (request.prefix !== undefined) range = byteRange({ prefix: request.prefix });
    else if (request.key !== undefined) range = byteRange({ key: request.key });
    else throw new InvalidRequestError('a watch needs a key or a prefix');
    const watch = new EtcdWatch(
      this.client,
      this.fullRange(range),
      request.startRevision ?? 0,
      new WatchStream(() => {
        watch.stop();
        this.watches.delete(watch);
      }),
      (kv) => this.keyValue(kv),
    );
    if (this.closed) watch.stream.fail(new StoreClosedError());
    else {
      this.watches.add(watch);
      watch.start();
    }
    return watch.stream;
  }

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    checkTtl(ttlSeconds);
    const response = await this.call(() => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }));
    if (response.error) throw new StoreError(`etcd refused the lease: ${response.error}`);
    return { id: response.ID, ttl: Number(response.TTL) };
  }

  async keepAliveLease(id: LeaseId): Promise<number> {
    this.checkOpen();
    const ttl = await this.keepAlive.renew(id);
    if (ttl <= 0) throw new LeaseNotFoundError(id);
    return ttl;
  }

  async revokeLease(id: LeaseId): Promise<void> {
    await this.call(() => this.client.leaseClient.leaseRevoke({ ID: id }), { leaseId: id });
  }

  async leaseStatus(id: LeaseId): Promise<LeaseStatus | undefined> {
    const response = await this.call(() => this.client.leaseClient.leaseTimeToLive({ ID: id, keys: true }));
    if (Number(response.TTL) < 0) return undefined;
    return {
      id,
      ttl: Number(response.TTL),
      grantedTtl: Number(response.grantedTTL),
      keys: response.keys.filter((k) => k.subarray(0, this.prefix.length).equals(this.prefix)).map((k) => this.local(k)),
    };
  }

  async compact(revision: number): Promise<void> {
    if (!Number.isInteger(revision) || revision < 1)
      throw new InvalidRequestError(`compact revision must be a positive integer, got ${revision}`);
    try {
      await this.call(() => this.client.kv.compact({ revision, physical: true }));
    } catch (error) {
      // Compacting to a revision that is already compacted is a no-op, as in the embedded store.
      if (!(error instanceof CompactedError)) throw error;
    }
  }

  async status(): Promise<StoreStatus> {
    const response = await this.call(() => this.client.kv.range({ key: this.prefix, limit: 1, keys_only: true }));
    return {
      revision: Number(response.header.revision),
      compactRevision: await this.compactRevision(),
      backend: this.backend,
      location: this.options.endpoints.join(','),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of this.watches) watch.stream.fail(new StoreClosedError());
    for (const watch of this.watches) watch.stop();
    this.watches.clear();
    this.keepAlive.close();
    this.client.close();
  }

  /**
   * The oldest revision still readable. etcd does not report it directly, so
   * find the lowest revision a read still succeeds at, starting from the last
   * one found (compaction only moves forward).
   */
  async compactRevision(): Promise<number> {
    const probe = Buffer.concat([this.prefix, Buffer.from('\0compact-probe')]);
    const readable = async (revision: number): Promise<boolean> => {
      try {
        await this.client.kv.range({ key: probe, revision, limit: 1 });
        return true;
      } catch (error) {
        if (String((error as Error).message).includes('required revision has been compacted')) return false;
        throw error;
      }
    };
    let low = Math.max(1, this.compactFloor);
    if (await readable(low)) return this.compactFloor;
    let high = Number((await this.client.kv.range({ key: probe, limit: 1 })).header.revision);
    while (low + 1 < high) {
      const middle = Math.floor((low + high) / 2);
      if (await readable(middle)) high = middle;
      else low = middle;
    }
    this.compactFloor = high;
    return high;
  }

  // ---- translation between our model and etcd's wire format ----

  private full(key: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(key)]);
  }

  private local(key: Buffer): string {
    return key.subarray(this.prefix.length).toString();
  }

  private fullRange(range: ByteRange): ByteRange {
    const start = Buffer.concat([this.prefix, range.start]);
    if (range.end === undefined) return { start };
    // An open end means "to the end of our prefix", never beyond it.
    const end = range.end.length === 0 ? prefixEnd(this.prefix) : Buffer.concat([this.prefix, range.end]);
    return { start, end };
  }

  private rangeRequest(request: RangeRequest): IRangeRequest {
    const range = this.fullRange(pageRange(request));
    return {
      key: range.start,
      range_end: range.end,
      limit: request.limit ?? 0,
      keys_only: request.keysOnly ?? false,
      revision: request.revision ?? 0,
    };
  }

  private rangeResult(kvs: IKeyValue[], more: boolean, revision: number, request: RangeRequest): RangeResult {
    const converted = kvs.map((kv) => this.keyValue(kv));
    return {
      kvs: converted,
      more,
      next: more ? converted[converted.length - 1]!.key : undefined,
      revision: request.revision && request.revision > 0 ? request.revision : revision,
    };
  }

  private keyValue(kv: IKeyValue): KeyValue {
    const result: KeyValue = {
      key: this.local(kv.key),
      value: kv.value.toString(),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
    };
    if (kv.lease && kv.lease !== '0') result.lease = kv.lease;
    return result;
  }

  private compare(c: Compare) {
    checkKey(c.key);
    const target = COMPARE_TARGET[c.target];
    const result = COMPARE_RESULT[c.result];
    if (!target) throw new InvalidRequestError(`unknown compare target ${JSON.stringify(c.target)}`);
    if (!result) throw new InvalidRequestError(`unknown compare result ${JSON.stringify(c.result)}`);
    const base = { key: this.full(c.key), target, result };
    switch (c.target) {
      case 'value':
        return { ...base, value: Buffer.from(String(c.value)) };
      case 'version':
        return { ...base, version: numeric(c) };
      case 'createRevision':
        return { ...base, create_revision: numeric(c) };
      case 'modRevision':
        return { ...base, mod_revision: numeric(c) };
      case 'lease':
        return { ...base, lease: String(c.value) };
    }
  }

  private requestOp(op: TxnOp): IRequestOp {
    switch (op.type) {
      case 'put':
        checkKey(op.key);
        return { request_put: { key: this.full(op.key), value: Buffer.from(op.value), lease: op.lease ?? 0 } };
      case 'delete': {
        const range = this.fullRange(byteRange(op));
        return { request_delete_range: { key: range.start, range_end: range.end } };
      }
      case 'range':
        checkLimit(op.limit);
        return { request_range: this.rangeRequest(op) };
      default:
        throw new InvalidRequestError(`unknown transaction operation ${JSON.stringify((op as { type: unknown }).type)}`);
    }
  }

  private opResult(response: IResponseOp, op: TxnOp, revision: number): TxnOpResult {
    switch (op.type) {
      case 'put':
        return { type: 'put', revision };
      case 'delete':
        return { type: 'delete', deleted: Number(response.response_delete_range.deleted) };
      case 'range': {
        const r = response.response_range;
        return { type: 'range', ...this.rangeResult(r.kvs, r.more, revision, op) };
      }
    }
  }

  /** Runs one etcd call, translating etcd's errors into the Store's. */
  private async call<T>(run: () => Promise<T>, context: CallContext = {}): Promise<T> {
    this.checkOpen();
    try {
      return await run();
    } catch (error) {
      throw await this.translate(error, context);
    }
  }

  private async translate(error: unknown, context: CallContext): Promise<Error> {
    const message = (error as Error).message ?? String(error);
    if (message.includes('required revision has been compacted')) {
      return new CompactedError(context.revision ?? 0, await this.compactRevision().catch(() => 0));
    }
    if (message.includes('required revision is a future revision')) {
      const current = await this.status().then(
        (s) => s.revision,
        () => 0,
      );
      return new FutureRevisionError(context.revision ?? 0, current);
    }
    if (message.includes('requested lease not found')) return new LeaseNotFoundError(context.leaseId ?? 'unknown');
    if (message.includes('too many operations in txn request')) {
      return new InvalidRequestError(
        "the transaction has more operations than etcd's --max-txn-ops allows (default 128): make the request smaller or raise --max-txn-ops",
      );
    }
    if (message.includes('duplicate key given in txn request'))
      return new InvalidRequestError('a key is written more than once in one transaction');
    if (message.includes('etcdserver: key is not provided')) return new InvalidRequestError('key must be a non-empty string');
    return error as Error;
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

/** What a failed call was about, for its error message. */
interface CallContext {
  revision?: number;
  leaseId?: string;
}

function numeric(c: Compare): number {
  const n = Number(c.value);
  if (!Number.isFinite(n)) throw new InvalidRequestError(`compare on ${c.target} needs a number, got ${JSON.stringify(c.value)}`);
  return n;
}
