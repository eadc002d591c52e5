/**
 * Get / Set System Boot Options (IPMI v2.0 section 28.12–28.13, table 28-14)
 * as far as a machine with a next-boot override has them:
 *
 *   0  set in progress          kept, so ipmitool's set-in-progress / commit / complete dance works
 *   3  boot flag valid clearing kept and echoed (the VM runner clears "once" overrides itself)
 *   4  boot info acknowledge    kept and echoed
 *   5  boot flags               the machine's override: valid bit, persistent/once, device PXE or disk
 *
 * The override lives in the machine (Redfish changes it too); only the bytes
 * the machine has no notion of — the EFI bit, parameters 0, 3 and 4 — live
 * here, per BMC.
 */
import type { BootOverride, ManagedMachine } from '../machine.js';
import { Completion } from './protocol.js';

export const BootParameter = {
  SET_IN_PROGRESS: 0,
  VALID_BIT_CLEARING: 3,
  BOOT_INFO_ACKNOWLEDGE: 4,
  BOOT_FLAGS: 5,
} as const;

const PARAMETER_VERSION = 0x01;
const VALID = 0x80;
const PERSISTENT = 0x40;
const EFI = 0x20;
/** Boot device selector, bits 5:2 of boot flags data 2. */
const DEVICE_SHIFT = 2;
const DEVICE_NONE = 0x0;
const DEVICE_PXE = 0x1;
const DEVICE_DISK = 0x2;

export interface BootOptionsAnswer {
  completion: number;
  data?: Buffer;
}

export class BootOptions {
  private setInProgress = 0;
  private validBitClearing = 0;
  private bootInfoAcknowledge = 0;
  private efi = false;

  constructor(private readonly machine: ManagedMachine) {}

  /** The response data of Get System Boot Options for `parameter` (bit 7, the lock bit, ignored). */
  get(parameter: number): BootOptionsAnswer {
    const number = parameter & 0x7f;
    const data = this.parameterData(number);
    if (!data) return { completion: Completion.COMMAND_SPECIFIC_80 };
    return { completion: Completion.OK, data: Buffer.concat([Buffer.of(PARAMETER_VERSION, number), data]) };
  }

  set(parameter: number, data: Buffer): BootOptionsAnswer {
    const number = parameter & 0x7f;
    switch (number) {
      case BootParameter.SET_IN_PROGRESS: {
        if (data.length < 1) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
        const state = data[0]! & 0x03;
        if (state === 3) return { completion: Completion.INVALID_DATA_FIELD };
        // "Set in progress" while already in progress: another writer holds it.
        if (state === 1 && this.setInProgress === 1) return { completion: Completion.COMMAND_SPECIFIC_81 };
        // Writes take effect at once, so "commit write" has nothing left to do and leaves the state as it is.
        if (state !== 2) this.setInProgress = state;
        return { completion: Completion.OK };
      }
      case BootParameter.VALID_BIT_CLEARING:
        if (data.length < 1) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
        this.validBitClearing = data[0]! & 0x1f;
        return { completion: Completion.OK };
      case BootParameter.BOOT_INFO_ACKNOWLEDGE: {
        if (data.length < 2) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
        const mask = data[0]!;
        this.bootInfoAcknowledge = ((this.bootInfoAcknowledge & ~mask) | (data[1]! & mask)) & 0x1f;
        return { completion: Completion.OK };
      }
      case BootParameter.BOOT_FLAGS: {
        if (data.length < 5) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
        const flags = readBootFlags(data);
        if (flags === 'unsupported-device') return { completion: Completion.INVALID_DATA_FIELD };
        this.machine.setBootOverride(flags.override);
        this.efi = flags.efi;
        return { completion: Completion.OK };
      }
      default:
        return { completion: Completion.COMMAND_SPECIFIC_80 };
    }
  }

  private parameterData(number: number): Buffer | undefined {
    switch (number) {
      case BootParameter.SET_IN_PROGRESS:
        return Buffer.of(this.setInProgress);
      case BootParameter.VALID_BIT_CLEARING:
        return Buffer.of(this.validBitClearing);
      case BootParameter.BOOT_INFO_ACKNOWLEDGE:
        return Buffer.of(0x00, this.bootInfoAcknowledge);
      case BootParameter.BOOT_FLAGS:
        return bootFlagsData(this.machine.bootOverride(), this.efi);
      default:
        return undefined;
    }
  }
}

/** Boot flags (parameter 5, 5 bytes) for an override: no override is "invalid", device 0. */
export function bootFlagsData(override: BootOverride | undefined, efi: boolean): Buffer {
  const data = Buffer.alloc(5);
  if (!override) return data;
  data[0] = VALID | (override.once ? 0 : PERSISTENT) | (efi ? EFI : 0);
  data[1] = (override.device === 'pxe' ? DEVICE_PXE : DEVICE_DISK) << DEVICE_SHIFT;
  return data;
}

/**
 * What a Set of boot flags asks for: clearing the valid bit, or the "no
 * override" device, clears the override; PXE and disk set it; CD, BIOS setup
 * and the rest do not exist on these machines.
 */
export function readBootFlags(data: Buffer): { override: BootOverride | undefined; efi: boolean } | 'unsupported-device' {
  const efi = (data[0]! & EFI) !== 0;
  if ((data[0]! & VALID) === 0) return { override: undefined, efi };
  const device = (data[1]! >> DEVICE_SHIFT) & 0x0f;
  const once = (data[0]! & PERSISTENT) === 0;
  switch (device) {
    case DEVICE_NONE:
      return { override: undefined, efi };
    case DEVICE_PXE:
      return { override: { device: 'pxe', once }, efi };
    case DEVICE_DISK:
      return { override: { device: 'disk', once }, efi };
    default:
      return 'unsupported-device';
  }
}
