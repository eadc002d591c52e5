/**
 * DHCP leases in the store: one key per address (dhcp/leases/<hex IP>), each
 * claimed with compare-and-swap. Clients booting in the same rack at the same
 * moment contend only when they pick the same address, and they pick at
 * random among the free ones — there is no per-rack document to serialize on
 * (sabakan keeps one JSON document per rack range). Several servers sharing one
 * etcd never hand one address to two clients, and leases survive restarts.
 *
 * A lease key whose value is not a lease record (corrupt, or written by
 * something else) is never taken as free: reading it throws a
 * CorruptDocumentError naming the key, so the exchange that met it fails
 * (the DHCP server counts and logs it) and the client tries again, most
 * likely on another address. The client keys are only an index: one that is
 * not an address is ignored and rewritten by the client's next lease.
 *
 * Listing the leases (`list`, for the API and `yagura dhcp leases`) does not
 * stop at such a key: it returns the good leases and, apart, each corrupt key
 * with its error, so one bad value never hides the others.
 */
import { z } from 'zod';
import { formatIPv4 } from '../../lib/ipv4.js';
import { CorruptDocumentError, jsonCodec } from '../../store/codec.js';
import { readDocument, transact, type Transaction } from '../../store/document.js';
import { ContentionError } from '../../store/errors.js';
import type { KeyValue, Store } from '../../store/interface.js';

export const LEASE_PREFIX = 'dhcp/leases/';
/** Client → its last address, so that a returning client is found with one read, not a scan of the range. */
export const CLIENT_PREFIX = 'dhcp/clients/';
const clientKey = (mac: string) => `${CLIENT_PREFIX}${mac}`;
/** Random addresses tried before falling back to reading the whole range. */
const PROBES = 6;
const DECLINED = 'declined';

export interface LeaseRecord {
  /** The client's hardware address, or "declined" for an address a client reported in use. */
  mac: string;
  /** Epoch ms after which the address is free again. */
  expires: number;
  /** "offered" until the client requests it, then "bound". */
  state: 'offered' | 'bound' | 'declined';
  hostname?: string;
}

/** The value at dhcp/leases/<hex IP>. */
export const leaseCodec = jsonCodec(
  'DHCP lease',
  z.strictObject({
    mac: z.string().min(1),
    expires: z.number().nonnegative(),
    state: z.enum(['offered', 'bound', 'declined']),
    hostname: z.string().optional(),
  }) satisfies z.ZodType<LeaseRecord>,
);

export interface DhcpLease extends LeaseRecord {
  address: number;
}

export interface AddressRange {
  first: number;
  last: number;
}

export function leaseKey(address: number): string {
  return `${LEASE_PREFIX}${address.toString(16).padStart(8, '0')}`;
}

/** The address a lease key names; undefined for a key that names none (written by something else). */
export function addressOfLeaseKey(key: string): number | undefined {
  const hex = key.slice(LEASE_PREFIX.length);
  return key.startsWith(LEASE_PREFIX) && /^[0-9a-f]{8}$/.test(hex) ? parseInt(hex, 16) : undefined;
}

/** A key under dhcp/leases/ that holds no lease record, or names no address. */
export interface CorruptLease {
  key: string;
  /** The address the key names, when it names one. */
  address?: number;
  /** What is wrong, naming the key (CorruptDocumentError's message). */
  error: string;
}

/** Every lease key, read from one snapshot: the leases in address order, and apart the keys that are not leases. */
export interface LeaseListing {
  leases: DhcpLease[];
  corrupt: CorruptLease[];
}

/** Keys per store read when listing every lease. */
const LIST_PAGE = 1000;

export type Claim = { kind: 'ok'; lease: DhcpLease } | { kind: 'exhausted' } | { kind: 'taken'; by: string };

export class DhcpLeaseRepository {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Every lease record in the range (expired ones included). */
  async inRange(range: AddressRange): Promise<Map<number, { record: LeaseRecord; kv: KeyValue }>> {
    const result = await this.store.range({ key: leaseKey(range.first), end: leaseKey(range.last + 1) });
    return new Map(
      result.kvs.map((kv) => [parseInt(kv.key.slice(LEASE_PREFIX.length), 16), { record: leaseCodec.decode(kv), kv }]),
    );
  }

  /**
   * Offers `mac` an address in `range`: its current lease there if it has one
   * (or the address it asks for, when free), otherwise a random free or expired
   * address. The offer holds the address for `holdMs`.
   */
  async offer(range: AddressRange, mac: string, requested: number | undefined, holdMs: number): Promise<Claim> {
    return this.claim(async (tx) => {
      const now = this.now();
      const mine = await this.currentLease(range, mac, now);
      if (mine) return { kind: 'ok', lease: mine };
      const record: LeaseRecord = { mac, expires: now + holdMs, state: 'offered' };
      const candidate = await this.freeAddress(range, requested, now);
      if (candidate === 'exhausted') return { kind: 'exhausted' };
      // Only the chosen address is compared at commit, not every address probed on the way.
      tx.assume(leaseKey(candidate.address), candidate.kv);
      this.write(tx, candidate.address, record);
      return { kind: 'ok', lease: { ...record, address: candidate.address } };
    });
  }

  /** The client's live lease in this range, found through its client key. */
  private async currentLease(range: AddressRange, mac: string, now: number): Promise<DhcpLease | undefined> {
    const client = await this.store.get(clientKey(mac));
    const address = client ? Number(client.value) : NaN;
    if (!(address >= range.first && address <= range.last)) return undefined;
    const record = (await readDocument(this.store, leaseKey(address), leaseCodec))?.value;
    return record && record.mac === mac && record.expires > now ? { ...record, address } : undefined;
  }

  /**
   * A free (or expired) address: the requested one when free, else a few random
   * probes (cheap while the range has room), else a scan of the whole range.
   */
  private async freeAddress(
    range: AddressRange,
    requested: number | undefined,
    now: number,
  ): Promise<{ address: number; kv?: KeyValue } | 'exhausted'> {
    const isFree = (kv: KeyValue | undefined) => !kv || leaseCodec.decode(kv).expires <= now;
    const size = range.last - range.first + 1;
    const tries = requested !== undefined && requested >= range.first && requested <= range.last ? [requested] : [];
    for (let i = 0; i < Math.min(PROBES, size); i++) tries.push(range.first + Math.floor(this.random() * size));
    for (const address of tries) {
      const kv = await this.store.get(leaseKey(address));
      if (isFree(kv)) return { address, kv };
    }
    const leases = await this.inRange(range);
    const free: number[] = [];
    for (let a = range.first; a <= range.last; a++) {
      const lease = leases.get(a)?.record;
      if (!lease || lease.expires <= now) free.push(a);
    }
    if (free.length === 0) return 'exhausted';
    const address = free[Math.floor(this.random() * free.length)]!;
    return { address, kv: leases.get(address)?.kv };
  }

  /**
   * Binds (or renews) `address` for `mac` for `leaseMs`: allowed when the
   * address is offered to or bound by this client, or free. `taken` otherwise.
   */
  async bind(address: number, mac: string, leaseMs: number, hostname?: string): Promise<Claim> {
    return this.claim(async (tx) => {
      const current = await tx.get(leaseKey(address), leaseCodec);
      const now = this.now();
      if (current && current.mac !== mac && current.expires > now) return { kind: 'taken', by: current.mac };
      const record: LeaseRecord = { mac, expires: now + leaseMs, state: 'bound', ...(hostname ? { hostname } : {}) };
      this.write(tx, address, record);
      return { kind: 'ok', lease: { ...record, address } };
    });
  }

  /** Frees `address` if `mac` holds it. */
  async release(address: number, mac: string): Promise<boolean> {
    return transact(this.store, async (tx) => {
      if ((await tx.get(leaseKey(address), leaseCodec))?.mac !== mac) return false;
      tx.delete(leaseKey(address));
      tx.delete(clientKey(mac));
      return true;
    });
  }

  /** A client found `address` in use: keep it out of circulation for `quarantineMs`. */
  async decline(address: number, mac: string, quarantineMs: number): Promise<boolean> {
    return transact(this.store, async (tx) => {
      if ((await tx.get(leaseKey(address), leaseCodec))?.mac !== mac) return false;
      this.write(tx, address, { mac: DECLINED, expires: this.now() + quarantineMs, state: 'declined' });
      return true;
    });
  }

  /**
   * Every lease in the store, in address order: only the current ones (not yet
   * expired) unless `all`. A corrupt key is reported in `corrupt`, whatever
   * `all` says (its expiry is unknown, and DHCP never hands its address out).
   */
  async list(options: { all?: boolean } = {}): Promise<LeaseListing> {
    const now = this.now();
    const listing: LeaseListing = { leases: [], corrupt: [] };
    let page = await this.store.range({ prefix: LEASE_PREFIX, limit: LIST_PAGE });
    const revision = page.revision;
    for (;;) {
      for (const kv of page.kvs) this.listOne(kv, now, options.all === true, listing);
      if (!page.more) break;
      page = await this.store.range({ prefix: LEASE_PREFIX, limit: LIST_PAGE, after: page.next, revision });
    }
    // Key order is address order for the keys leaseKey writes; sorting keeps it so for any other spelling.
    listing.leases.sort((a, b) => a.address - b.address);
    listing.corrupt.sort((a, b) => (a.address ?? Infinity) - (b.address ?? Infinity) || a.key.localeCompare(b.key));
    return listing;
  }

  private listOne(kv: KeyValue, now: number, all: boolean, listing: LeaseListing): void {
    const address = addressOfLeaseKey(kv.key);
    if (address === undefined) {
      listing.corrupt.push({ key: kv.key, error: `the store's key ${kv.key} names no IPv4 address; delete that key` });
      return;
    }
    try {
      const record = leaseCodec.decode(kv);
      if (all || record.expires > now) listing.leases.push({ ...record, address });
    } catch (error) {
      if (!(error instanceof CorruptDocumentError)) throw error;
      listing.corrupt.push({ key: kv.key, address, error: error.message });
    }
  }

  /** The live lease of `address`, if any. */
  async get(address: number): Promise<DhcpLease | undefined> {
    const record = (await readDocument(this.store, leaseKey(address), leaseCodec))?.value;
    return record && record.expires > this.now() ? { ...record, address } : undefined;
  }

  /** Runs a claim under `transact`; a claim that keeps losing races is answered as `exhausted`, as the pool is for it. */
  private async claim(decide: (tx: Transaction) => Promise<Claim>): Promise<Claim> {
    try {
      return await transact(this.store, decide);
    } catch (error) {
      if (error instanceof ContentionError) return { kind: 'exhausted' };
      throw error;
    }
  }

  private write(tx: Transaction, address: number, record: LeaseRecord): void {
    tx.put(leaseKey(address), leaseCodec, record);
    if (record.state !== 'declined') tx.add({ type: 'put', key: clientKey(record.mac), value: String(address) });
  }
}

export function describeLease(lease: DhcpLease): string {
  return `${formatIPv4(lease.address)} ${lease.state} to ${lease.mac} until ${new Date(lease.expires).toISOString()}`;
}
