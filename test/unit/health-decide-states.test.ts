/**
 * The state setter's decision as a table, like CKE's strategy tests: each row
 * a situation (a machine's state, its serf member, its checks and hardware,
 * what was pending, the clock) and the change or pending judgement expected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideStates,
  type MachineView,
  type MemberView,
  type Pending,
  type StateSetterConfig,
} from '../../src/health/decide-states.js';
import type { MachineState } from '../../src/inventory/model.js';

const NOW = Date.parse('2026-12-05T08:00:00Z');
const CONFIG: StateSetterConfig = { graceMs: { qemu: 5000, 'r7525-ss': 7_200_000 }, defaultGraceMs: 60_000 };

const machine = (state: MachineState, labels: Record<string, string> = { 'machine-type': 'qemu' }, role = 'cs'): MachineView => ({
  serial: 'S1',
  state,
  role,
  labels,
});
const member = (status: MemberView['status'], checks?: string, serial = 'S1', name = 'rack0-cs1'): MemberView => ({
  name,
  status,
  tags: { serial, ...(checks === undefined ? {} : { 'failed-checks': checks }) },
});
const pendingFor = (state: MachineState, agoMs: number, reason = 'earlier'): Map<string, Pending> =>
  new Map([['S1', { state, reason, since: NOW - agoMs }]]);

interface Row {
  name: string;
  machine: MachineView;
  members: MemberView[];
  hardware?: string[];
  pending?: Map<string, Pending>;
  /** The change expected: "from>to reason", or undefined for none. */
  change?: string;
  /** The judgement left pending: "state since-ago-ms", or undefined for none. */
  waiting?: string;
}

const ROWS: Row[] = [
  {
    name: 'uninitialized turns healthy when it first reports in, at once',
    machine: machine('uninitialized'),
    members: [member('alive', '')],
    change: 'uninitialized>healthy serf member alive, every check passes',
  },
  {
    name: 'an alive member whose checks have not reported is booting: left alone',
    machine: machine('uninitialized'),
    members: [member('alive')],
  },
  {
    name: 'uninitialized cannot become unreachable (not a valid transition): nothing',
    machine: machine('uninitialized'),
    members: [],
  },
  {
    name: 'healthy without a member: unreachable is judged and waits its grace',
    machine: machine('healthy'),
    members: [],
    waiting: 'unreachable 0',
  },
  {
    name: 'still within the grace period: keeps waiting from when it was first judged',
    machine: machine('healthy'),
    members: [],
    pending: pendingFor('unreachable', 4999),
    waiting: 'unreachable 4999',
  },
  {
    name: 'the grace period has passed: written, with how long it held',
    machine: machine('healthy'),
    members: [],
    pending: pendingFor('unreachable', 5000),
    change: 'healthy>unreachable no serf member with its serial (for 5 s, grace 5 s)',
  },
  {
    name: 'a failed member is unreachable',
    machine: machine('healthy'),
    members: [member('failed', '')],
    pending: pendingFor('unreachable', 6000),
    change: 'healthy>unreachable serf member rack0-cs1 is failed (for 6 s, grace 5 s)',
  },
  {
    name: 'a member that left is unreachable',
    machine: machine('unhealthy'),
    members: [member('left', '')],
    pending: pendingFor('unreachable', 5000),
    change: 'unhealthy>unreachable serf member rack0-cs1 is left (for 5 s, grace 5 s)',
  },
  {
    name: 'failed node checks: unhealthy, naming each',
    machine: machine('healthy'),
    members: [member('alive', 'bgp,disk')],
    pending: pendingFor('unhealthy', 5000),
    change: 'healthy>unhealthy check bgp failed; check disk failed (for 5 s, grace 5 s)',
  },
  {
    name: 'a failed hardware rule: unhealthy',
    machine: machine('healthy'),
    members: [member('alive', '')],
    hardware: ['2 of 2 drives healthy, at least 3 needed'],
    pending: pendingFor('unhealthy', 5000),
    change: 'healthy>unhealthy hardware: 2 of 2 drives healthy, at least 3 needed (for 5 s, grace 5 s)',
  },
  {
    name: 'a different judgement starts its grace period again',
    machine: machine('healthy'),
    members: [],
    pending: pendingFor('unhealthy', 60_000),
    waiting: 'unreachable 0',
  },
  {
    name: 'recovery is written at once and clears what was pending',
    machine: machine('unhealthy'),
    members: [member('alive', '')],
    pending: pendingFor('unreachable', 1000),
    change: 'unhealthy>healthy serf member alive, every check passes',
  },
  {
    name: 'an unreachable machine that answers again is healthy',
    machine: machine('unreachable'),
    members: [member('alive', ' ')],
    change: 'unreachable>healthy serf member alive, every check passes',
  },
  {
    name: 'a judgement equal to the state changes nothing and keeps nothing',
    machine: machine('unreachable'),
    members: [],
    pending: pendingFor('unreachable', 9000),
  },
  { name: 'updating is never touched', machine: machine('updating'), members: [] },
  { name: 'retiring is never touched', machine: machine('retiring'), members: [member('alive', 'bgp')] },
  { name: 'retired is never touched', machine: machine('retired'), members: [member('alive', '')] },
  {
    name: 'the grace period is the machine type’s (label machine-type)',
    machine: machine('healthy', { 'machine-type': 'r7525-ss' }),
    members: [],
    pending: pendingFor('unreachable', 3_600_000),
    waiting: 'unreachable 3600000',
  },
  {
    name: 'without the label, the role is the type',
    machine: machine('healthy', {}, 'qemu'),
    members: [],
    pending: pendingFor('unreachable', 5000),
    change: 'healthy>unreachable no serf member with its serial (for 5 s, grace 5 s)',
  },
  {
    name: 'an unknown type has the default grace',
    machine: machine('healthy', {}, 'cs'),
    members: [],
    pending: pendingFor('unreachable', 59_999),
    waiting: 'unreachable 59999',
  },
  {
    name: 'a node that rejoined under a new name: its alive member counts, not the failed old one',
    machine: machine('healthy'),
    members: [member('failed', '', 'S1', 'old-name'), member('alive', '', 'S1', 'rack0-cs1')],
  },
  {
    name: 'members are matched by their serial tag, not by name',
    machine: machine('healthy'),
    members: [member('alive', '', 'OTHER', 'S1')],
    waiting: 'unreachable 0',
  },
];

describe('the state setter’s decision', () => {
  for (const row of ROWS)
    it(row.name, () => {
      const decision = decideStates(
        {
          machines: [row.machine],
          members: row.members,
          ...(row.hardware ? { hardware: new Map([['S1', row.hardware]]) } : {}),
          pending: row.pending ?? new Map(),
        },
        CONFIG,
        NOW,
      );
      assert.deepEqual(
        decision.changes.map((change) => `${change.from}>${change.to} ${change.reason}`),
        row.change === undefined ? [] : [row.change],
      );
      assert.deepEqual(
        [...decision.pending].map(([, p]) => `${p.state} ${NOW - p.since}`),
        row.waiting === undefined ? [] : [row.waiting],
      );
    });

  it('decides every machine on its own, and drops what was pending for machines that are gone', () => {
    const machines: MachineView[] = [
      { serial: 'A', state: 'healthy', role: 'qemu', labels: {} },
      { serial: 'B', state: 'uninitialized', role: 'qemu', labels: {} },
      { serial: 'C', state: 'healthy', role: 'qemu', labels: {} },
    ];
    const decision = decideStates(
      {
        machines,
        members: [member('alive', '', 'B', 'b'), member('alive', 'units', 'C', 'c')],
        pending: new Map([
          ['A', { state: 'unreachable', reason: 'x', since: NOW - 10_000 }],
          ['GONE', { state: 'unreachable', reason: 'x', since: NOW - 10_000 }],
        ]),
      },
      CONFIG,
      NOW,
    );
    assert.deepEqual(
      decision.changes.map((change) => `${change.serial} ${change.to}`),
      ['A unreachable', 'B healthy'],
    );
    assert.deepEqual([...decision.pending.keys()], ['C']);
  });

  it('is the same decision for the same input (pure)', () => {
    const input = { machines: [machine('healthy')], members: [member('alive', 'bgp')], pending: pendingFor('unhealthy', 1000) };
    assert.deepEqual(decideStates(input, CONFIG, NOW), decideStates(input, CONFIG, NOW));
  });
});
