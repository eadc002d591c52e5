/**
 * The inventory on the Store: machines, IPAM and DHCP config, disk-key escrow
 * and the audit log. Every change is one compare-and-swap transaction that
 * carries its audit record, retried when another writer got there first, so
 * several servers on one etcd never hand out the same index or address.
 */
import { hostname } from 'node:os';
import { retryCas } from '../store/cas.js';
import { type Compare, keyUnchanged, type Store, type TxnOp } from '../store/interface.js';
import { type Actor, type AuditEntry, auditOp, auditRange, auditRecord, type AuditRecord } from './audit.js';
import { conflict, invalid, notFound } from '../lib/errors.js';
import { ipamProblems } from './ipam.js';
import { type CachedMachine, MACHINES_CHANGED, MACHINES_PREFIX, MachineCache, machinesJson } from './machine-cache.js';
import type { DhcpConfig, IpamConfig, Machine, MachineSpecInput, MachineState } from './model.js';
import { planRegistration } from './registration.js';
import { compileQuery, queryKey, type MachineQuery } from './search.js';
import { checkTransition } from './states.js';

const IPAM_KEY = 'config/ipam';
const DHCP_KEY = 'config/dhcp';
const rackKey = (rack: number) => `node-indices/${rack}`;
const machineKey = (serial: string) => `${MACHINES_PREFIX}${serial}`;
const cryptPrefix = (serial: string) => `crypts/${serial}/`;

export const DEFAULT_DHCP: DhcpConfig = { 'lease-minutes': 60, 'dns-servers': [] };

/** Recent search answers kept (see find). */
const RECENT_SEARCHES = 64;

export class Inventory {
  readonly cache: MachineCache;
  private readonly recentSearches = new Map<string, { revision: number; found: readonly CachedMachine[] }>();
  private readonly host = hostname();

  constructor(
    private readonly store: Store,
    onError: (error: unknown) => void = () => {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.cache = new MachineCache(store, onError);
  }

  async start(): Promise<void> {
    await this.cache.start();
  }

  stop(): void {
    this.cache.stop();
  }

  // ---- machines ----

  /** Registers a batch atomically: all machines or none. */
  async register(inputs: MachineSpecInput[], actor: Actor): Promise<Machine[]> {
    if (inputs.length === 0) throw invalid('the batch is empty: give a JSON array of machines');
    return retryCas(async () => {
      const ipam = await this.store.get(IPAM_KEY);
      if (!ipam) throw conflict('IPAM is not configured: set it first (PUT /api/v1/config/ipam, or yagura ipam set -f FILE)');
      const config = JSON.parse(ipam.value) as IpamConfig;
      const racks = [...new Set(inputs.map((m) => m.rack))];
      const rackDocs = await Promise.all(racks.map((rack) => this.store.get(rackKey(rack))));
      const used = new Map(
        racks.map((rack, i) => [rack, new Set(rackDocs[i] ? (JSON.parse(rackDocs[i].value) as number[]) : [])]),
      );
      const plan = planRegistration(config, inputs, used, this.now());
      if (plan.kind === 'conflict') throw conflict(plan.message, plan.field);
      if (plan.kind === 'invalid') throw invalid(plan.message, plan.field);
      const compare: Compare[] = [
        keyUnchanged(IPAM_KEY, ipam),
        ...racks.map((rack, i) => keyUnchanged(rackKey(rack), rackDocs[i])),
        ...plan.machines.map((m) => keyUnchanged(machineKey(m.spec.serial), undefined)),
      ];
      const success: TxnOp[] = [
        ...plan.machines.map((m): TxnOp => ({ type: 'put', key: machineKey(m.spec.serial), value: JSON.stringify(m) })),
        ...[...plan.racks].map(([rack, indices]): TxnOp => ({ type: 'put', key: rackKey(rack), value: JSON.stringify(indices) })),
        this.audit(actor, {
          category: 'machines',
          instance: plan.machines.map((m) => m.spec.serial).join(','),
          action: 'register',
          detail: JSON.stringify(
            plan.machines.map((m) => ({
              serial: m.spec.serial,
              rack: m.spec.rack,
              index: m.spec['index-in-rack'],
              role: m.spec.role,
            })),
          ),
        }),
      ];
      const result = await this.store.txn({ compare, success: [...success, touchMachines()] });
      if (result.succeeded) return plan.machines;
      // Lost a race: a duplicate serial is final, anything else is retried.
      const existing = await Promise.all(plan.machines.map((m) => this.store.get(machineKey(m.spec.serial))));
      const duplicate = existing.findIndex((kv) => kv !== undefined);
      if (duplicate >= 0)
        throw conflict(`machine ${plan.machines[duplicate]!.spec.serial} is already registered`, `[${duplicate}].serial`);
      return undefined;
    });
  }

  /** One machine, current as of every write acknowledged by any server. */
  async get(serial: string): Promise<Machine> {
    const kv = await this.store.get(machineKey(serial));
    if (!kv) throw notFound(`machine ${serial}`);
    return withDuration(JSON.parse(kv.value) as Machine, this.now());
  }

  /** The JSON answer of a search, as bytes ready to send, in memory from `allocate` (default: a new buffer). */
  async searchJson(query: MachineQuery, allocate?: (size: number) => Buffer): Promise<Buffer> {
    const found = await this.find(query);
    return machinesJson(found, this.now().getTime(), allocate);
  }

  /**
   * Machines matching the query, by serial, current as of every acknowledged
   * write on any server. Tools poll the same searches over and over, so the
   * answers to recent queries are kept until the mirror changes.
   */
  private async find(query: MachineQuery): Promise<readonly CachedMachine[]> {
    await this.cache.fresh();
    const revision = this.cache.appliedRevision;
    const key = queryKey(query);
    const recent = this.recentSearches.get(key);
    if (recent?.revision === revision) return recent.found;
    const matches = compileQuery(query);
    const found: CachedMachine[] = [];
    for (const entry of this.candidates(query)) if (entry && matches(entry.machine)) found.push(entry);
    found.sort((a, b) =>
      a.machine.spec.serial < b.machine.spec.serial ? -1 : a.machine.spec.serial > b.machine.spec.serial ? 1 : 0,
    );
    this.recentSearches.delete(key);
    this.recentSearches.set(key, { revision, found });
    if (this.recentSearches.size > RECENT_SEARCHES) this.recentSearches.delete(this.recentSearches.keys().next().value!);
    return found;
  }

  /** The smallest set that must contain every match: named serials, the named racks, or the machines with the labels. */
  private candidates(query: MachineQuery): Iterable<CachedMachine | undefined> {
    const { serial, rack } = query.having.values;
    const labels = query.having.labels;
    const options: string[][] = [];
    if (serial) options.push([...serial]);
    if (rack) options.push(this.cache.inRacks([...rack].map(Number)));
    if (labels) options.push(this.cache.withLabels(labels));
    if (options.length === 0) return this.cache.all();
    const smallest = options.reduce((a, b) => (b.length < a.length ? b : a));
    return smallest.map((s) => this.cache.get(s));
  }

  async getState(serial: string): Promise<MachineState> {
    return (await this.get(serial)).status.state;
  }

  async setState(serial: string, state: MachineState, actor: Actor): Promise<void> {
    await this.updateMachine(serial, actor, async (machine) => {
      const from = machine.status.state;
      const check = checkTransition(from, state);
      if (check.kind === 'same') return undefined;
      if (check.kind === 'forbidden') throw conflict(check.message, 'state');
      if (state === 'retired') {
        const keys = await this.store.range({ prefix: cryptPrefix(serial), keysOnly: true, limit: 1 });
        if (keys.kvs.length > 0) {
          throw conflict(
            `machine ${serial} still has disk encryption keys: delete them first (yagura crypts delete ${serial})`,
            'state',
          );
        }
      }
      const next: Machine = { ...machine, status: { state, timestamp: this.now().toISOString() } };
      return { machine: next, audit: { category: 'machines', instance: serial, action: 'state', detail: `${from} -> ${state}` } };
    });
  }

  async setLabel(serial: string, name: string, value: string, actor: Actor): Promise<void> {
    await this.updateMachine(serial, actor, async (machine) => {
      if (machine.spec.labels[name] === value) return undefined;
      const next = { ...machine, spec: { ...machine.spec, labels: { ...machine.spec.labels, [name]: value } } };
      return {
        machine: next,
        audit: { category: 'machines', instance: serial, action: 'set-label', detail: `${name}=${value}` },
      };
    });
  }

  async removeLabel(serial: string, name: string, actor: Actor): Promise<void> {
    await this.updateMachine(serial, actor, async (machine) => {
      if (!(name in machine.spec.labels)) throw notFound(`label ${name} of machine ${serial}`);
      const labels = { ...machine.spec.labels };
      delete labels[name];
      return {
        machine: { ...machine, spec: { ...machine.spec, labels } },
        audit: { category: 'machines', instance: serial, action: 'remove-label', detail: name },
      };
    });
  }

  async setRetireDate(serial: string, date: Date, actor: Actor): Promise<void> {
    const iso = date.toISOString();
    await this.updateMachine(serial, actor, async (machine) => {
      if (machine.spec['retire-date'] === iso) return undefined;
      const next = { ...machine, spec: { ...machine.spec, 'retire-date': iso } };
      return { machine: next, audit: { category: 'machines', instance: serial, action: 'set-retire-date', detail: iso } };
    });
  }

  /** Removes a retired machine and frees its index in the rack. */
  async remove(serial: string, actor: Actor): Promise<void> {
    await retryCas(async () => {
      const kv = await this.store.get(machineKey(serial));
      if (!kv) throw notFound(`machine ${serial}`);
      const machine = JSON.parse(kv.value) as Machine;
      if (machine.status.state !== 'retired') {
        throw conflict(`only retired machines can be removed; ${serial} is ${machine.status.state}`, 'state');
      }
      const rack = await this.store.get(rackKey(machine.spec.rack));
      const indices = (rack ? (JSON.parse(rack.value) as number[]) : []).filter((i) => i !== machine.spec['index-in-rack']);
      const result = await this.store.txn({
        compare: [keyUnchanged(machineKey(serial), kv), keyUnchanged(rackKey(machine.spec.rack), rack)],
        success: [
          { type: 'delete', key: machineKey(serial) },
          indices.length > 0
            ? { type: 'put', key: rackKey(machine.spec.rack), value: JSON.stringify(indices) }
            : { type: 'delete', key: rackKey(machine.spec.rack) },
          this.audit(actor, {
            category: 'machines',
            instance: serial,
            action: 'remove',
            detail: `rack ${machine.spec.rack} index ${machine.spec['index-in-rack']}`,
          }),
          touchMachines(),
        ],
      });
      return result.succeeded ? true : undefined;
    });
  }

  // ---- configuration ----

  async getIpam(): Promise<IpamConfig> {
    const kv = await this.store.get(IPAM_KEY);
    if (!kv) throw notFound('IPAM config');
    return JSON.parse(kv.value) as IpamConfig;
  }

  async setIpam(config: IpamConfig, actor: Actor): Promise<void> {
    const problem = ipamProblems(config)[0];
    if (problem) throw invalid(`${problem.field}: ${problem.message}`, problem.field);
    await retryCas(async () => {
      const [current, changed, machines] = await Promise.all([
        this.store.get(IPAM_KEY),
        this.store.get(MACHINES_CHANGED),
        this.store.range({ prefix: MACHINES_PREFIX, keysOnly: true, limit: 1 }),
      ]);
      if (current && current.value === JSON.stringify(config)) return true;
      if (machines.kvs.length > 0) {
        throw conflict(
          'IPAM cannot change while machines are registered (their addresses derive from it): remove every machine first',
        );
      }
      const result = await this.store.txn({
        // Any machine write since the check above touches MACHINES_CHANGED and makes this retry.
        compare: [keyUnchanged(IPAM_KEY, current), keyUnchanged(MACHINES_CHANGED, changed)],
        success: [
          { type: 'put', key: IPAM_KEY, value: JSON.stringify(config) },
          this.audit(actor, { category: 'ipam', instance: 'ipam', action: 'set', detail: JSON.stringify(config) }),
        ],
      });
      return result.succeeded ? true : undefined;
    });
  }

  async getDhcp(): Promise<DhcpConfig> {
    const kv = await this.store.get(DHCP_KEY);
    return kv ? (JSON.parse(kv.value) as DhcpConfig) : DEFAULT_DHCP;
  }

  async setDhcp(config: DhcpConfig, actor: Actor): Promise<void> {
    const stored: DhcpConfig = { 'lease-minutes': config['lease-minutes'], 'dns-servers': config['dns-servers'] };
    await this.store.txn({
      success: [
        { type: 'put', key: DHCP_KEY, value: JSON.stringify(stored) },
        this.audit(actor, { category: 'dhcp', instance: 'dhcp', action: 'set', detail: JSON.stringify(stored) }),
      ],
    });
  }

  // ---- disk-encryption key escrow ----

  /** Stores a key; keys are create-only and refused once the machine is retiring. */
  async putCrypt(serial: string, path: string, key: Buffer, actor: Actor): Promise<void> {
    await retryCas(async () => {
      const kv = await this.store.get(machineKey(serial));
      if (!kv) throw notFound(`machine ${serial}`);
      const state = (JSON.parse(kv.value) as Machine).status.state;
      if (state === 'retiring' || state === 'retired')
        throw conflict(`machine ${serial} is ${state}: it takes no new disk keys`, 'state');
      const cryptKey = `${cryptPrefix(serial)}${path}`;
      const result = await this.store.txn({
        // The machine compare keeps a key from slipping in while the machine turns retiring.
        compare: [keyUnchanged(machineKey(serial), kv), keyUnchanged(cryptKey, undefined)],
        success: [
          { type: 'put', key: cryptKey, value: key.toString('base64') },
          this.audit(actor, { category: 'crypts', instance: serial, action: 'put', detail: path }),
        ],
      });
      if (result.succeeded) return true;
      if (await this.store.get(cryptKey))
        throw conflict(`disk key ${path} of machine ${serial} already exists (keys are create-only)`, 'path');
      return undefined;
    });
  }

  async getCrypt(serial: string, path: string): Promise<Buffer> {
    const kv = await this.store.get(`${cryptPrefix(serial)}${path}`);
    if (!kv) throw notFound(`disk key ${path} of machine ${serial}`);
    return Buffer.from(kv.value, 'base64');
  }

  /** Deletes every disk key of a retiring machine; returns the deleted paths. */
  async deleteCrypts(serial: string, actor: Actor): Promise<string[]> {
    return retryCas(async () => {
      const kv = await this.store.get(machineKey(serial));
      if (!kv) throw notFound(`machine ${serial}`);
      const state = (JSON.parse(kv.value) as Machine).status.state;
      if (state !== 'retiring')
        throw conflict(`disk keys can be deleted only while the machine is retiring; ${serial} is ${state}`, 'state');
      const keys = await this.store.range({ prefix: cryptPrefix(serial), keysOnly: true });
      const paths = keys.kvs.map((k) => k.key.slice(cryptPrefix(serial).length));
      const result = await this.store.txn({
        compare: [
          keyUnchanged(machineKey(serial), kv),
          ...keys.kvs.map((k) => ({ key: k.key, target: 'version' as const, result: '>' as const, value: 0 })),
        ],
        success: [
          { type: 'delete', prefix: cryptPrefix(serial) },
          this.audit(actor, { category: 'crypts', instance: serial, action: 'delete', detail: paths.join(',') }),
        ],
      });
      return result.succeeded ? paths : undefined;
    });
  }

  // ---- audit log ----

  /** Records of the days [since, until) (YYYYMMDD), in revision order, page by page. */
  async *logs(since?: string, until?: string): AsyncGenerator<AuditRecord[]> {
    const range = auditRange(since, until);
    let page = await this.store.range({ ...range, limit: 1000 });
    const revision = page.revision;
    for (;;) {
      yield page.kvs.map(auditRecord).sort((a, b) => a.rev - b.rev);
      if (!page.more) return;
      page = await this.store.range({ ...range, limit: 1000, after: page.next, revision });
    }
  }

  // ---- internals ----

  private audit(actor: Actor, entry: AuditEntry): TxnOp {
    return auditOp(entry, actor, this.host, this.now());
  }

  /** Read-modify-write of one machine with its audit record; `change` returns undefined for "nothing to do". */
  private async updateMachine(
    serial: string,
    actor: Actor,
    change: (machine: Machine) => Promise<{ machine: Machine; audit: AuditEntry } | undefined>,
  ): Promise<void> {
    await retryCas(async () => {
      const kv = await this.store.get(machineKey(serial));
      if (!kv) throw notFound(`machine ${serial}`);
      const update = await change(JSON.parse(kv.value) as Machine);
      if (!update) return true;
      const result = await this.store.txn({
        compare: [keyUnchanged(machineKey(serial), kv)],
        success: [
          { type: 'put', key: machineKey(serial), value: JSON.stringify(update.machine) },
          this.audit(actor, update.audit),
          touchMachines(),
        ],
      });
      return result.succeeded ? true : undefined;
    });
  }
}

/** Every machine write touches this key; see MachineCache. */
function touchMachines(): TxnOp {
  return { type: 'put', key: MACHINES_CHANGED, value: '' };
}

function withDuration(machine: Machine, now: Date): Machine {
  return { ...machine, status: { ...machine.status, duration: (now.getTime() - Date.parse(machine.status.timestamp)) / 1000 } };
}
