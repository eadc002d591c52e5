/**
 * The YAGURA_* variables of `yagura dc`, read in one place (besides
 * --run-root/--data-root, which commander takes from YAGURA_DC_RUN_ROOT and
 * YAGURA_DC_DATA_ROOT). Each verb reads them when it runs and passes them down;
 * the supervisor, started by `dc up` with the same environment, reads them at
 * its own entry point (`dc supervise`). docs/environment.md lists them.
 */
import type { Accel } from '../../vdc/host/qemu-args.js';
import { DEFAULT_IP, DEFAULT_NFT, DEFAULT_PYTHON, DEFAULT_TC, type HostTools } from '../../vdc/host/tools.js';
import { type BmcPorts, bmcPortsFrom } from '../../lib/bmc-ports.js';
import { VMS_POWER_VARIABLE } from '../../vdc/supervisor/options.js';

export interface DcEnvironment {
  /** YAGURA_IP, YAGURA_TC, YAGURA_NFT, YAGURA_PYTHON: the host programs. */
  tools: HostTools;
  /** YAGURA_DC_UPLINK_NETNS: a namespace that stands in for the host's as the uplink of NATed external networks. */
  uplinkNamespace?: string;
  /** YAGURA_QEMU_ACCEL (kvm or tcg; anything else is ignored): overrides detecting KVM. */
  accel?: Accel;
  /** YAGURA_BMC_IPMI_PORT, YAGURA_BMC_REDFISH_PORT: the ports the virtual BMCs listen on. */
  bmcPorts: BmcPorts;
  /** YAGURA_DC_VMS_POWER (on or off, default on): whether the supervisor powers the VMs on when the DC starts. */
  powerOnVms: boolean;
}

export function readDcEnvironment(env: NodeJS.ProcessEnv = process.env): DcEnvironment {
  const accel = env.YAGURA_QEMU_ACCEL;
  return {
    tools: {
      ip: env.YAGURA_IP ?? DEFAULT_IP,
      tc: env.YAGURA_TC ?? DEFAULT_TC,
      nft: env.YAGURA_NFT ?? DEFAULT_NFT,
      python: env.YAGURA_PYTHON ?? DEFAULT_PYTHON,
    },
    ...(env.YAGURA_DC_UPLINK_NETNS ? { uplinkNamespace: env.YAGURA_DC_UPLINK_NETNS } : {}),
    ...(accel === 'kvm' || accel === 'tcg' ? { accel } : {}),
    bmcPorts: bmcPortsFrom(env),
    powerOnVms: env[VMS_POWER_VARIABLE] !== 'off',
  };
}
