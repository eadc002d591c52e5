/**
 * The repair queue's decision, as a pure function of what it observed and the
 * clock (the shape of CKE's repair queue and sabakan auto-repair, reference
 * cke.md): a machine unhealthy or unreachable for longer than `afterMs` is
 * power-cycled through its BMC; if it is not healthy `attemptWaitMs` after a
 * power cycle, it is cycled again, and after `maxAttempts` cycles that did not
 * bring it back it is escalated: set to retiring, with a reason saying it
 * needs a person. A failed BMC call is a failed attempt like any other.
 *
 * At most `maxInRepair` machines are in repair at once, and at most `perRack`
 * of one rack, counted before anything finishes in this round: a repair that
 * ends frees its slot for the next round, so the limits hold even when a
 * write fails. Waiting machines go oldest fault first. With `maxFaulty` set,
 * more faulty machines than that at once start nothing (a partition or a
 * monitoring failure looks like that, not broken machines). While the queue
 * is paused, or no BMC credentials are set, nothing is started, cycled or
 * escalated; repairs still close when their machine turns healthy or someone
 * moves it elsewhere. Boot servers are never repaired by the queue (they run
 * it and the store; a person repairs them), as CKE's auto-repair skips role boot.
 *
 * Every action carries the record it leaves behind, so the loop only writes
 * what is decided here.
 */
import type { MachineState } from '../inventory/model.js';
import { formatDuration } from '../lib/duration.js';
import { count } from '../lib/plural.js';
import { type BmcProtocol, bmcProtocol, type FaultState, isFault, type RepairRecord, type RepairStatus } from './model.js';

/** The role the queue never repairs. */
export const BOOT_ROLE = 'boot';

export interface RepairConfig {
  /** How long a machine must be unhealthy or unreachable before its repair starts. */
  afterMs: number;
  /** Machines in repair at once, in the whole data center (K). */
  maxInRepair: number;
  /** Machines in repair at once in one rack. */
  perRack: number;
  /** Power cycles before a repair is escalated to a person (N). */
  maxAttempts: number;
  /** How long after a power cycle the machine has to turn healthy before the next step. */
  attemptWaitMs: number;
  /** More faulty machines than this at once start no repair; 0: no such limit. */
  maxFaulty: number;
}

export const DEFAULT_REPAIR_CONFIG: RepairConfig = {
  afterMs: 120_000,
  maxInRepair: 2,
  perRack: 1,
  maxAttempts: 3,
  attemptWaitMs: 600_000,
  maxFaulty: 0,
};

export interface MachineView {
  serial: string;
  rack: number;
  role: string;
  state: MachineState;
  /** When its state last changed (ms since the epoch). */
  since: number;
  bmc: { type: string; address: string };
}

export interface Observed {
  machines: readonly MachineView[];
  /** The records in the store, by serial. */
  records: ReadonlyMap<string, RepairRecord>;
  paused: boolean;
  /** Whether BMC credentials are set. */
  credentials: boolean;
}

export type RepairActionKind = 'start' | 'attempt' | 'succeed' | 'escalate' | 'drop' | 'release' | 'forget';

export interface RepairAction {
  kind: RepairActionKind;
  serial: string;
  /** The record this action leaves (undefined: the record is deleted). */
  next: RepairRecord | undefined;
  /** Why, for the audit log. */
  reason: string;
  /** start and attempt: power-cycle the machine through its BMC. */
  powerCycle?: { address: string; protocol: BmcProtocol };
  /** escalate: the machine's state change, made together with the record. */
  machine?: { from: FaultState; to: 'retiring' };
}

/** What the queue shows for one machine: its repair, or why it waits or is left alone. */
export interface QueueEntry {
  serial: string;
  rack: number;
  /** The machine's state (undefined: no longer in the inventory). */
  state: MachineState | undefined;
  /** waiting: faulty, no repair yet; skipped: faulty, but not the queue's to repair. */
  status: RepairStatus | 'waiting' | 'skipped';
  /** Why it waits, what comes next, or how it ended. */
  note: string;
  record: RepairRecord | undefined;
}

export interface RepairDecision {
  actions: RepairAction[];
  /**
   * Repairs in progress (oldest fault first), waiting machines in queue order,
   * machines left alone, repairs that finish now, then the finished ones, newest first.
   */
  queue: QueueEntry[];
}

export function decideRepairs(observed: Observed, config: RepairConfig, now: number): RepairDecision {
  const machines = new Map(observed.machines.map((machine) => [machine.serial, machine]));
  const hold = observed.paused
    ? 'the queue is paused'
    : observed.credentials
      ? undefined
      : 'no BMC credentials are set (yagura bmc credentials set)';
  const actions: RepairAction[] = [];
  const repairing: QueueEntry[] = [];
  const waiting: QueueEntry[] = [];
  const others: QueueEntry[] = [];
  /** Repairs that finish in this round. */
  const closing: QueueEntry[] = [];
  const at = new Date(now).toISOString();

  const active = [...observed.records.values()]
    .filter((record) => record.status === 'repairing')
    .sort((a, b) => Date.parse(a.faultAt) - Date.parse(b.faultAt) || compare(a.serial, b.serial));
  const perRack = new Map<number, number>();
  let inRepair = 0;
  for (const record of active) {
    const machine = machines.get(record.serial);
    if (!machine) continue;
    inRepair++;
    perRack.set(machine.rack, (perRack.get(machine.rack) ?? 0) + 1);
  }

  for (const record of active) {
    const machine = machines.get(record.serial);
    const entry = (note: string): QueueEntry => ({
      serial: record.serial,
      rack: machine?.rack ?? -1,
      state: machine?.state,
      status: 'repairing',
      note,
      record,
    });
    const finish = (kind: RepairActionKind, status: RepairStatus, reason: string, extra: Partial<RepairAction> = {}) => {
      const next: RepairRecord = { ...record, status, finishedAt: at, outcome: reason };
      actions.push({ kind, serial: record.serial, next, reason, ...extra });
      closing.push({ ...entry(reason), status, record: next });
    };
    if (!machine) {
      actions.push({ kind: 'forget', serial: record.serial, next: undefined, reason: 'the machine was removed' });
      continue;
    }
    const cycles = count(record.attempts, 'power cycle');
    if (machine.state === 'healthy') {
      finish(
        'succeed',
        'succeeded',
        `healthy again after ${cycles}, ${formatDuration(now - Date.parse(record.faultAt))} after the fault`,
      );
      continue;
    }
    if (!isFault(machine.state)) {
      finish('drop', 'cancelled', `dropped: the machine was set to ${machine.state}`);
      continue;
    }
    const last = record.lastError ? `; the last one failed: ${record.lastError}` : '';
    const waited = now - Date.parse(record.lastAttemptAt ?? record.startedAt ?? record.faultAt);
    if (hold) {
      repairing.push(entry(`${cycles} of ${config.maxAttempts}${last}; on hold: ${hold}`));
      continue;
    }
    if (waited < config.attemptWaitMs) {
      const next = record.attempts >= config.maxAttempts ? 'escalates to a person' : `power cycle ${record.attempts + 1}`;
      repairing.push(
        entry(
          `${cycles} of ${config.maxAttempts}${last}; ${next} in ${formatDuration(config.attemptWaitMs - waited)} unless healthy`,
        ),
      );
      continue;
    }
    if (record.attempts >= config.maxAttempts) {
      const reason = `needs a person: ${cycles} through its BMC did not make it healthy (${machine.state} since ${record.faultAt}${last})`;
      finish('escalate', 'escalated', reason, { machine: { from: machine.state, to: 'retiring' } });
      continue;
    }
    const protocol = bmcProtocol(machine.bmc.type);
    const attempt = record.attempts + 1;
    actions.push({
      kind: 'attempt',
      serial: record.serial,
      next: { ...record, attempts: attempt, lastAttemptAt: at },
      reason: `power cycle ${attempt} of ${config.maxAttempts}: still ${machine.state} ${formatDuration(waited)} after the last one${last}`,
      ...(protocol ? { powerCycle: { address: machine.bmc.address, protocol } } : {}),
    });
    repairing.push(entry(`power cycle ${attempt} of ${config.maxAttempts} now`));
  }

  for (const record of observed.records.values()) {
    if (record.status === 'repairing') continue;
    const machine = machines.get(record.serial);
    if (!machine) actions.push({ kind: 'forget', serial: record.serial, next: undefined, reason: 'the machine was removed' });
    else if (record.hold && !isFault(machine.state)) {
      actions.push({
        kind: 'release',
        serial: record.serial,
        next: { ...record, hold: false },
        reason: `the machine is ${machine.state}: a new fault may be repaired again`,
      });
    }
  }

  const faulty = observed.machines.filter((machine) => isFault(machine.state) && machine.role !== BOOT_ROLE);
  const storm =
    config.maxFaulty > 0 && faulty.length > config.maxFaulty
      ? `${faulty.length} machines are faulty at once, more than the limit of ${config.maxFaulty}: that looks like a partition, not broken machines`
      : undefined;
  const candidates = observed.machines
    .filter(
      (machine): machine is MachineView & { state: FaultState } =>
        isFault(machine.state) && observed.records.get(machine.serial)?.status !== 'repairing',
    )
    .sort((a, b) => a.since - b.since || compare(a.serial, b.serial));
  for (const machine of candidates) {
    const record = observed.records.get(machine.serial);
    const entry = (status: QueueEntry['status'], note: string): QueueEntry => ({
      serial: machine.serial,
      rack: machine.rack,
      state: machine.state,
      status,
      note,
      record,
    });
    const protocol = bmcProtocol(machine.bmc.type);
    const faultFor = now - machine.since;
    if (machine.role === BOOT_ROLE) others.push(entry('skipped', 'a boot server: repaired by a person, never by the queue'));
    else if (!protocol)
      others.push(entry('skipped', `its BMC type ${machine.bmc.type} speaks neither IPMI nor Redfish: repair it by hand`));
    else if (machine.bmc.address === '') others.push(entry('skipped', 'its BMC has no address'));
    else if (record?.status === 'cancelled' && record.hold)
      others.push(entry('cancelled', `${record.outcome ?? 'cancelled'}: left alone until it is no longer ${machine.state}`));
    else if (faultFor < config.afterMs)
      waiting.push(
        entry(
          'waiting',
          `${machine.state} for ${formatDuration(faultFor)}; repair starts after ${formatDuration(config.afterMs)}`,
        ),
      );
    else if (hold) waiting.push(entry('waiting', `on hold: ${hold}`));
    else if (storm) waiting.push(entry('waiting', `on hold: ${storm}`));
    else if (inRepair >= config.maxInRepair)
      waiting.push(entry('waiting', `${count(inRepair, 'machine')} in repair, the most at once`));
    else if ((perRack.get(machine.rack) ?? 0) >= config.perRack)
      waiting.push(entry('waiting', `rack ${machine.rack} has ${perRack.get(machine.rack)} in repair, the most a rack at once`));
    else {
      inRepair++;
      perRack.set(machine.rack, (perRack.get(machine.rack) ?? 0) + 1);
      const next: RepairRecord = {
        serial: machine.serial,
        status: 'repairing',
        fault: machine.state,
        faultAt: new Date(machine.since).toISOString(),
        startedAt: at,
        attempts: 1,
        lastAttemptAt: at,
      };
      const reason = `power cycle 1 of ${config.maxAttempts}: ${machine.state} for ${formatDuration(faultFor)}`;
      actions.push({
        kind: 'start',
        serial: machine.serial,
        next,
        reason,
        powerCycle: { address: machine.bmc.address, protocol },
      });
      repairing.push(entry('repairing', 'power cycle 1 now'));
    }
  }

  const listed = new Set([...repairing, ...waiting, ...others, ...closing].map((entry) => entry.serial));
  const finished = [...observed.records.values()]
    .filter((record) => !listed.has(record.serial))
    .sort((a, b) => Date.parse(b.finishedAt ?? b.faultAt) - Date.parse(a.finishedAt ?? a.faultAt) || compare(a.serial, b.serial))
    .map((record): QueueEntry => {
      const machine = machines.get(record.serial);
      return {
        serial: record.serial,
        rack: machine?.rack ?? -1,
        state: machine?.state,
        status: record.status,
        note: record.outcome ?? '',
        record,
      };
    });
  return { actions, queue: [...repairing, ...waiting, ...others, ...closing, ...finished] };
}

/** The record a person's cancel leaves: the repair ends, and no new one starts while the machine stays faulty. */
export function cancelledRecord(
  machine: Pick<MachineView, 'serial' | 'state' | 'since'>,
  record: RepairRecord | undefined,
  user: string,
  now: number,
): RepairRecord | undefined {
  const at = new Date(now).toISOString();
  const outcome = `cancelled by ${user || 'an unnamed user'}`;
  if (record?.status === 'repairing') return { ...record, status: 'cancelled', finishedAt: at, outcome, hold: true };
  if (!isFault(machine.state)) return undefined;
  return {
    serial: machine.serial,
    status: 'cancelled',
    fault: machine.state,
    faultAt: new Date(machine.since).toISOString(),
    attempts: 0,
    finishedAt: at,
    outcome,
    hold: true,
  };
}

/** The record after a power cycle went through (error undefined) or failed. */
export function afterPowerCycle(record: RepairRecord, error: string | undefined): RepairRecord {
  const { lastError: _previous, ...rest } = record;
  return error === undefined ? rest : { ...rest, lastError: error };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
