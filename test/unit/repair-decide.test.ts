/**
 * The repair queue's decision as a table, like CKE's strategy tests: each row
 * a situation (machines with their state, rack and how long they have been in
 * it, the repair records, the pause switch and credentials, the limits) and
 * the actions expected, as "kind serial" (with the attempt for attempts), plus
 * what the queue shows for some machines.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MachineState } from '../../src/inventory/model.js';
import {
  afterPowerCycle,
  cancelledRecord,
  decideRepairs,
  DEFAULT_REPAIR_CONFIG,
  type MachineView,
  type RepairConfig,
} from '../../src/repair/decide-repairs.js';
import { bmcProtocol, type RepairRecord } from '../../src/repair/model.js';

const NOW = Date.parse('2026-12-05T08:00:00Z');
const MIN = 60_000;
const CONFIG: RepairConfig = { ...DEFAULT_REPAIR_CONFIG, afterMs: 2 * MIN, attemptWaitMs: 10 * MIN };
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function machine(
  serial: string,
  state: MachineState,
  forMs: number,
  rack = 0,
  extra: { role?: string; type?: string; address?: string } = {},
): MachineView {
  return {
    serial,
    rack,
    role: extra.role ?? 'cs',
    state,
    since: NOW - forMs,
    bmc: { type: extra.type ?? 'IPMI-2.0', address: extra.address ?? `10.72.17.${rack * 32 + serial.length}` },
  };
}

function repairing(serial: string, attempts: number, lastAgoMs: number, extra: Partial<RepairRecord> = {}): RepairRecord {
  return {
    serial,
    status: 'repairing',
    fault: 'unreachable',
    faultAt: ago(lastAgoMs + 60 * MIN),
    startedAt: ago(lastAgoMs + 30 * MIN),
    attempts,
    lastAttemptAt: ago(lastAgoMs),
    ...extra,
  };
}

function finished(
  serial: string,
  status: RepairRecord['status'],
  agoMs: number,
  extra: Partial<RepairRecord> = {},
): RepairRecord {
  return {
    serial,
    status,
    fault: 'unreachable',
    faultAt: ago(agoMs + 60 * MIN),
    attempts: 1,
    finishedAt: ago(agoMs),
    outcome: 'earlier',
    ...extra,
  };
}

interface Row {
  name: string;
  machines: MachineView[];
  records?: RepairRecord[];
  paused?: boolean;
  credentials?: boolean;
  config?: Partial<RepairConfig>;
  /** "kind serial", and "attempt serial n" for a further power cycle, in the order decided. */
  actions: string[];
  /** The queue's status and a pattern of its note, for some machines. */
  shows?: Record<string, [string, RegExp]>;
}

const ROWS: Row[] = [
  {
    name: 'a healthy machine: nothing',
    machines: [machine('S1', 'healthy', 60 * MIN)],
    actions: [],
  },
  {
    name: 'unreachable for less than the time set: waits, saying how long until the repair starts',
    machines: [machine('S1', 'unreachable', 2 * MIN - 1)],
    actions: [],
    shows: { S1: ['waiting', /^unreachable for 2m; repair starts after 2m$/] },
  },
  {
    name: 'unreachable for the time set: power cycle 1 through IPMI',
    machines: [machine('S1', 'unreachable', 2 * MIN)],
    actions: ['start S1'],
    shows: { S1: ['repairing', /power cycle 1 now/] },
  },
  {
    name: 'unhealthy for the time set: repaired the same way',
    machines: [machine('S1', 'unhealthy', 5 * MIN)],
    actions: ['start S1'],
  },
  {
    name: 'updating, retiring, retired and uninitialized machines are not the queue’s',
    machines: [
      machine('S1', 'updating', 60 * MIN),
      machine('S2', 'retiring', 60 * MIN, 1),
      machine('S3', 'retired', 60 * MIN, 2),
      machine('S4', 'uninitialized', 60 * MIN, 3),
    ],
    actions: [],
  },
  {
    name: 'a whole rack unreachable: one machine at a time, the oldest fault first',
    machines: [
      machine('S1', 'unreachable', 5 * MIN),
      machine('S2', 'unreachable', 7 * MIN),
      machine('S3', 'unreachable', 6 * MIN),
    ],
    actions: ['start S2'],
    shows: {
      S1: ['waiting', /^rack 0 has 1 in repair, the most a rack at once$/],
      S3: ['waiting', /^rack 0 has 1 in repair/],
    },
  },
  {
    name: 'a whole rack unreachable with one in repair already: nothing more starts in that rack',
    machines: [
      machine('S1', 'unreachable', 65 * MIN),
      machine('S2', 'unreachable', 9 * MIN),
      machine('S3', 'unreachable', 8 * MIN),
    ],
    records: [repairing('S1', 1, 2 * MIN)],
    actions: [],
  },
  {
    name: 'five racks with a fault each: at most K (2) in the data center, oldest first',
    machines: [0, 1, 2, 3, 4].map((rack) => machine(`R${rack}`, 'unreachable', (10 - rack) * MIN, rack)),
    actions: ['start R0', 'start R1'],
    shows: { R2: ['waiting', /^2 machines in repair, the most at once$/] },
  },
  {
    name: 'K repairs already in progress: nothing starts, however old the fault',
    machines: [
      machine('A', 'unreachable', 70 * MIN, 0),
      machine('B', 'unreachable', 70 * MIN, 1),
      machine('C', 'unreachable', 600 * MIN, 2),
    ],
    records: [repairing('A', 1, MIN), repairing('B', 2, MIN)],
    actions: [],
    shows: { C: ['waiting', /2 machines in repair/] },
  },
  {
    name: 'one in repair in rack 0: the next fault in rack 0 waits, the one in rack 1 starts',
    machines: [
      machine('A', 'unreachable', 70 * MIN, 0),
      machine('B', 'unreachable', 9 * MIN, 0),
      machine('C', 'unreachable', 3 * MIN, 1),
    ],
    records: [repairing('A', 1, MIN)],
    actions: ['start C'],
  },
  {
    name: 'two a rack allowed: two of the rack start',
    machines: [
      machine('S1', 'unreachable', 5 * MIN),
      machine('S2', 'unreachable', 7 * MIN),
      machine('S3', 'unreachable', 6 * MIN),
    ],
    config: { perRack: 2, maxInRepair: 5 },
    actions: ['start S2', 'start S3'],
  },
  {
    name: 'a slot freed in this round is not reused until the next (the limit holds even if a write fails)',
    machines: [machine('A', 'healthy', MIN, 0), machine('B', 'unreachable', 30 * MIN, 1)],
    records: [repairing('A', 1, 3 * MIN)],
    config: { maxInRepair: 1 },
    actions: ['succeed A'],
    shows: {
      A: ['succeeded', /^healthy again after 1 power cycle, 1h3m after the fault$/],
      B: ['waiting', /1 machine in repair/],
    },
  },
  {
    name: 'still unreachable within the wait after a power cycle: nothing yet, saying when the next comes',
    machines: [machine('S1', 'unreachable', 65 * MIN)],
    records: [repairing('S1', 1, 4 * MIN)],
    actions: [],
    shows: { S1: ['repairing', /^1 power cycle of 3; power cycle 2 in 6m unless healthy$/] },
  },
  {
    name: 'still unreachable when the wait is over: power cycle 2',
    machines: [machine('S1', 'unreachable', 70 * MIN)],
    records: [repairing('S1', 1, 10 * MIN)],
    actions: ['attempt S1 2'],
  },
  {
    name: 'a BMC that did not answer is a failed attempt: the next one comes after the wait all the same',
    machines: [machine('S1', 'unreachable', 70 * MIN)],
    records: [repairing('S1', 2, 10 * MIN, { lastError: 'the BMC at 10.72.17.2 did not answer' })],
    actions: ['attempt S1 3'],
  },
  {
    name: 'the state flipped from unhealthy to unreachable during the repair (it rebooted): the same repair goes on',
    machines: [machine('S1', 'unreachable', MIN)],
    records: [repairing('S1', 1, 4 * MIN, { fault: 'unhealthy' })],
    actions: [],
    shows: { S1: ['repairing', /power cycle 2 in 6m/] },
  },
  {
    name: 'N power cycles that did not bring it back: escalated to retiring, needing a person',
    machines: [machine('S1', 'unreachable', 90 * MIN)],
    records: [repairing('S1', 3, 10 * MIN)],
    actions: ['escalate S1'],
    shows: { S1: ['escalated', /^needs a person: 3 power cycles through its BMC did not make it healthy \(unreachable since /] },
  },
  {
    name: 'N failed BMC calls escalate too, naming the last error',
    machines: [machine('S1', 'unhealthy', 90 * MIN)],
    records: [repairing('S1', 3, 11 * MIN, { lastError: 'ipmitool: Unable to establish IPMI v2 / RMCP+ session' })],
    actions: ['escalate S1'],
    shows: { S1: ['escalated', /the last one failed: ipmitool: Unable to establish IPMI v2/] },
  },
  {
    name: 'the machine turned healthy: the repair succeeded',
    machines: [machine('S1', 'healthy', 10_000)],
    records: [repairing('S1', 2, 5 * MIN)],
    actions: ['succeed S1'],
  },
  {
    name: 'a person set the machine to retiring during the repair: dropped, saying so',
    machines: [machine('S1', 'retiring', 10_000)],
    records: [repairing('S1', 1, 5 * MIN)],
    actions: ['drop S1'],
    shows: { S1: ['cancelled', /^dropped: the machine was set to retiring$/] },
  },
  {
    name: 'a person set the machine to updating during the repair: dropped',
    machines: [machine('S1', 'updating', 10_000)],
    records: [repairing('S1', 1, 5 * MIN)],
    actions: ['drop S1'],
  },
  {
    name: 'the machine was removed: its record is forgotten (history stays bounded)',
    machines: [],
    records: [repairing('S1', 1, 5 * MIN), finished('S2', 'succeeded', 60 * MIN)],
    actions: ['forget S1', 'forget S2'],
  },
  {
    name: 'paused: nothing starts, no further power cycle, no escalation',
    machines: [
      machine('A', 'unreachable', 70 * MIN, 0),
      machine('B', 'unreachable', 90 * MIN, 1),
      machine('C', 'unreachable', 30 * MIN, 2),
    ],
    records: [repairing('A', 1, 10 * MIN), repairing('B', 3, 20 * MIN)],
    paused: true,
    config: { maxInRepair: 3 },
    actions: [],
    shows: { A: ['repairing', /on hold: the queue is paused/], C: ['waiting', /^on hold: the queue is paused$/] },
  },
  {
    name: 'paused: a repair whose machine turned healthy still closes as succeeded, and the record is kept',
    machines: [machine('A', 'healthy', MIN)],
    records: [repairing('A', 1, 10 * MIN)],
    paused: true,
    actions: ['succeed A'],
  },
  {
    name: 'no BMC credentials in the store: nothing starts, and the queue says how to set them',
    machines: [machine('S1', 'unreachable', 30 * MIN)],
    credentials: false,
    actions: [],
    shows: { S1: ['waiting', /no BMC credentials are set \(yagura bmc credentials set\)/] },
  },
  {
    name: 'cancelled by a person while faulty: left alone, no new repair',
    machines: [machine('S1', 'unreachable', 90 * MIN)],
    records: [finished('S1', 'cancelled', 5 * MIN, { hold: true, outcome: 'cancelled by alice' })],
    actions: [],
    shows: { S1: ['cancelled', /^cancelled by alice: left alone until it is no longer unreachable$/] },
  },
  {
    name: 'cancelled, and the machine is healthy again: the hold is released',
    machines: [machine('S1', 'healthy', MIN)],
    records: [finished('S1', 'cancelled', 5 * MIN, { hold: true })],
    actions: ['release S1'],
  },
  {
    name: 'a released cancel and a new fault: repaired again',
    machines: [machine('S1', 'unreachable', 3 * MIN)],
    records: [finished('S1', 'cancelled', 60 * MIN, { hold: false })],
    actions: ['start S1'],
  },
  {
    name: 'succeeded earlier, faulty again: a new repair starts over the old record',
    machines: [machine('S1', 'unhealthy', 3 * MIN)],
    records: [finished('S1', 'succeeded', 60 * MIN)],
    actions: ['start S1'],
  },
  {
    name: 'a boot server is never repaired by the queue',
    machines: [machine('B1', 'unreachable', 60 * MIN, 0, { role: 'boot' })],
    actions: [],
    shows: { B1: ['skipped', /boot server/] },
  },
  {
    name: 'a BMC type that speaks neither IPMI nor Redfish is skipped, and the next machine of the rack goes',
    machines: [machine('S1', 'unreachable', 60 * MIN, 0, { type: 'AMT' }), machine('S2', 'unreachable', 30 * MIN)],
    actions: ['start S2'],
    shows: { S1: ['skipped', /BMC type AMT speaks neither IPMI nor Redfish/] },
  },
  {
    name: 'more faulty machines than the limit at once: nothing starts (a partition)',
    machines: [0, 1, 2, 3].map((rack) => machine(`R${rack}`, 'unreachable', 10 * MIN, rack)),
    config: { maxFaulty: 3 },
    actions: [],
    shows: { R0: ['waiting', /4 machines are faulty at once, more than the limit of 3: that looks like a partition/] },
  },
  {
    name: 'as many faulty machines as the limit: repairs start',
    machines: [0, 1, 2].map((rack) => machine(`R${rack}`, 'unreachable', 10 * MIN, rack)),
    config: { maxFaulty: 3 },
    actions: ['start R0', 'start R1'],
  },
  {
    name: 'the fault limit holds new starts only: a repair in progress goes on',
    machines: [0, 1, 2, 3].map((rack) => machine(`R${rack}`, 'unreachable', 100 * MIN, rack)),
    records: [repairing('R0', 1, 10 * MIN)],
    config: { maxFaulty: 3 },
    actions: ['attempt R0 2'],
  },
];

function run(row: Row) {
  return decideRepairs(
    {
      machines: row.machines,
      records: new Map((row.records ?? []).map((record) => [record.serial, record])),
      paused: row.paused ?? false,
      credentials: row.credentials ?? true,
    },
    { ...CONFIG, ...row.config },
    NOW,
  );
}

describe('decideRepairs', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const decision = run(row);
      assert.deepEqual(
        decision.actions.map((action) =>
          action.kind === 'attempt' ? `attempt ${action.serial} ${action.next!.attempts}` : `${action.kind} ${action.serial}`,
        ),
        row.actions,
      );
      for (const [serial, [status, note]] of Object.entries(row.shows ?? {})) {
        const entry = decision.queue.find((e) => e.serial === serial);
        assert.ok(entry, `${serial} is in the queue`);
        assert.equal(entry.status, status, `${serial}: ${entry.note}`);
        assert.match(entry.note, note);
      }
    });
  }

  it('starts a repair with the record of power cycle 1, from the fault’s time, through the BMC’s protocol', () => {
    const decision = run({
      name: '',
      machines: [
        machine('S1', 'unreachable', 3 * MIN, 0),
        machine('S2', 'unhealthy', 4 * MIN, 1, { type: 'iDRAC-9', address: '10.72.17.40' }),
      ],
      actions: [],
    });
    const [second, first] = decision.actions;
    assert.deepEqual(first, {
      kind: 'start',
      serial: 'S1',
      next: {
        serial: 'S1',
        status: 'repairing',
        fault: 'unreachable',
        faultAt: ago(3 * MIN),
        startedAt: ago(0),
        attempts: 1,
        lastAttemptAt: ago(0),
      },
      reason: 'power cycle 1 of 3: unreachable for 3m',
      powerCycle: { address: '10.72.17.2', protocol: 'ipmi' },
    });
    assert.deepEqual(second!.powerCycle, { address: '10.72.17.40', protocol: 'redfish' });
  });

  it('escalates with the machine’s change to retiring and closes the record', () => {
    const decision = run({
      name: '',
      machines: [machine('S1', 'unhealthy', 90 * MIN)],
      records: [repairing('S1', 3, 10 * MIN)],
      actions: [],
    });
    const [action] = decision.actions;
    assert.deepEqual(action!.machine, { from: 'unhealthy', to: 'retiring' });
    assert.equal(action!.next!.status, 'escalated');
    assert.equal(action!.next!.finishedAt, ago(0));
    assert.equal(action!.next!.outcome, action!.reason);
  });

  it('lists repairs first, then the waiting queue in order, then finished repairs newest first', () => {
    const decision = run({
      name: '',
      machines: [
        machine('A', 'unreachable', 70 * MIN, 0),
        machine('B', 'unreachable', 9 * MIN, 0),
        machine('C', 'unreachable', 10 * MIN, 0),
        machine('D', 'healthy', 60 * MIN, 1),
        machine('E', 'healthy', 60 * MIN, 2),
      ],
      records: [repairing('A', 1, MIN), finished('D', 'succeeded', 30 * MIN), finished('E', 'escalated', 20 * MIN)],
      actions: [],
    });
    assert.deepEqual(
      decision.queue.map((entry) => `${entry.serial} ${entry.status}`),
      ['A repairing', 'C waiting', 'B waiting', 'E escalated', 'D succeeded'],
    );
  });

  it('a person’s cancel ends a repair, or holds a waiting machine, and refuses a machine that is not faulty', () => {
    const record = repairing('S1', 2, MIN);
    assert.deepEqual(cancelledRecord(machine('S1', 'unreachable', 70 * MIN), record, 'alice', NOW), {
      ...record,
      status: 'cancelled',
      finishedAt: ago(0),
      outcome: 'cancelled by alice',
      hold: true,
    });
    assert.deepEqual(cancelledRecord(machine('S2', 'unhealthy', MIN), undefined, '', NOW), {
      serial: 'S2',
      status: 'cancelled',
      fault: 'unhealthy',
      faultAt: ago(MIN),
      attempts: 0,
      finishedAt: ago(0),
      outcome: 'cancelled by an unnamed user',
      hold: true,
    });
    assert.equal(cancelledRecord(machine('S3', 'healthy', MIN), undefined, 'alice', NOW), undefined);
  });

  it('keeps the last power cycle’s error until one goes through', () => {
    const failed = afterPowerCycle(repairing('S1', 1, 0), 'no answer');
    assert.equal(failed.lastError, 'no answer');
    assert.equal('lastError' in afterPowerCycle(failed, undefined), false);
  });

  it('knows which BMC types speak IPMI and which Redfish', () => {
    assert.equal(bmcProtocol('IPMI-2.0'), 'ipmi');
    assert.equal(bmcProtocol('ipmi'), 'ipmi');
    for (const type of ['iDRAC-9', 'Redfish', 'iLO-5', 'iRMC', 'XCC']) assert.equal(bmcProtocol(type), 'redfish', type);
    assert.equal(bmcProtocol('AMT'), undefined);
  });
});
