/**
 * What a virtual BMC controls: one machine's power and next boot device. The
 * IPMI and Redfish front ends translate their protocol's requests into these
 * calls; the VM runner (host/vm.ts) implements them with QEMU.
 */
export type PowerState = 'on' | 'off';

/** Where the machine boots from next: the network (PXE / HTTP boot) or its first disk. */
export type BootDevice = 'pxe' | 'disk';

export interface BootOverride {
  device: BootDevice;
  /** true: only the next boot; false: every boot until cleared. */
  once: boolean;
}

export interface ManagedMachine {
  /** The SMBIOS serial; Redfish reports it as SerialNumber. */
  readonly serial: string;
  /** The node name in the topology, reported as the system's HostName. */
  readonly name: string;
  power(): PowerState;
  /** Starts the machine; a no-op when it is on. */
  powerOn(): Promise<void>;
  /** Cuts power at once (the guest gets no say); a no-op when it is off. */
  powerOff(): Promise<void>;
  /** Asks the guest to shut down (ACPI power button); returns without waiting. */
  shutdown(): Promise<void>;
  /** Hard reset of a running machine; on a machine that is off, powers it on. */
  reset(): Promise<void>;
  /** Power off, then on. */
  cycle(): Promise<void>;
  bootOverride(): BootOverride | undefined;
  /** undefined clears the override. */
  setBootOverride(override: BootOverride | undefined): void;
}
