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
 */
import { CompactedError, StoreClosedError } from '../store/errors.js';
import type { Store, Watch } from '../store/interface.js';
import type { Machine } from './model.js';

export const MACHINES_PREFIX = 'machines/';

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
export const MACHINES_CHANGED = 'inventory/machines-changed';
const PAGE = 1000;

export class MachineCache {
  private machines = new Map<string, CachedMachine>();
  /** rack → serials, and "name=value" → serials: searches start from the smallest candidate set. */
  private byRack = new Map<number, Set<string>>();
  private byLabel = new Map<string, Set<string>>();
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

  get size(): number {
    return this.machines.size;
  }

  /** The store revision of the newest change applied here: equal revisions mean equal contents. */
  get appliedRevision(): number {
    return this.revision;
  }

  private async load(): Promise<void> {
    const machines: Machine[] = [];
    let page = await this.store.range({ prefix: MACHINES_PREFIX, limit: PAGE });
    const revision = page.revision;
    for (;;) {
      for (const kv of page.kvs) machines.push(JSON.parse(kv.value) as Machine);
      if (!page.more) break;
      page = await this.store.range({ prefix: MACHINES_PREFIX, limit: PAGE, after: page.next, revision });
    }
    this.machines = new Map();
    this.byRack = new Map();
    this.byLabel = new Map();
    for (const machine of machines) this.set(machine);
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
            const serial = event.kv.key.slice(MACHINES_PREFIX.length);
            if (event.type === 'put') this.set(JSON.parse(event.kv.value) as Machine);
            else this.remove(serial);
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

  private set(machine: Machine): void {
    this.remove(machine.spec.serial);
    const serial = machine.spec.serial;
    this.machines.set(serial, cacheEntry(machine));
    addTo(this.byRack, machine.spec.rack, serial);
    for (const [name, value] of Object.entries(machine.spec.labels)) addTo(this.byLabel, `${name}=${value}`, serial);
  }

  private remove(serial: string): void {
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
