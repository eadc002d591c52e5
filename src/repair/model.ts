/**
 * The repair queue's data: one record per machine at repairs/<serial> (its
 * current repair, or the last one that finished), the queue's pause switch,
 * and which protocol a machine's BMC speaks. Pure: schemas and types only.
 */
import { z } from 'zod';
import { type MachineState, rfc3339, serial } from '../inventory/model.js';

export const REPAIR_STATUSES = ['repairing', 'succeeded', 'escalated', 'cancelled'] as const;
export type RepairStatus = (typeof REPAIR_STATUSES)[number];

/** The states a repair is for; every other state belongs to people or other controllers. */
export const FAULT_STATES = ['unhealthy', 'unreachable'] as const;
export type FaultState = (typeof FAULT_STATES)[number];

export function isFault(state: MachineState): state is FaultState {
  return (FAULT_STATES as readonly string[]).includes(state);
}

export const repairRecord = z.strictObject({
  serial,
  status: z.enum(REPAIR_STATUSES),
  /** The machine's state when the repair started (or was cancelled before it started). */
  fault: z.enum(FAULT_STATES),
  /** When the machine turned unhealthy or unreachable: its state's timestamp then. */
  faultAt: rfc3339,
  /** When the first power cycle was sent; absent for a machine cancelled while it waited. */
  startedAt: rfc3339.optional(),
  /** Power cycles sent (or tried) so far. */
  attempts: z.number().int().nonnegative(),
  lastAttemptAt: rfc3339.optional(),
  /** Why the last power cycle failed; absent when it went through. */
  lastError: z.string().optional(),
  finishedAt: rfc3339.optional(),
  /** How it finished, in words. */
  outcome: z.string().optional(),
  /** Cancelled by a person: no new repair of this machine until it has left unhealthy and unreachable. */
  hold: z.boolean().optional(),
});
export type RepairRecord = z.infer<typeof repairRecord>;

export const queueSwitch = z.strictObject({
  paused: z.boolean(),
  /** Who paused or resumed the queue, and when. */
  by: z.string(),
  at: rfc3339,
});
export type QueueSwitch = z.infer<typeof queueSwitch>;

export type BmcProtocol = 'ipmi' | 'redfish';

/**
 * How to reach a BMC of this type (the machine's spec.bmc.type): IPMI-* over
 * IPMI with ipmitool; Redfish and the vendor BMCs that speak it (iDRAC, iLO,
 * iRMC, XCC) over HTTPS. undefined: a type the queue cannot power-cycle.
 */
export function bmcProtocol(type: string): BmcProtocol | undefined {
  if (/^ipmi/i.test(type)) return 'ipmi';
  if (/^(redfish|idrac|ilo|irmc|xcc)/i.test(type)) return 'redfish';
  return undefined;
}
