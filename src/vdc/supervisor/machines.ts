/**
 * The DC's VM nodes and their virtual BMCs, as the supervisor runs them. Each
 * VM (host/vm.ts) gets, when the topology has a bmc network, a BMC that
 * listens on its address on that network's bridge — IPMI (UDP 623) and
 * Redfish (HTTPS 443) — with the node's credentials. A BMC address comes from
 * the topology, or (as in placemat) from the guest's first line on the
 * `placemat` virtio-serial port. `dc power` goes through the BMC's Redfish.
 * Each VM also has a hardware model (drives, PSUs, fans, DIMMs) that its BMC
 * reports and `dc fault` breaks or mends, and one account table that its
 * BMC's IPMI and Redfish share: what an operator changes through Redfish's
 * AccountService holds for both, and `dc power` uses whichever enabled
 * Administrator the table has now.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { BmcAccounts } from '../bmc/accounts.js';
import { ensureCertificate } from '../bmc/certificate.js';
import { MachineHardware } from '../bmc/hardware.js';
import { startIpmiServer } from '../bmc/ipmi/server.js';
import {
  redfishPowerState,
  redfishReset,
  type PowerAction as RedfishAction,
  type RedfishTarget,
} from '../../lib/redfish-client.js';
import { startRedfishServer } from '../bmc/redfish/server.js';
import { detectAccel } from '../host/accel.js';
import { ImageCache } from '../host/images.js';
import { markedEnvironment } from '../host/processes.js';
import { VirtualMachine } from '../host/vm.js';
import { bmcAddress, type BmcAddress, type BuildPlan } from '../plan.js';
import type { RunPaths } from '../run-dir.js';
import type { Topology, VmNode } from '../spec/index.js';
import { answerHardwareRequest, type HardwareAnswer, type HardwareRequest } from './hardware-faults.js';
import type { SupervisorOptions } from './options.js';

const execFileAsync = promisify(execFile);

export interface MachineStatus {
  name: string;
  serial: string;
  power: 'on' | 'off';
  pid?: number;
  bmc?: { address: string; redfish: string; ipmi: string; certificate: string };
  /** Waiting for the guest to announce its BMC address. */
  bmcPending?: boolean;
  console: string;
  consoleLog: string;
}

export type PowerAction = 'on' | 'off' | 'reset' | 'cycle' | 'status' | 'shutdown';

interface RunningBmc {
  address: BmcAddress;
  certificate: string;
  ca: Buffer;
  close: () => Promise<void>;
}

interface Vm {
  node: VmNode;
  machine: VirtualMachine;
  hardware: MachineHardware;
  /** The BMC's accounts (when the VM has a BMC); they outlive a BMC restart. */
  accounts?: BmcAccounts;
  bmc?: RunningBmc;
}

export class Machines {
  private readonly vms = new Map<string, Vm>();

  private plan?: BuildPlan;
  private topology?: Topology;

  constructor(
    private readonly paths: RunPaths,
    private readonly dataDir: string,
    private readonly logger: Logger,
    private readonly options: SupervisorOptions,
  ) {}

  /**
   * Starts the VMs of the topology that are not running yet — all of them when
   * the DC starts, the new ones when it grows (`dc apply`): their BMCs whose
   * address is known, then power on (in parallel). The ones running are left alone.
   */
  async add(plan: BuildPlan, topology: Topology, progress: (message: string) => void): Promise<string[]> {
    this.plan = plan;
    this.topology = topology;
    const nodes = topology.nodes.filter((node): node is VmNode => node.type === 'vm' && !this.vms.has(node.name));
    if (nodes.length === 0) return [];
    const accel = detectAccel(this.options.accel);
    const images = new ImageCache({
      cacheDir: join(this.dataDir, 'cache'),
      images: topology.images,
      onProgress: ({ image, receivedBytes, totalBytes }) =>
        progress(
          `image ${image}: ${(receivedBytes / 2 ** 20).toFixed(0)}${totalBytes ? `/${(totalBytes / 2 ** 20).toFixed(0)}` : ''} MiB`,
        ),
    });
    const added: Vm[] = [];
    for (const node of nodes) {
      const machine = new VirtualMachine({
        node,
        dcName: plan.dc,
        runDir: this.paths.vms,
        dataDir: this.dataDir,
        taps: plan.taps.get(node.name) ?? [],
        images,
        accel,
        deviceClasses: topology.deviceClasses,
        env: markedEnvironment(this.paths.runDir),
        log: this.logger,
      });
      const vm: Vm = {
        node,
        machine,
        hardware: new MachineHardware({ memoryMiB: node.memoryMiB }),
        ...(node.bmc ? { accounts: new BmcAccounts(node.bmc) } : {}),
      };
      this.vms.set(node.name, vm);
      added.push(vm);
      machine.onPowerChange(({ state, cause, detail }) =>
        this.logger.info(
          { event: 'power', node: node.name, state, cause },
          `${node.name}: power ${state} (${cause}${detail ? `: ${detail}` : ''})`,
        ),
      );
      if (node.bmc && node.bmc.address === undefined) machine.onGuestLine((line) => void this.onAnnouncedAddress(vm, line));
    }
    const fixed = plan.bmcs.filter((address) => nodes.some((node) => node.name === address.node));
    await Promise.all(fixed.map((address) => this.startBmc(this.vms.get(address.node)!, address)));
    if (fixed.length > 0) progress(`BMCs: ${fixed.map((b) => `${b.node} ${b.address}`).join(', ')}`);
    if (!this.options.powerOnVms) {
      progress(`${nodes.length} VM${nodes.length === 1 ? '' : 's'} left off: power them on through their BMCs`);
      return nodes.map((node) => node.name);
    }
    progress(`powering on ${nodes.length} VM${nodes.length === 1 ? '' : 's'} (${accel.toUpperCase()})`);
    await Promise.all(added.map((vm) => vm.machine.powerOn()));
    progress(`VMs on: ${nodes.map((node) => node.name).join(', ')}`);
    return nodes.map((node) => node.name);
  }

  status(): MachineStatus[] {
    const { ipmi, redfish } = this.options.bmcPorts;
    return [...this.vms.values()].map(({ node, machine, bmc }) => ({
      name: node.name,
      serial: machine.serial,
      power: machine.power(),
      ...(machine.pid ? { pid: machine.pid } : {}),
      ...(bmc
        ? {
            bmc: {
              address: bmc.address.address,
              redfish: `https://${bmc.address.address}${redfish === 443 ? '' : `:${redfish}`}/redfish/v1`,
              ipmi: `${bmc.address.address}:${ipmi}`,
              certificate: bmc.certificate,
            },
          }
        : node.bmc
          ? { bmcPending: true }
          : {}),
      console: machine.consoleSocket,
      consoleLog: machine.consoleLog,
    }));
  }

  /** A power action through the node's BMC (Redfish over HTTPS); directly only when the DC has no BMCs. */
  async power(name: string, action: PowerAction): Promise<{ power: 'on' | 'off'; via: string }> {
    const vm = this.vms.get(name);
    if (!vm) throw new Error(`no VM node "${name}" (VMs: ${[...this.vms.keys()].join(', ') || 'none'})`);
    if (vm.bmc) {
      const administrator = vm.accounts!.administrator();
      if (!administrator) throw new Error(`${name}'s BMC has no enabled Administrator account to act with`);
      const target: RedfishTarget = {
        host: vm.bmc.address.address,
        port: this.options.bmcPorts.redfish,
        ...administrator,
        ca: vm.bmc.ca,
      };
      if (action !== 'status') await redfishReset(target, action as RedfishAction);
      return { power: await redfishPowerState(target), via: `its BMC (Redfish at ${vm.bmc.address.address})` };
    }
    if (vm.node.bmc) throw new Error(`${name}'s BMC has no address yet (the guest has not announced one)`);
    const machine = vm.machine;
    const actions: Record<Exclude<PowerAction, 'status'>, () => Promise<void>> = {
      on: () => machine.powerOn(),
      off: () => machine.powerOff(),
      reset: () => machine.reset(),
      cycle: () => machine.cycle(),
      shutdown: () => machine.shutdown(),
    };
    if (action !== 'status') await actions[action]();
    return { power: machine.power(), via: 'QEMU directly (this DC has no bmc network)' };
  }

  /** `dc fault`: breaks or mends a part of a VM's hardware, or lists the parts. */
  hardware(request: HardwareRequest): HardwareAnswer {
    const vms = new Map([...this.vms].map(([name, vm]) => [name, { hardware: vm.hardware, hasBmc: vm.node.bmc !== undefined }]));
    const answer = answerHardwareRequest(vms, request);
    if (answer.changed && answer.changed.from !== answer.changed.to)
      this.logger.info(
        { event: 'fault', node: answer.node, part: answer.changed.part, health: answer.changed.to },
        `${answer.node}: ${answer.changed.part} ${answer.changed.to === 'OK' ? 'mended' : 'broken'}`,
      );
    return answer;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.vms.values()].map((vm) => vm.bmc?.close()));
    await Promise.allSettled([...this.vms.values()].map((vm) => vm.machine.close()));
  }

  private async startBmc(vm: Vm, address: BmcAddress): Promise<void> {
    const tls = await ensureCertificate(join(this.paths.bmc, vm.node.name), {
      commonName: address.address,
      ipAddresses: [address.address],
    });
    const common = {
      host: address.address,
      accounts: vm.accounts!,
      machine: vm.machine,
      hardware: vm.hardware,
      log: this.logger.child({ bmc: vm.node.name }),
    };
    const ipmi = await startIpmiServer({ ...common, port: this.options.bmcPorts.ipmi });
    const redfish = await startRedfishServer({ ...common, port: this.options.bmcPorts.redfish, tls }).catch(
      async (error: unknown) => {
        await ipmi.close();
        throw error;
      },
    );
    vm.bmc = {
      address,
      certificate: tls.cert,
      ca: await readFile(tls.cert),
      close: async () => {
        await Promise.allSettled([ipmi.close(), redfish.close()]);
      },
    };
  }

  /** placemat's protocol: the guest writes its BMC address as the first line on the virtio-serial port. */
  private async onAnnouncedAddress(vm: Vm, line: string): Promise<void> {
    if (vm.bmc) return; // only the first line counts
    const text = line.trim();
    const address = this.topology && bmcAddress(this.topology, vm.node.name, text);
    if (!address) {
      this.logger.warn(
        { event: 'bmc-address-refused', node: vm.node.name, address: text },
        `${vm.node.name} announced "${text}", which is in no bmc network`,
      );
      return;
    }
    try {
      await execFileAsync(this.options.tools.ip, [
        'addr',
        'replace',
        `${address.address}/${address.prefixLength}`,
        'dev',
        address.network,
      ]);
      await this.startBmc(vm, address);
      this.logger.info(
        { event: 'bmc', node: vm.node.name, address: address.address },
        `${vm.node.name}: BMC at ${address.address}`,
      );
    } catch (error) {
      this.logger.error(
        { event: 'bmc-failed', node: vm.node.name },
        `${vm.node.name}: BMC at ${text} failed: ${(error as Error).message}`,
      );
    }
  }
}
