/**
 * The site plan: every rack, ToR, spine, link and machine of a site spec with
 * its addresses and AS number, decided once. The topology, the BIRD configs,
 * the IPAM config and the machines file are all rendered from this one plan,
 * so they cannot disagree. Machine addresses come from the inventory's own
 * registration plan (sabakan's IPAM), never computed here.
 */
import { createHash } from 'node:crypto';
import { nicConfig, nodeAddresses } from '../inventory/ipam.js';
import type { IpamConfig, MachineSpecInput } from '../inventory/model.js';
import { planRegistration } from '../inventory/registration.js';
import { formatIPv4, maskOf, parseCidrV4, parseIPv4 } from '../lib/ipv4.js';
import type { Firmware, ServerKind, SiteSpec } from './spec.js';

export const BMC_TYPE = 'IPMI-2.0';

export interface SitePlan {
  name: string;
  ipam: IpamConfig;
  spineAsn: number;
  spines: SpinePlan[];
  racks: RackPlan[];
  /** The BMC network's bridge address, e.g. 10.72.16.1/20 (the BMC gateway). */
  bmcNetwork: string;
  /** Every machine, in registration order (rack, then index): the order machines.json lists them. */
  machines: MachinePlan[];
  /**
   * The core: the netns boot servers that form the etcd cluster (the first
   * `etcd-members` by rack). The ToRs relay DHCP to them; every other netns
   * boot server runs `yagura serve` on their cluster.
   */
  core: MachinePlan[];
  /** Extra flags of every boot server's `yagura serve` (the spec's serve-flags). */
  serveFlags: string[];
}

export interface SpinePlan {
  name: string;
  asn: number;
  routerId: string;
  /** One per ToR of every rack, in rack then ToR order: the spine's interfaces eth0, eth1, … */
  links: LinkPlan[];
}

/** A ToR–spine /31: the spine has the even address, the ToR the odd one. */
export interface LinkPlan {
  network: string;
  spine: string;
  tor: string;
  spineAddress: string;
  torAddress: string;
}

export interface RackPlan {
  rack: number;
  asn: number;
  tors: [TorPlan, TorPlan];
  machines: MachinePlan[];
}

export interface TorPlan {
  name: string;
  rack: number;
  /** 1 faces every server's node1 (eth0), 2 their node2 (eth1). */
  side: 1 | 2;
  asn: number;
  /** The rack segment this ToR serves: a Network of the topology. */
  segment: string;
  /** The segment's prefix, e.g. 10.69.0.64/26. */
  prefix: string;
  /** The ToR's address on the segment (the servers' gateway): block start + node-gateway-offset. */
  address: string;
  prefixLength: number;
  /**
   * An IPv6 address on the segment (a ULA /64, e.g. fd79:6167:1:2::1/64 for
   * rack 1's ToR2), there only so that the ToR's dnsmasq may send router
   * advertisements: iPXE waits about 16 s for one (docs/netboot.md), and
   * dnsmasq advertises only a prefix of the interface. No IPv6 is routed.
   */
  raAddress: string;
  /** One per spine, in spine order: eth1, eth2, … */
  uplinks: LinkPlan[];
}

export interface MachinePlan {
  name: string;
  serial: string;
  rack: number;
  index: number;
  role: string;
  kind: ServerKind;
  boot: boolean;
  /** The announced /32 (on a dummy interface), toward ToR1, toward ToR2. */
  node0: string;
  node1: string;
  node2: string;
  bmc: string;
  cpu: number;
  memory: string;
  /** How a VM netboots (boot servers: uefi); netns servers ignore it. */
  firmware: Firmware;
}

/** Decides the whole site. The spec has been checked (parseSiteSpec), so nothing here can fail on user input. */
export function planSite(spec: SiteSpec): SitePlan {
  const { ipam } = spec;
  const spineAsn = spec.asnBase - 1;
  const inputs: {
    input: MachineSpecInput;
    name: string;
    kind: ServerKind;
    cpu: number;
    memory: string;
    firmware: Firmware;
  }[] = [];
  for (const rack of spec.racks) {
    if (rack.bootServer) {
      const name = `boot-${rack.rack}`;
      inputs.push({
        input: machineInput(name, rack.rack, 'boot'),
        name,
        kind: rack.bootServer.kind,
        cpu: 2,
        memory: '2G',
        firmware: 'uefi',
      });
    }
    for (const group of rack.servers) {
      for (let n = 1; n <= group.count; n++) {
        const name = `rack${rack.rack}-${group.role}${n}`;
        inputs.push({
          input: machineInput(name, rack.rack, group.role),
          name,
          kind: group.kind,
          cpu: group.cpu,
          memory: group.memory,
          firmware: group.firmware,
        });
      }
    }
  }
  const registration = planRegistration(
    ipam,
    inputs.map(({ input }) => input),
    new Map(),
    new Date(0),
  );
  if (registration.kind !== 'ok')
    throw new Error(`the site spec passed its checks but registration failed: ${registration.message}`);
  const machines = registration.machines.map((machine, i): MachinePlan => {
    const [node0, node1, node2] = machine.spec.ipv4 as [string, string, string];
    const { name, kind, cpu, memory, firmware } = inputs[i]!;
    return {
      name,
      serial: machine.spec.serial,
      rack: machine.spec.rack,
      index: machine.spec['index-in-rack'],
      role: machine.spec.role,
      kind,
      boot: machine.spec.role === 'boot',
      node0,
      node1,
      node2,
      bmc: machine.spec.bmc.ipv4,
      cpu,
      memory,
      firmware,
    };
  });

  const linkPool = parseCidrV4(spec.spineTorPool)!.network;
  const spines: SpinePlan[] = Array.from({ length: spec.spines }, (_, s) => ({
    name: `spine${s + 1}`,
    asn: spineAsn,
    routerId: formatIPv4(linkPool + 2 * s),
    links: [],
  }));
  const racks = spec.racks.map((rack): RackPlan => {
    const asn = spec.asnBase + rack.rack;
    const tors = ([1, 2] as const).map((side): TorPlan => {
      const name = torName(rack.rack, side);
      const uplinks = spines.map((spine, s): LinkPlan => {
        const k = (rack.rack * 2 + (side - 1)) * spec.spines + s;
        const link = {
          network: `s${s + 1}-r${rack.rack}-t${side}`,
          spine: spine.name,
          tor: name,
          spineAddress: formatIPv4(linkPool + 2 * k),
          torAddress: formatIPv4(linkPool + 2 * k + 1),
        };
        spine.links.push(link);
        return link;
      });
      // Any server address on the segment (here the boot index's) gives its block and the gateway sabakan gives servers there.
      const sample = nodeAddresses(ipam, rack.rack, ipam['node-index-offset'])[side]!;
      const mask = ipam['node-ipv4-range-mask'];
      const nic = nicConfig(sample, mask, ipam['node-gateway-offset']);
      return {
        name,
        rack: rack.rack,
        side,
        asn,
        segment: `r${rack.rack}-node${side}`,
        prefix: `${formatIPv4((sample & maskOf(mask)) >>> 0)}/${mask}`,
        address: nic.gateway,
        prefixLength: mask,
        raAddress: raAddress(rack.rack, side),
        uplinks,
      };
    }) as [TorPlan, TorPlan];
    return { rack: rack.rack, asn, tors, machines: machines.filter((machine) => machine.rack === rack.rack) };
  });
  for (const spine of spines) spine.links.sort((a, b) => parseIPv4(a.spineAddress)! - parseIPv4(b.spineAddress)!);
  const bmcPool = parseCidrV4(ipam['bmc-ipv4-pool'])!;
  const bmcNetwork = `${formatIPv4(bmcPool.network + ipam['bmc-ipv4-gateway-offset'])}/${ipam['bmc-ipv4-range-mask']}`;
  const core = machines.filter((machine) => machine.boot && machine.kind === 'netns').slice(0, spec.etcdMembers);
  return { name: spec.name, ipam, spineAsn, spines, racks, bmcNetwork, machines, core, serveFlags: spec.serveFlags };
}

/**
 * Labels every server carries, for its role's Ignition template
 * (ignition.ts): templates cannot compute, so what the machine's own data
 * (rack, index, addresses) does not hold comes in labels.
 */
export const LABELS = {
  /** The rack's AS number, e.g. "64600". */
  asn: 'bgp-as',
  /** The server's name in the site, e.g. "rack0-cs1": its hostname. */
  hostname: 'hostname',
} as const;

/** The JSON `yagura machines create -f` takes: every machine of the site, in registration order, with its labels. */
export function machinesFile(plan: SitePlan): MachineSpecInput[] {
  return plan.machines.map((machine) => ({
    ...machineInput(machine.name, machine.rack, machine.role),
    labels: {
      [LABELS.asn]: String(plan.racks.find((rack) => rack.rack === machine.rack)!.asn),
      [LABELS.hostname]: machine.name,
    },
  }));
}

/** A ToR's name: the rack may be a number or, in a template, a placeholder. */
/** "fd79:6167" is "yagura"'s first letters in ASCII, then the rack and the side: unique in the site, easy to read. */
function raAddress(rack: number, side: 1 | 2): string {
  return `fd79:6167:${rack.toString(16)}:${side}::1/64`;
}

export function torName(rack: number | string, side: 1 | 2): string {
  return `rack${rack}-tor${side}`;
}

/** placemat's default SMBIOS serial (the SHA-1 of the node name), so the inventory and the VM agree. */
export function serialOf(name: string): string {
  return createHash('sha1').update(name).digest('hex');
}

function machineInput(name: string, rack: number, role: string): MachineSpecInput {
  return { serial: serialOf(name), rack, role, bmc: { type: BMC_TYPE } };
}
