/**
 * PATCH of a ComputerSystem's Boot properties: the only writable part of the
 * system. Redfish clients often send just one of the two properties, so the
 * missing one is taken from the current override, and naming a device without
 * saying for how long means "next boot only", as on iDRAC.
 */
import type { BootDevice, BootOverride } from '../machine.js';
import { isObject, type JsonObject } from './body.js';
import { emptyJson, propertyUnknown, propertyValueNotInList, propertyValueTypeError } from './errors.js';
import { BOOT_ENABLED, BOOT_TARGETS, type BootEnabled, type BootTarget } from './resources.js';

export interface BootPatch {
  target?: BootTarget;
  enabled?: BootEnabled;
}

const WRITABLE = ['Boot'];
const BOOT_WRITABLE = ['BootSourceOverrideTarget', 'BootSourceOverrideEnabled'];

/** Validates a PATCH body for the ComputerSystem; every property must be known and writable. */
export function parseSystemPatch(body: JsonObject): BootPatch {
  if (Object.keys(body).length === 0) throw emptyJson('PATCH needs Boot, the only writable property');
  for (const key of Object.keys(body)) {
    if (!WRITABLE.includes(key)) throw propertyUnknown(key, WRITABLE);
  }
  const boot = body.Boot;
  if (!isObject(boot)) throw propertyValueTypeError('Boot', boot, 'an object');
  if (Object.keys(boot).length === 0) throw emptyJson('Boot needs BootSourceOverrideTarget or BootSourceOverrideEnabled');
  for (const key of Object.keys(boot)) {
    if (!BOOT_WRITABLE.includes(key))
      throw propertyUnknown(
        `Boot.${key}`,
        BOOT_WRITABLE.map((k) => `Boot.${k}`),
      );
  }
  return {
    ...optional('target', enumValue(boot, 'BootSourceOverrideTarget', BOOT_TARGETS)),
    ...optional('enabled', enumValue(boot, 'BootSourceOverrideEnabled', BOOT_ENABLED)),
  };
}

/** The override after applying `patch` to `current`; undefined means none (boot from the usual order). */
export function nextBootOverride(current: BootOverride | undefined, patch: BootPatch): BootOverride | undefined {
  const target = patch.target ?? (current === undefined ? 'None' : current.device === 'pxe' ? 'Pxe' : 'Hdd');
  const enabled = patch.enabled ?? (current !== undefined ? (current.once ? 'Once' : 'Continuous') : 'Once');
  if (target === 'None' || enabled === 'Disabled') return undefined;
  const device: BootDevice = target === 'Pxe' ? 'pxe' : 'disk';
  return { device, once: enabled === 'Once' };
}

function enumValue<T extends string>(boot: JsonObject, key: string, allowed: readonly T[]): T | undefined {
  const value = boot[key];
  const property = `Boot.${key}`;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw propertyValueTypeError(property, value, 'a string');
  if (!(allowed as readonly string[]).includes(value)) throw propertyValueNotInList(property, value, allowed);
  return value as T;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
