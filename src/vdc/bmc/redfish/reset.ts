/**
 * ComputerSystem.Reset and Chassis.Reset: which ResetTypes exist, what each
 * does to the machine, and when a request makes no sense for the machine's
 * power state. The mapping follows iDRAC, with GracefulShutdown a real ACPI
 * shutdown (placemat cuts power instead) and PowerCycle supported.
 */
import type { PowerState } from '../machine.js';
import { type JsonObject } from './body.js';
import {
  actionParameterMissing,
  actionParameterUnknown,
  powerStateConflict,
  propertyValueNotInList,
  propertyValueTypeError,
} from './errors.js';
import { type ResetType } from './resources.js';

/** The ManagedMachine call that carries out a reset. */
export type PowerOperation = 'powerOn' | 'powerOff' | 'shutdown' | 'reset' | 'cycle';

const OPERATION: Record<ResetType, PowerOperation> = {
  On: 'powerOn',
  ForceOff: 'powerOff',
  GracefulShutdown: 'shutdown',
  ForceRestart: 'reset',
  PowerCycle: 'cycle',
};

/** Reads the ResetType of a reset action's body, accepting only `allowed` (the resource's AllowableValues). */
export function parseResetType<T extends ResetType>(body: JsonObject, action: string, allowed: readonly T[]): T {
  for (const key of Object.keys(body)) {
    if (key !== 'ResetType') throw actionParameterUnknown(action, key);
  }
  const value = body.ResetType;
  if (value === undefined) throw actionParameterMissing(action, 'ResetType');
  if (typeof value !== 'string') throw propertyValueTypeError('ResetType', value, 'a string');
  if (!(allowed as readonly string[]).includes(value)) throw propertyValueNotInList('ResetType', value, allowed);
  return value as T;
}

/**
 * What to do for `resetType` on a machine whose power is `power`. Turning on a
 * machine that is on, or off one that is off, is refused with 409 so that a
 * caller learns its picture of the machine was wrong.
 */
export function powerOperationFor(resetType: ResetType, power: PowerState, resourceId: string): PowerOperation {
  const on = power === 'on';
  if (resetType === 'On' && on) throw powerStateConflict(resourceId, resetType, 'On');
  if ((resetType === 'ForceOff' || resetType === 'GracefulShutdown') && !on) {
    throw powerStateConflict(resourceId, resetType, 'Off');
  }
  return OPERATION[resetType];
}
