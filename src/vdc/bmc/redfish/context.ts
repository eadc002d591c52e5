/** What the Redfish routes of one virtual BMC act on. */
import type { Logger } from 'pino';
import type { BmcAccounts } from '../accounts.js';
import type { MachineHardware } from '../hardware.js';
import type { ManagedMachine } from '../machine.js';
import type { MachineView } from './resources.js';
import type { SessionTable } from './sessions.js';

export interface ServiceContext {
  machine: ManagedMachine;
  hardware: MachineHardware;
  /** Shared with the BMC's IPMI side. */
  accounts: BmcAccounts;
  sessions: SessionTable;
  firmwareVersion: string;
  log?: Logger;
}

/** The machine as the resources report it, now. */
export function machineView(context: ServiceContext): MachineView {
  const { machine, hardware } = context;
  return {
    name: machine.name,
    serial: machine.serial,
    power: machine.power(),
    bootOverride: machine.bootOverride(),
    parts: hardware.parts(),
    memoryMiB: hardware.memoryMiB,
  };
}
