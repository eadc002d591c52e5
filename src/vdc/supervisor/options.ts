/**
 * What the supervisor is told when it starts: the host tools, the QEMU
 * accelerator if one is forced, and the BMCs' ports. Its entry point
 * (`yagura dc supervise`, src/cli/dc/supervise.ts) reads them from the
 * YAGURA_* variables it inherits from `dc up`.
 */
import type { BmcPorts } from '../../lib/bmc-ports.js';
import type { Accel } from '../host/qemu-args.js';
import type { HostTools } from '../host/tools.js';

/** The variable that tells the supervisor to leave the VMs off at start ("off"); `dc up --vms-off` sets it for it. */
export const VMS_POWER_VARIABLE = 'YAGURA_DC_VMS_POWER';

export interface SupervisorOptions {
  tools: HostTools;
  /** KVM or TCG whatever the host offers (YAGURA_QEMU_ACCEL); otherwise detected. */
  accel?: Accel;
  bmcPorts: BmcPorts;
  /** The words that run this Yagura CLI, for ${YAGURA} in app commands (expandCommand). */
  yagura: readonly string[];
  /** Whether VMs are powered on when the DC starts (YAGURA_DC_VMS_POWER=off: they wait for their BMC). */
  powerOnVms: boolean;
}
