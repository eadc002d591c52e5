/**
 * Decide, then act: the host objects a topology needs, as `ip`/`tc` batch
 * lines per namespace. Pure — the builder (host/build.ts) runs the lines, and
 * the bench's `ip -batch` floor does the same work by hand.
 *
 * Layout (see names.ts): the DC's namespace holds one bridge per Network
 * (named after it), one veth end `yg-v<N>` per namespace interface, and one tap
 * `yg-t<N>` per VM interface. The other veth end is `ethI` inside the router's
 * or netns node's own namespace. Nothing goes into the host's namespace.
 *
 * Every line names devices with `dev`/`name`: iproute2 accepts abbreviations
 * of its keywords, so a bridge called "n" would otherwise read as "netns".
 */
import { networkContains, parseInterfaceAddress } from './addresses.js';
import { clearNetemCommand, netemCommand } from './netem.js';
import { planUplink, type UplinkPlan } from './uplink.js';
import { dcNamespace, interfaceName, memberNamespace } from './names.js';
import type { Interface, Netem, NetworkNamespace, NetnsNode, Topology, VmNode } from './spec/index.js';

export interface NamespaceSetup {
  /** The namespace's name in /run/netns. */
  namespace: string;
  /** The NetworkNamespace or netns node it belongs to. */
  member: string;
  kind: 'router' | 'node';
  /** `ip -n <namespace> -batch` lines: loopback, addresses, links up. */
  ipCommands: string[];
  /** `tc -n <namespace> -batch` lines: netem on the interfaces. */
  tcCommands: string[];
  /** sysctl settings (routers forward, and do not drop asymmetric routes: rp_filter 0 as placemat). */
  sysctls: [string, string][];
}

export interface LinkEnd {
  member: string;
  /** ethI inside the member's namespace, or the NIC index of a VM. */
  interfaceName: string;
  network: string;
  /** The DC-namespace end: veth `yg-v<N>` or tap `yg-t<N>`. */
  hostSide: string;
  addresses: string[];
}

/**
 * How link impairments are made: the kernel's netem qdisc, or — on kernels
 * built without sch_netem — Yagura's userspace relay (host/netem-relay.ts),
 * which sits between the link's DC-side end and the bridge.
 */
export type ImpairmentMode = 'tc' | 'relay';

export interface RelayedLink {
  member: string;
  interfaceName: string;
  /** The DC-side end the relay reads from: veth yg-v<N> or tap yg-t<N>. */
  link: string;
  bridge: string;
  netem: Netem;
}

/** A virtual BMC's address: added to its bmc network's bridge in the DC namespace, where the BMC listens. */
export interface BmcAddress {
  node: string;
  address: string;
  network: string;
  prefixLength: number;
}

export interface BuildPlan {
  dc: string;
  /** The NAT uplink of external networks with use-nat (uplink.ts). */
  uplink?: UplinkPlan;
  /** BMCs with an address fixed in the topology (the others wait for their guest to announce one). */
  bmcs: BmcAddress[];
  impairments: ImpairmentMode;
  /** Links the relay impairs from the start (relay mode): built without a bridge, the relay joins them. */
  relayed: RelayedLink[];
  /** Every namespace, the DC's first; created in this order, deleted in reverse. */
  namespaces: string[];
  /** `ip -n yg-<dc> -batch` lines: bridges, veths (peers straight into their namespaces), taps. */
  dcIpCommands: string[];
  /** `tc -n yg-<dc> -batch` lines: netem on VM taps. */
  dcTcCommands: string[];
  members: NamespaceSetup[];
  /** Every interface, for status and `dc netem`. */
  links: LinkEnd[];
  /** VM node → its taps in NIC order. */
  taps: Map<string, string[]>;
}

export interface PlanOptions {
  impairments?: ImpairmentMode;
  /** The namespace the NAT uplink joins (default: the host's own). */
  uplinkNamespace?: string;
  /**
   * The running DC's links: an interface that was there keeps its DC-side name
   * (yg-v<N>, yg-t<N>) and a new one gets a number after the highest in use, so
   * a grown DC renames nothing (growth-plan.ts).
   */
  previous?: readonly LinkEnd[];
}

export function planBuild(dc: string, topology: Topology, options: PlanOptions = {}): BuildPlan {
  const impairments = options.impairments ?? 'tc';
  const plan: BuildPlan = {
    dc,
    impairments,
    bmcs: [],
    relayed: [],
    namespaces: [dcNamespace(dc)],
    dcIpCommands: ['link set dev lo up'],
    dcTcCommands: [],
    members: [],
    links: [],
    taps: new Map(),
  };
  const uplink = planUplink(dc, dcNamespace(dc), topology, options.uplinkNamespace);
  if (uplink) plan.uplink = uplink;
  for (const network of topology.networks) {
    // No STP and no forwarding delay: a port forwards as soon as it is up, as on a switch with portfast.
    plan.dcIpCommands.push(`link add name ${network.name} type bridge stp_state 0 forward_delay 0`);
    if (network.address)
      plan.dcIpCommands.push(`addr add ${network.address.cidr} dev ${network.name}${nodad(network.address.family)}`);
    plan.dcIpCommands.push(`link set dev ${network.name} up`);
  }
  const linkName = linkNamer(options.previous ?? []);
  const namespaced: (NetworkNamespace | NetnsNode)[] = [
    ...topology.networkNamespaces,
    ...topology.nodes.filter((node): node is NetnsNode => node.type === 'netns'),
  ];
  for (const member of namespaced) {
    const namespace = memberNamespace(dc, member.name);
    plan.namespaces.push(namespace);
    const setup: NamespaceSetup = {
      namespace,
      member: member.name,
      kind: member.kind === 'NetworkNamespace' ? 'router' : 'node',
      ipCommands: ['link set dev lo up'],
      tcCommands: [],
      sysctls: member.kind === 'NetworkNamespace' ? ROUTER_SYSCTLS : [],
    };
    for (const iface of member.interfaces) {
      const hostSide = linkName('yg-v', member.name, interfaceName(iface.index));
      const inside = interfaceName(iface.index);
      const relay = impairments === 'relay' && isImpaired(iface.netem);
      plan.dcIpCommands.push(
        `link add name ${hostSide} type veth peer name ${inside} netns ${namespace}`,
        relay ? `link set dev ${hostSide} up` : `link set dev ${hostSide} master ${iface.network} up`,
      );
      for (const address of iface.addresses)
        setup.ipCommands.push(`addr add ${address.cidr} dev ${inside}${nodad(address.family)}`);
      setup.ipCommands.push(`link set dev ${inside} up`);
      if (relay)
        plan.relayed.push({
          member: member.name,
          interfaceName: inside,
          link: hostSide,
          bridge: iface.network,
          netem: iface.netem!,
        });
      const tc = !relay && iface.netem && netemCommand(inside, iface.netem);
      if (tc) setup.tcCommands.push(tc);
      plan.links.push(linkEnd(member.name, inside, hostSide, iface));
    }
    plan.members.push(setup);
  }
  for (const node of topology.nodes.filter((node): node is VmNode => node.type === 'vm')) {
    const taps: string[] = [];
    for (const iface of node.interfaces) {
      const tap = linkName('yg-t', node.name, `nic${iface.index}`);
      taps.push(tap);
      const multiQueue = node.networkDeviceQueue !== undefined && node.networkDeviceQueue > 1 ? ' multi_queue vnet_hdr' : '';
      const relay = impairments === 'relay' && isImpaired(iface.netem);
      plan.dcIpCommands.push(
        `tuntap add dev ${tap} mode tap${multiQueue}`,
        relay ? `link set dev ${tap} up` : `link set dev ${tap} master ${iface.network} up`,
      );
      if (relay)
        plan.relayed.push({
          member: node.name,
          interfaceName: `nic${iface.index}`,
          link: tap,
          bridge: iface.network,
          netem: iface.netem!,
        });
      // With tc, a tap's egress is what the VM receives: the impairment applies to traffic towards the VM.
      // The relay impairs what the VM sends, as for namespaces (docs/dc-yaml.md).
      const tc = !relay && iface.netem && netemCommand(tap, iface.netem);
      if (tc) plan.dcTcCommands.push(tc);
      plan.links.push(linkEnd(node.name, `nic${iface.index}`, tap, iface));
    }
    plan.taps.set(node.name, taps);
    const bmc = node.bmc?.address === undefined ? undefined : bmcAddress(topology, node.name, node.bmc.address);
    if (bmc) {
      plan.bmcs.push(bmc);
      plan.dcIpCommands.push(`addr add ${bmc.address}/${bmc.prefixLength} dev ${bmc.network}`);
    }
  }
  return plan;
}

/**
 * Names DC-side link ends in order: yg-v0, yg-t1, … — or, given the running
 * DC's links, the name an interface already has, and numbers after the
 * highest in use for the new ones.
 */
function linkNamer(previous: readonly LinkEnd[]): (prefix: 'yg-v' | 'yg-t', member: string, iface: string) => string {
  const kept = new Map(previous.map((link) => [`${link.member}\0${link.interfaceName}`, link.hostSide]));
  let next = previous.reduce((highest, link) => Math.max(highest, Number(/\d+$/.exec(link.hostSide)?.[0] ?? -1)), -1) + 1;
  return (prefix, member, iface) => {
    const name = kept.get(`${member}\0${iface}`);
    return name?.startsWith(prefix) ? name : `${prefix}${next++}`;
  };
}

/** The bmc network whose range holds `address` (the spec has checked there is one), as a BMC address. */
export function bmcAddress(topology: Topology, node: string, address: string): BmcAddress | undefined {
  for (const network of topology.networks) {
    if (network.type !== 'bmc' || network.address?.family !== 4) continue;
    const candidate = parseInterfaceAddress(`${address}/${network.address.prefixLength}`);
    if ('problem' in candidate || !networkContains(network.address, candidate)) continue;
    return { node, address, network: network.name, prefixLength: network.address.prefixLength };
  }
  return undefined;
}

function isImpaired(netem: Netem | undefined): boolean {
  return netem !== undefined && Object.values(netem).some((value) => value !== undefined);
}

/** Where `dc netem NODE IFACE` acts: the namespace and device that carry the interface's impairment. */
export interface NetemTarget {
  /** Where tc acts (tc mode). */
  namespace: string;
  device: string;
  /** The DC-side end and its bridge (relay mode). */
  link: string;
  bridge: string;
}

export function netemTarget(plan: BuildPlan, member: string, iface: string): NetemTarget | undefined {
  const end = plan.links.find((link) => link.member === member && (link.interfaceName === iface || vmAlias(link, iface)));
  if (!end) return undefined;
  const relayEnds = { link: end.hostSide, bridge: end.network };
  if (end.hostSide.startsWith('yg-t')) return { namespace: dcNamespace(plan.dc), device: end.hostSide, ...relayEnds };
  return { namespace: memberNamespace(plan.dc, member), device: end.interfaceName, ...relayEnds };
}

/** The `tc` line for a runtime impairment change: set (replace) or clear. */
export function netemChange(device: string, netem: Netem | 'clear'): string | undefined {
  return netem === 'clear' ? clearNetemCommand(device) : netemCommand(device, netem);
}

const ROUTER_SYSCTLS: [string, string][] = [
  ['net.ipv4.ip_forward', '1'],
  ['net.ipv6.conf.all.forwarding', '1'],
  ['net.ipv4.conf.all.rp_filter', '0'],
  ['net.ipv4.conf.default.rp_filter', '0'],
];

/** IPv6 addresses skip duplicate address detection: a lab wants them usable at once. */
function nodad(family: 4 | 6): string {
  return family === 6 ? ' nodad' : '';
}

function linkEnd(member: string, interfaceName: string, hostSide: string, iface: Interface): LinkEnd {
  return { member, interfaceName, network: iface.network, hostSide, addresses: iface.addresses.map((address) => address.cidr) };
}

/** A VM's interface may be named eth0 or nic0 on the command line. */
function vmAlias(end: LinkEnd, iface: string): boolean {
  return end.hostSide.startsWith('yg-t') && end.interfaceName === iface.replace(/^eth/, 'nic');
}
