/**
 * `dc fault` on the supervisor's side: break or mend one part of a VM's
 * hardware, or list the parts, as the answer to a control request. Pure: the
 * supervisor passes its VMs' hardware in; the BMCs read the same objects, so
 * a change shows in Redfish at once.
 */
import type { MachineHardware, PartHealth, PartKind } from '../bmc/hardware.js';

export type HardwareRequest = { op: 'fault'; node: string; part: string; mend?: boolean } | { op: 'hardware'; node: string };

export interface PartReport {
  name: string;
  kind: PartKind;
  redfishId: string;
  health: PartHealth;
}

export interface HardwareAnswer {
  node: string;
  parts: PartReport[];
  /** What a fault request changed (from and to are equal when the part already was so). */
  changed?: { part: string; from: PartHealth; to: PartHealth };
}

export interface VmHardware {
  hardware: MachineHardware;
  /** Whether the VM has a BMC to report its parts (its topology has a bmc network). */
  hasBmc: boolean;
}

export function answerHardwareRequest(vms: ReadonlyMap<string, VmHardware>, request: HardwareRequest): HardwareAnswer {
  const vm = vms.get(request.node);
  if (vm === undefined) throw new Error(`no VM node "${request.node}" (VMs: ${[...vms.keys()].join(', ') || 'none'})`);
  if (!vm.hasBmc)
    throw new Error(`${request.node} has no BMC (the topology has no bmc network), so nothing would see its parts fail`);
  let changed: HardwareAnswer['changed'];
  if (request.op === 'fault') {
    const to: PartHealth = request.mend ? 'OK' : 'Critical';
    const { was } = vm.hardware.setHealth(request.part, to);
    changed = { part: request.part, from: was, to };
  }
  const parts = vm.hardware.parts().map(({ name, kind, redfishId, health }) => ({ name, kind, redfishId, health }));
  return { node: request.node, parts, ...(changed ? { changed } : {}) };
}
