/**
 * An in-memory mirror of every machine, kept current by a watch, so that
 * searches over tens of thousands of machines cost microseconds.
 *
 * Read-your-writes across servers: every transaction that changes a machine
 * also touches MACHINES_CHANGED, so that key's mod revision is the revision of
 * the newest machine write. `fresh()` reads it (one cheap get) and waits until
 * the mirror has applied that revision; then a write made through any server
 * is visible here. (The store's global revision cannot serve: on a shared etcd
 * other tenants' writes advance it without events under our prefix.)
 *
 * A value under machines/ that is not a valid machine (corrupt, or written by
 * something else) does not stop the mirror: it is left out, reported once
 * through `onError` (a CorruptDocumentError naming the key, which the daemon
 * logs), and remembered in `corrupt` until the key is rewritten or deleted,
 * so that a search naming that serial fails with the same error instead of
 * answering as if the machine did not exist. The mirror keeps serving every
 * other machine.
 */
import { CorruptDocumentError } from '../store/codec.js';
import { CompactedError, StoreClosedError } from '../store/errors.js';
import type { KeyValue, Store, Watch } from '../store/interface.js';
import { MACHINES_CHANGED, MACHINES_PREFIX, machineCodec } from './documents.js';
import type { Machine } from './model.js';

/**
 * A machine as the mirror keeps it: parsed, and pre-encoded as UTF-8 around
 * the one field computed per read, so that an answer is a concatenation of
 * buffers that live outside the JS heap (a 400-machine answer is ~235 KB;
 * building it as one string and encoding it per request showed in GC pauses).
 */
export interface CachedMachine {
  machine: Machine;
  /** JSON of the machine up to `"duration":`; the duration goes between `before` and `after`. */
  before: Buffer;
  after: Buffer;
  /** status.timestamp in ms. */
  changedAt: number;
}

/**
 * The JSON array of the machines, each with its status duration (seconds since
 * the last state change) at `now`, in memory from `allocate` (a pool's, say).
 */
export function machinesJson(
  entries: readonly CachedMachine[],
  now: number,
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  // One allocation and plain typed-array copies: building it from ~3 buffers a machine with Buffer.concat
  // spent more time crossing into C++ per part than copying bytes.
  const durations = entries.map((entry) => JSON.stringify((now - entry.changedAt) / 1000));
  let size = 2 + Math.max(0, entries.length - 1);
  for (let i = 0; i < entries.length; i++) size += entries[i]!.before.length + durations[i]!.length + entries[i]!.after.length;
  const out = allocate(size);
  let at = 0;
  out[at++] = 0x5b; // [
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (i > 0) out[at++] = 0x2c; // ,
    out.set(entry.before, at);
    at += entry.before.length;
    const duration = durations[i]!; // ASCII: digits, ".", "-", "e"
    for (let c = 0; c < duration.length; c++) out[at++] = duration.charCodeAt(c);
    out.set(entry.after, at);
    at += entry.after.length;
  }
  out[at] = 0x5d; // ]
  return out;
}

function cacheEntry(machine: Machine): CachedMachine {
  const { spec, status, info } = machine;
  return {
    machine,
    before: Buffer.from(
      `{"spec":${JSON.stringify(spec)},"status":{"state":${JSON.stringify(status.state)},"timestamp":${JSON.stringify(status.timestamp)},"duration":`,
    ),
    after: Buffer.from(`},"info":${JSON.stringify(info)}}`),
    changedAt: Date.parse(status.timestamp),
  };
}
const PAGE = 1000;

export class MachineCache {
  private machines = new Map<string, CachedMachine>();
  /** rack → serials, and "name=value" → serials: searches start from the smallest candidate set. */
  private byRack = new Map<number, Set<string>>();
  private byLabel = new Map<string, Set<string>>();
  /** serial → why its value under machines/ is not a machine. */
  private corruptValues = new Map<string, CorruptDocumentError>();
  private revision = 0;
  private watch: Watch | undefined;
  private waiters: { revision: number; resolve: () => void }[] = [];
  private stopped = false;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Loads every machine and starts following changes. */
  async start(): Promise<void> {
    this.loading = this.load();
    await this.loading;
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  /** Waits until every write the store has acknowledged so far is reflected here. */
  async fresh(timeoutMs = 5000): Promise<void> {
    const revision = (await this.store.get(MACHINES_CHANGED))?.modRevision ?? 0;
    if (this.revision >= revision) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the machine cache did not reach revision ${revision} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        revision,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  get(serial: string): CachedMachine | undefined {
    return this.machines.get(serial);
  }

  all(): IterableIterator<CachedMachine> {
    return this.machines.values();
  }

  /** Serials in any of these racks. */
  inRacks(racks: Iterable<number>): string[] {
    return [...racks].flatMap((rack) => [...(this.byRack.get(rack) ?? [])]);
  }

  /** Serials carrying every one of these labels. */
  withLabels(pairs: [string, string][]): string[] {
    const sets = pairs.map(([name, value]) => this.byLabel.get(`${name}=${value}`) ?? new Set<string>());
    sets.sort((a, b) => a.size - b.size);
    return [...sets[0]!].filter((serial) => sets.every((set) => set.has(serial)));
  }

  /** Why the value stored for this serial is not a machine, when it is not one. */
  corrupt(serial: string): CorruptDocumentError | undefined {
    return this.corruptValues.get(serial);
  }

  /** The keys under machines/ whose values are not machines (left out of the mirror). */
  get corruptKeys(): string[] {
    return [...this.corruptValues.values()].map((error) => error.key);
  }

  get size(): number {
    return this.machines.size;
  }

  /** The store revision of the newest change applied here: equal revisions mean equal contents. */
  get appliedRevision(): number {
    return this.revision;
  }

  private async load(): Promise<void> {
    const kvs: KeyValue[] = [];
    let page = await this.store.range({ prefix: MACHINES_PREFIX, limit: PAGE });
    const revision = page.revision;
    for (;;) {
      kvs.push(...page.kvs);
      if (!page.more) break;
      page = await this.store.range({ prefix: MACHINES_PREFIX, limit: PAGE, after: page.next, revision });
    }
    this.machines = new Map();
    this.byRack = new Map();
    this.byLabel = new Map();
    this.corruptValues = new Map();
    for (const kv of kvs) this.put(kv);
    this.advance(revision);
    this.follow(revision + 1);
  }

  private follow(from: number): void {
    const watch = this.store.watch({ prefix: '', startRevision: from });
    this.watch = watch;
    void (async () => {
      try {
        for await (const events of watch) {
          for (const event of events) {
            if (!event.kv.key.startsWith(MACHINES_PREFIX)) continue;
            if (event.type === 'put') this.put(event.kv);
            else this.remove(event.kv.key.slice(MACHINES_PREFIX.length));
          }
          this.advance(events[events.length - 1]!.kv.modRevision);
        }
      } catch (error) {
        if (this.stopped || error instanceof StoreClosedError) return;
        // Fell too far behind (history compacted) or the watch broke: reload from scratch.
        if (!(error instanceof CompactedError)) this.onError(error);
        setTimeout(() => void this.load().catch((e: unknown) => this.onError(e)), error instanceof CompactedError ? 0 : 1000);
      }
    })();
  }

  /** Applies a value written under machines/: the machine, or a report that it is not one. */
  private put(kv: KeyValue): void {
    let machine: Machine;
    try {
      machine = machineCodec.decode(kv);
    } catch (error) {
      if (!(error instanceof CorruptDocumentError)) throw error;
      const serial = kv.key.slice(MACHINES_PREFIX.length);
      this.remove(serial);
      this.corruptValues.set(serial, error);
      this.onError(error);
      return;
    }
    this.set(machine);
  }

  private set(machine: Machine): void {
    this.remove(machine.spec.serial);
    const serial = machine.spec.serial;
    this.machines.set(serial, cacheEntry(machine));
    addTo(this.byRack, machine.spec.rack, serial);
    for (const [name, value] of Object.entries(machine.spec.labels)) addTo(this.byLabel, `${name}=${value}`, serial);
  }

  private remove(serial: string): void {
    this.corruptValues.delete(serial);
    const old = this.machines.get(serial)?.machine;
    if (!old) return;
    this.machines.delete(serial);
    removeFrom(this.byRack, old.spec.rack, serial);
    for (const [name, value] of Object.entries(old.spec.labels)) removeFrom(this.byLabel, `${name}=${value}`, serial);
  }

  private advance(revision: number): void {
    this.revision = Math.max(this.revision, revision);
    const ready = this.waiters.filter((w) => w.revision <= this.revision);
    this.waiters = this.waiters.filter((w) => w.revision > this.revision);
    for (const waiter of ready) waiter.resolve();
  }
}

function addTo<K>(index: Map<K, Set<string>>, key: K, serial: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(serial);
}

function removeFrom<K>(index: Map<K, Set<string>>, key: K, serial: string): void {
  const set = index.get(key);
  set?.delete(serial);
  if (set?.size === 0) index.delete(key);
}
