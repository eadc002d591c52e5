/**
 * Machines: registration, reads and searches, lifecycle states, labels,
 * retire dates and removal. Every change is one `transact` that carries its
 * audit record and touches MACHINES_CHANGED (see MachineCache), so several
 * servers on one etcd never hand out the same index or address.
 */
import { conflict, invalid, notFound } from '../lib/errors.js';
import { readDocument, transact, type Transaction } from '../store/document.js';
import { keyMissing, type Compare, type Store, type TxnOp } from '../store/interface.js';
import type { Actor, AuditEntry, Auditor } from './audit.js';
import {
  cryptPrefix,
  IPAM_KEY,
  ipamCodec,
  MACHINES_CHANGED,
  machineCodec,
  machineKey,
  rackIndicesCodec,
  rackKey,
} from './documents.js';
import { type CachedMachine, type MachineCache, machinesJson } from './machine-cache.js';
import type { Machine, MachineSpecInput, MachineState } from './model.js';
import { planRegistration } from './registration.js';
import { compileQuery, type MachineQuery, queryKey } from './search.js';
import { checkTransition } from './states.js';

/** A compare a controller's change depends on (e.g. its leadership), and the error to throw when it no longer holds. */
export interface Guard {
  compare: Compare;
  refusal: () => Error;
}

/** Recent search answers kept (see find). */
const RECENT_SEARCHES = 64;

export class Machines {
  private readonly recentSearches = new Map<string, { revision: number; found: readonly CachedMachine[] }>();

  constructor(
    private readonly store: Store,
    private readonly cache: MachineCache,
    private readonly audit: Auditor,
    private readonly now: () => Date,
  ) {}

  /** Registers a batch atomically: all machines or none. */
  async register(inputs: MachineSpecInput[], actor: Actor): Promise<Machine[]> {
    if (inputs.length === 0) throw invalid('the batch is empty: give a JSON array of machines');
    return transact(this.store, async (tx) => {
      const ipam = await tx.get(IPAM_KEY, ipamCodec);
      if (!ipam) throw conflict('IPAM is not configured: set it first (PUT /api/v1/config/ipam, or yagura ipam set -f FILE)');
      const racks = [...new Set(inputs.map((m) => m.rack))];
      const taken = await Promise.all(racks.map((rack) => tx.get(rackKey(rack), rackIndicesCodec)));
      const used = new Map(racks.map((rack, i) => [rack, new Set(taken[i] ?? [])]));
      const plan = planRegistration(ipam, inputs, used, this.now());
      if (plan.kind === 'conflict') throw conflict(plan.message, plan.field);
      if (plan.kind === 'invalid') throw invalid(plan.message, plan.field);
      for (const [i, machine] of plan.machines.entries()) {
        const { serial } = machine.spec;
        // A guard, not a read: a batch of thousands costs no reads, and a duplicate is final, not retried.
        tx.require(keyMissing(machineKey(serial)), () => conflict(`machine ${serial} is already registered`, `[${i}].serial`));
        tx.put(machineKey(serial), machineCodec, machine);
      }
      for (const [rack, indices] of plan.racks) tx.put(rackKey(rack), rackIndicesCodec, indices);
      tx.add(
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
        touchMachines(),
      );
      return plan.machines;
    });
  }

  /** One machine, current as of every write acknowledged by any server. */
  async get(serial: string): Promise<Machine> {
    const found = await readDocument(this.store, machineKey(serial), machineCodec);
    if (!found) throw notFound(`machine ${serial}`);
    return withDuration(found.value, this.now());
  }

  /** Every machine, from the in-memory mirror once it has caught up with the store (for controllers). */
  async all(): Promise<Machine[]> {
    await this.cache.fresh();
    return [...this.cache.all()].map((cached) => cached.machine);
  }

  /** The JSON answer of a search, as bytes ready to send, in memory from `allocate` (default: a new buffer). */
  async searchJson(query: MachineQuery, allocate?: (size: number) => Buffer): Promise<Buffer> {
    const found = await this.find(query);
    return machinesJson(found, this.now().getTime(), allocate);
  }

  async getState(serial: string): Promise<MachineState> {
    return (await this.get(serial)).status.state;
  }

  /**
   * Changes a machine's state (only valid transitions). A controller passes
   * `expect` (the state its decision was based on: if the machine has moved on
   * since, nothing is written and 'moved' is returned), `guard` (a compare that
   * must hold at commit, e.g. its leadership; when it fails, its refusal is
   * thrown; several may be given), `reason` (in the audit record after the
   * transition) and `also` (its own writes that belong to the change, e.g. its
   * record of why, committed in the same transaction, only when the state changes).
   */
  async setState(
    serial: string,
    state: MachineState,
    actor: Actor,
    options: { expect?: MachineState; guard?: Guard | readonly Guard[]; reason?: string; also?: readonly TxnOp[] } = {},
  ): Promise<'changed' | 'same' | 'moved'> {
    let outcome: 'changed' | 'same' | 'moved' = 'same';
    await this.update(serial, actor, async (machine, tx) => {
      const from = machine.status.state;
      outcome = 'same';
      if (options.expect !== undefined && from !== options.expect && from !== state) {
        outcome = 'moved';
        return undefined;
      }
      const check = checkTransition(from, state);
      if (check.kind === 'same') return undefined;
      for (const guard of [options.guard ?? []].flat()) tx.require(guard.compare, guard.refusal);
      if (options.also) tx.add(...options.also);
      outcome = 'changed';
      if (check.kind === 'forbidden') throw conflict(check.message, 'state');
      if (state === 'retired') {
        // No compare needed: disk keys are refused from retiring on (see DiskKeys.put), and this machine is retiring.
        const keys = await this.store.range({ prefix: cryptPrefix(serial), keysOnly: true, limit: 1 });
        if (keys.kvs.length > 0) {
          throw conflict(
            `machine ${serial} still has disk encryption keys: delete them first (yagura crypts delete ${serial})`,
            'state',
          );
        }
      }
      const next: Machine = { ...machine, status: { state, timestamp: this.now().toISOString() } };
      const detail = `${from} -> ${state}${options.reason ? `: ${options.reason}` : ''}`;
      return { machine: next, audit: { category: 'machines', instance: serial, action: 'state', detail } };
    });
    return outcome;
  }

  async setLabel(serial: string, name: string, value: string, actor: Actor): Promise<void> {
    await this.update(serial, actor, async (machine) => {
      if (machine.spec.labels[name] === value) return undefined;
      const next = { ...machine, spec: { ...machine.spec, labels: { ...machine.spec.labels, [name]: value } } };
      return {
        machine: next,
        audit: { category: 'machines', instance: serial, action: 'set-label', detail: `${name}=${value}` },
      };
    });
  }

  async removeLabel(serial: string, name: string, actor: Actor): Promise<void> {
    await this.update(serial, actor, async (machine) => {
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
    await this.update(serial, actor, async (machine) => {
      if (machine.spec['retire-date'] === iso) return undefined;
      const next = { ...machine, spec: { ...machine.spec, 'retire-date': iso } };
      return { machine: next, audit: { category: 'machines', instance: serial, action: 'set-retire-date', detail: iso } };
    });
  }

  /** Removes a retired machine and frees its index in the rack. */
  async remove(serial: string, actor: Actor): Promise<void> {
    await transact(this.store, async (tx) => {
      const machine = await tx.get(machineKey(serial), machineCodec);
      if (!machine) throw notFound(`machine ${serial}`);
      if (machine.status.state !== 'retired') {
        throw conflict(`only retired machines can be removed; ${serial} is ${machine.status.state}`, 'state');
      }
      const { rack, 'index-in-rack': index } = machine.spec;
      const indices = ((await tx.get(rackKey(rack), rackIndicesCodec)) ?? []).filter((i) => i !== index);
      tx.delete(machineKey(serial));
      if (indices.length > 0) tx.put(rackKey(rack), rackIndicesCodec, indices);
      else tx.delete(rackKey(rack));
      tx.add(
        this.audit(actor, { category: 'machines', instance: serial, action: 'remove', detail: `rack ${rack} index ${index}` }),
        touchMachines(),
      );
    });
  }

  /**
   * Machines matching the query, by serial, current as of every acknowledged
   * write on any server. Tools poll the same searches over and over, so the
   * answers to recent queries are kept until the mirror changes.
   */
  private async find(query: MachineQuery): Promise<readonly CachedMachine[]> {
    await this.cache.fresh();
    // A serial the query names whose stored value is not a machine: say so, rather than answer as if it did not exist.
    for (const serial of query.having.values.serial ?? []) {
      const corrupt = this.cache.corrupt(serial);
      if (corrupt) throw corrupt;
    }
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

  /** Read-modify-write of one machine with its audit record; `change` returns undefined for "nothing to do". */
  private async update(
    serial: string,
    actor: Actor,
    change: (machine: Machine, tx: Transaction) => Promise<{ machine: Machine; audit: AuditEntry } | undefined>,
  ): Promise<void> {
    await transact(this.store, async (tx) => {
      const machine = await tx.get(machineKey(serial), machineCodec);
      if (!machine) throw notFound(`machine ${serial}`);
      const update = await change(machine, tx);
      if (!update) return;
      tx.put(machineKey(serial), machineCodec, update.machine);
      tx.add(this.audit(actor, update.audit), touchMachines());
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
