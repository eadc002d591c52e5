/**
 * The state setter's decision, as sabakan-state-setter makes it (reference
 * neco.md §A4), as a pure function of what it observed and the clock: for
 * each machine it may judge (uninitialized, healthy, unhealthy, unreachable),
 *
 *   1. no serf member for its serial, or one that is not alive → unreachable;
 *   2. alive, but its node checks have not reported yet (no `failed-checks`
 *      tag: the node is still booting) → left alone;
 *   3. a failed node check (the tag) or a failed hardware rule → unhealthy;
 *   4. otherwise → healthy.
 *
 * A healthy judgement is written at once (an uninitialized machine turns
 * healthy when it first reports in); an unhealthy or unreachable one only
 * once it has held for the grace period of the machine's type, so a node that
 * reboots or a check that flaps for a moment changes nothing. The pending
 * judgements are part of the input and the output, so the loop keeps them
 * between rounds (and a new leader starts afresh: it waits the grace period
 * again, never less). Only valid transitions are proposed; updating, retiring
 * and retired machines are never touched.
 */
import { TRANSITIONS, type MachineState } from '../inventory/model.js';
import { FAILED_CHECKS_TAG, SERIAL_TAG } from '../lib/serf-tags.js';

export { FAILED_CHECKS_TAG, SERIAL_TAG };
/** The label that gives a machine its type for the grace period; without it, the role is the type. */
export const MACHINE_TYPE_LABEL = 'machine-type';

export type MemberStatus = 'alive' | 'leaving' | 'left' | 'failed' | 'none';

export interface MachineView {
  serial: string;
  state: MachineState;
  role: string;
  labels: Record<string, string>;
}

export interface MemberView {
  name: string;
  status: MemberStatus;
  tags: Record<string, string>;
}

export interface StateSetterConfig {
  /** How long an unhealthy or unreachable judgement must hold before it is written, per machine type. */
  graceMs: Record<string, number>;
  /** For types not in graceMs. */
  defaultGraceMs: number;
}

/** A judgement waiting for its grace period. */
export interface Pending {
  state: MachineState;
  reason: string;
  /** When this judgement was first made (ms since the epoch). */
  since: number;
}

export interface StateChange {
  serial: string;
  from: MachineState;
  to: MachineState;
  reason: string;
}

export interface Observed {
  machines: readonly MachineView[];
  members: readonly MemberView[];
  /** Hardware rules that failed, per serial (the BMC monitor's findings); absent means none. */
  hardware?: ReadonlyMap<string, readonly string[]>;
  /** The judgements still waiting from earlier rounds, by serial. */
  pending: ReadonlyMap<string, Pending>;
}

export interface Decision {
  changes: StateChange[];
  pending: Map<string, Pending>;
}

/** The states the state setter judges; the others belong to people and other controllers. */
export const JUDGED: readonly MachineState[] = ['uninitialized', 'healthy', 'unhealthy', 'unreachable'];

export function decideStates(observed: Observed, config: StateSetterConfig, now: number): Decision {
  const bySerial = new Map<string, MemberView>();
  for (const member of observed.members) {
    const serial = member.tags[SERIAL_TAG];
    if (serial === undefined) continue;
    // A node that rejoined under a new name leaves its old member behind: the alive one counts.
    const known = bySerial.get(serial);
    if (!known || (known.status !== 'alive' && member.status === 'alive')) bySerial.set(serial, member);
  }
  const changes: StateChange[] = [];
  const pending = new Map<string, Pending>();
  for (const machine of observed.machines) {
    if (!JUDGED.includes(machine.state)) continue;
    const verdict = judge(bySerial.get(machine.serial), observed.hardware?.get(machine.serial) ?? []);
    if (verdict === undefined || verdict.state === machine.state) continue;
    if (!TRANSITIONS[machine.state].includes(verdict.state)) continue;
    if (verdict.state === 'healthy') {
      changes.push({ serial: machine.serial, from: machine.state, to: 'healthy', reason: verdict.reason });
      continue;
    }
    const earlier = observed.pending.get(machine.serial);
    const since = earlier && earlier.state === verdict.state ? earlier.since : now;
    const grace = graceOf(machine, config);
    if (now - since >= grace)
      changes.push({
        serial: machine.serial,
        from: machine.state,
        to: verdict.state,
        reason: `${verdict.reason} (for ${formatSeconds(now - since)}, grace ${formatSeconds(grace)})`,
      });
    else pending.set(machine.serial, { state: verdict.state, reason: verdict.reason, since });
  }
  return { changes, pending };
}

/** What the observations say about one machine, or undefined when they say nothing yet (booting). */
export function judge(
  member: MemberView | undefined,
  hardware: readonly string[],
): { state: MachineState; reason: string } | undefined {
  if (!member) return { state: 'unreachable', reason: 'no serf member with its serial' };
  if (member.status !== 'alive') return { state: 'unreachable', reason: `serf member ${member.name} is ${member.status}` };
  const tag = member.tags[FAILED_CHECKS_TAG];
  if (tag === undefined) return undefined;
  const failed = tag
    .split(',')
    .map((check) => check.trim())
    .filter((check) => check !== '');
  const problems = [...failed.map((check) => `check ${check} failed`), ...hardware.map((rule) => `hardware: ${rule}`)];
  if (problems.length > 0) return { state: 'unhealthy', reason: problems.join('; ') };
  return { state: 'healthy', reason: 'serf member alive, every check passes' };
}

export function machineType(machine: Pick<MachineView, 'role' | 'labels'>): string {
  return machine.labels[MACHINE_TYPE_LABEL] ?? machine.role;
}

function graceOf(machine: MachineView, config: StateSetterConfig): number {
  return config.graceMs[machineType(machine)] ?? config.defaultGraceMs;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
