/**
 * The repair queue in the store: one record per machine at repairs/<serial>
 * (its repair in progress, or the last one that finished: the history stays
 * one record a machine), and the pause switch at repair-queue/switch, shared
 * by every boot server and kept across restarts. Here are what the queue
 * observes each round, what people do to it (pause, resume, cancel; each in
 * the audit log under their name) and the leader's writes of its decisions,
 * each guarded by its leadership and by the record being as it was read, so
 * a person's cancel in between wins.
 */
import { hostname } from 'node:os';
import { type Actor, type Auditor, auditor } from '../inventory/audit.js';
import type { BmcCredentials } from '../inventory/bmc-credentials.js';
import { machineCodec, machineKey } from '../inventory/documents.js';
import type { Inventory } from '../inventory/inventory.js';
import type { Guard } from '../inventory/machines.js';
import type { Machine, MachineState } from '../inventory/model.js';
import { conflict, notFound } from '../lib/errors.js';
import { type Codec, CorruptDocumentError, jsonCodec } from '../store/codec.js';
import { readDocument, readDocuments, transact } from '../store/document.js';
import { Election } from '../store/election.js';
import { type Compare, keyMissing, type Store, type TxnOp } from '../store/interface.js';
import {
  afterPowerCycle,
  cancelledRecord,
  decideRepairs,
  type MachineView,
  type Observed,
  type QueueEntry,
  type RepairAction,
  type RepairConfig,
} from './decide-repairs.js';
import { type QueueSwitch, queueSwitch, repairRecord, type RepairRecord } from './model.js';

export const REPAIRS_PREFIX = 'repairs/';
export const repairKey = (serial: string) => `${REPAIRS_PREFIX}${serial}`;
export const QUEUE_SWITCH_KEY = 'repair-queue/switch';
export const REPAIR_QUEUE_ELECTION = 'elections/repair-queue/';
/** Who the audit log names for the queue's own changes. */
export const REPAIR_QUEUE_ACTOR = 'repair-queue';

const recordJson = jsonCodec('repair record', repairRecord);
/** A record at repairs/<serial>; its serial must be the one its key names. */
export const recordCodec: Codec<RepairRecord> = {
  what: recordJson.what,
  decode(kv) {
    const record = recordJson.decode(kv);
    if (kv.key !== repairKey(record.serial))
      throw new CorruptDocumentError(kv.key, 'repair record', `serial: ${record.serial} is not the serial its key names`);
    return record;
  },
  encode: (key, record) => recordJson.encode(key, record),
};
const switchCodec = jsonCodec('repair queue switch', queueSwitch);

/** What one round observes, with what the leader needs besides the decision's input. */
export interface Observation {
  observed: Observed;
  /** The stored text of each record, by serial: a leader's write expects it unchanged. */
  stored: ReadonlyMap<string, string>;
  credentials: BmcCredentials | undefined;
  queue: QueueSwitch | undefined;
}

/** One line of the queue as the API shows it: the machine, where its repair stands, and its record's times. */
export interface RepairListEntry {
  serial: string;
  rack: number;
  /** The machine's state; "" when it is no longer in the inventory. */
  state: MachineState | '';
  status: QueueEntry['status'];
  note: string;
  attempts: number;
  fault?: string;
  faultAt?: string;
  startedAt?: string;
  lastAttemptAt?: string;
  finishedAt?: string;
  lastError?: string;
}

/** GET /api/v1/repairs. */
export interface RepairQueueView {
  paused: boolean;
  /** Who paused or resumed it last, and when ("" if no one has). */
  switchedBy: string;
  switchedAt: string;
  /** Whether BMC credentials are set: without them the queue repairs nothing. */
  credentials: boolean;
  /** The server that runs the queue now (its name in the election), "" when none does. */
  leader: string;
  /** This server's settings (every server of a data center should run with the same). */
  config: RepairConfig;
  repairs: RepairListEntry[];
}

export function machineView(machine: Machine): MachineView {
  return {
    serial: machine.spec.serial,
    rack: machine.spec.rack,
    role: machine.spec.role,
    state: machine.status.state,
    since: Date.parse(machine.status.timestamp),
    bmc: { type: machine.spec.bmc.type, address: machine.spec.bmc.ipv4 },
  };
}

export class Repairs {
  private readonly audit: Auditor;

  constructor(
    private readonly store: Store,
    private readonly inventory: Inventory,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.audit = auditor(hostname(), now);
  }

  async observe(): Promise<Observation> {
    const [machines, records, queue, credentials] = await Promise.all([
      this.inventory.machines.all(),
      readDocuments(this.store, REPAIRS_PREFIX, recordCodec),
      readDocument(this.store, QUEUE_SWITCH_KEY, switchCodec),
      this.inventory.bmcCredentials.get(),
    ]);
    return {
      observed: {
        machines: machines.map(machineView),
        records: new Map(records.map(({ value }) => [value.serial, value])),
        paused: queue?.value.paused ?? false,
        credentials: credentials !== undefined,
      },
      stored: new Map(records.map(({ value, kv }) => [value.serial, kv.value])),
      credentials,
      queue: queue?.value,
    };
  }

  /** The queue as it stands, decided afresh with `config` (nothing is written). */
  async view(config: RepairConfig): Promise<RepairQueueView> {
    const [{ observed, queue }, leader] = await Promise.all([
      this.observe(),
      new Election(this.store, REPAIR_QUEUE_ELECTION).leader(),
    ]);
    const decision = decideRepairs(observed, config, this.now().getTime());
    return {
      paused: observed.paused,
      switchedBy: queue?.by ?? '',
      switchedAt: queue?.at ?? '',
      credentials: observed.credentials,
      leader: leader?.value ?? '',
      config,
      repairs: decision.queue.map(({ serial, rack, state, status, note, record }) => ({
        serial,
        rack,
        state: state ?? '',
        status,
        note,
        attempts: record?.attempts ?? 0,
        ...(record && {
          fault: record.fault,
          faultAt: record.faultAt,
          startedAt: record.startedAt,
          lastAttemptAt: record.lastAttemptAt,
          finishedAt: record.finishedAt,
          lastError: record.lastError,
        }),
      })),
    };
  }

  /** Pauses or resumes the queue; false when it already was. */
  async setPaused(paused: boolean, actor: Actor): Promise<boolean> {
    return transact(this.store, async (tx) => {
      const current = await tx.get(QUEUE_SWITCH_KEY, switchCodec);
      if ((current?.paused ?? false) === paused) return false;
      const by = actor.user || 'an unnamed user';
      tx.put(QUEUE_SWITCH_KEY, switchCodec, { paused, by, at: this.now().toISOString() });
      tx.add(
        this.audit(actor, {
          category: 'repairs',
          instance: 'queue',
          action: paused ? 'pause' : 'resume',
          detail: paused ? 'no repair starts or goes on until resumed' : 'repairs start and go on again',
        }),
      );
      return true;
    });
  }

  /**
   * Ends a machine's repair, or keeps a faulty machine that waits from being
   * repaired: either way the queue leaves it alone until it is no longer faulty.
   */
  async cancel(serial: string, actor: Actor): Promise<RepairRecord> {
    return transact(this.store, async (tx) => {
      const machine = await tx.get(machineKey(serial), machineCodec);
      if (!machine) throw notFound(`machine ${serial}`);
      const record = await tx.get(repairKey(serial), recordCodec);
      if (record?.status === 'cancelled' && record.hold) return record;
      const next = cancelledRecord(machineView(machine), record, actor.user, this.now().getTime());
      if (!next)
        throw conflict(`machine ${serial} is ${machine.status.state} and not in repair: there is nothing to cancel`, 'serial');
      tx.put(repairKey(serial), recordCodec, next);
      tx.add(
        this.audit(actor, {
          category: 'repairs',
          instance: serial,
          action: 'cancel',
          detail:
            record?.status === 'repairing'
              ? `repair cancelled after ${record.attempts} power cycle(s); the queue leaves it alone while it is ${machine.status.state}`
              : `the queue leaves it alone while it is ${machine.status.state}`,
        }),
      );
      return next;
    });
  }

  /**
   * The leader's write of one decided action: its record (and, for an
   * escalation, the machine's state, in the same transaction), with its audit
   * record. Nothing is written, and false returned, when the record is no
   * longer `stored` (someone cancelled) or the machine has moved on.
   */
  async write(action: RepairAction, stored: string | undefined, actor: Actor, leader: Guard): Promise<boolean> {
    const key = repairKey(action.serial);
    const audit = this.audit(actor, { category: 'repairs', instance: action.serial, action: action.kind, detail: action.reason });
    if (action.machine) {
      const unchanged: Guard = { compare: storedIs(key, stored), refusal: () => new RecordMovedError() };
      try {
        const outcome = await this.inventory.machines.setState(action.serial, action.machine.to, actor, {
          expect: action.machine.from,
          reason: action.reason,
          guard: [leader, unchanged],
          also: [recordWrite(key, action.next), audit],
        });
        return outcome === 'changed';
      } catch (error) {
        if (error instanceof RecordMovedError) return false;
        throw error;
      }
    }
    return transact(this.store, async (tx) => {
      if ((await tx.getRaw(key))?.value !== stored) return false;
      tx.require(leader.compare, leader.refusal);
      tx.add(recordWrite(key, action.next), audit);
      return true;
    });
  }

  /** Records how a power cycle the leader sent went: `attempt` is the record written before it. */
  async recordPowerCycle(attempt: RepairRecord, result: string, error: string | undefined, actor: Actor, leader: Guard) {
    const key = repairKey(attempt.serial);
    await transact(this.store, async (tx) => {
      const current = await tx.get(key, recordCodec);
      // Cancelled meanwhile, or a newer attempt: this one's outcome is history.
      if (
        current?.status !== 'repairing' ||
        current.attempts !== attempt.attempts ||
        current.lastAttemptAt !== attempt.lastAttemptAt
      )
        return;
      tx.require(leader.compare, leader.refusal);
      const next = afterPowerCycle(current, error);
      if (next.lastError !== current.lastError) tx.put(key, recordCodec, next);
      tx.add(
        this.audit(actor, {
          category: 'repairs',
          instance: attempt.serial,
          action: error === undefined ? 'power-cycled' : 'power-cycle-failed',
          detail: `power cycle ${attempt.attempts}: ${error ?? result}`,
        }),
      );
    });
  }
}

/** The record has changed since the leader read it (a person cancelled it). */
class RecordMovedError extends Error {
  override name = 'RecordMovedError';
}

function storedIs(key: string, stored: string | undefined): Compare {
  return stored === undefined ? keyMissing(key) : { key, target: 'value', result: '=', value: stored };
}

function recordWrite(key: string, record: RepairRecord | undefined): TxnOp {
  return record ? { type: 'put', key, value: recordCodec.encode(key, record) } : { type: 'delete', key };
}
