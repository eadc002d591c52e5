/**
 * The DC's VM nodes and their virtual BMCs, as the supervisor runs them.
 * (Filled in as the VM runner and the BMC servers land.)
 */
import type { Logger } from 'pino';
import type { BuildPlan } from '../plan.js';
import type { RunPaths } from '../run-dir.js';
import type { Topology } from '../spec.js';

export interface MachineStatus {
  name: string;
  serial: string;
  power: 'on' | 'off';
  pid?: number;
  bmc?: { address: string; redfish: string; ipmi: string };
  console: string;
  consoleLog: string;
}

export type PowerAction = 'on' | 'off' | 'reset' | 'cycle' | 'status' | 'shutdown';

export class Machines {
  constructor(
    private readonly plan: BuildPlan,
    private readonly topology: Topology,
    private readonly paths: RunPaths,
    private readonly logger: Logger,
  ) {}

  async start(progress: (message: string) => void): Promise<void> {
    const vms = this.topology.nodes.filter((node) => node.type === 'vm');
    if (vms.length > 0) throw new Error(`VM nodes are not supported yet (${vms.map((vm) => vm.name).join(', ')})`);
    progress('no VM nodes');
  }

  status(): MachineStatus[] {
    return [];
  }

  power(node: string, action: PowerAction): Promise<unknown> {
    return Promise.reject(new Error(`no VM node "${node}" (action ${action})`));
  }

  async stop(): Promise<void> {}
}
