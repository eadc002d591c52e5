/**
 * What a picture of a virtual data center shows, independent of how it is
 * drawn: networks (bridges), machines (routers, netns nodes, VMs) and one link
 * per interface, each with the words a network engineer reads off a diagram.
 * Every renderer (Mermaid, Graphviz, HTML) draws this model, so they all say
 * the same thing.
 *
 * Pure: no I/O.
 */
import type { Netem, NetworkType, Topology } from '../spec/index.js';

export interface GraphModel {
  title: string;
  networks: NetworkBox[];
  machines: MachineBox[];
  links: Link[];
}

export interface NetworkBox {
  /** Safe in every output format: letters, digits and "_" only. */
  id: string;
  name: string;
  type: NetworkType;
  nat: boolean;
  /** The bridge's own address (CIDR), when it has one. */
  address?: string;
}

/** router: a NetworkNamespace; netns: a netns Node; vm: a VM Node. */
export type MachineKind = 'router' | 'netns' | 'vm';

export interface AppView {
  name: string;
  /** The command line, for details on hover; absent for an app known only from the status. */
  command?: string;
  /** From the status: undefined when nobody said. */
  running?: boolean;
}

export interface MachineBox {
  id: string;
  name: string;
  kind: MachineKind;
  /** Short lines shown under the name: "2 CPUs, 2 GiB", "BMC 10.72.16.5". */
  facts: string[];
  apps: AppView[];
  power?: 'on' | 'off';
}

/** One interface: a machine's port on a network. */
export interface Link {
  machine: string;
  network: string;
  /** "eth0" in a network namespace, "nic0" on a VM (its NIC order; the guest names it). */
  port: string;
  addresses: string[];
  /** tc netem impairments in tc's words, e.g. "delay 5ms ±1ms, loss 0.1%". */
  impairment?: string;
}

export interface MachineStatus {
  power?: 'on' | 'off';
  apps?: { name: string; running: boolean }[];
}

export interface GraphOptions {
  title?: string;
  /** Observed state by machine name (NetworkNamespaces and Nodes share names). */
  status?: ReadonlyMap<string, MachineStatus>;
}

export const DEFAULT_TITLE = 'Virtual data center';

/** The model of a topology: order follows the topology (file order), so the same topology gives the same picture. */
export function graphModel(topology: Topology, options: GraphOptions = {}): GraphModel {
  const networks: NetworkBox[] = topology.networks.map((network) => ({
    id: networkId(network.name),
    name: network.name,
    type: network.type,
    nat: network.useNat,
    ...(network.address === undefined ? {} : { address: network.address.cidr }),
  }));
  const known = new Set(topology.networks.map((network) => network.name));
  const machines: MachineBox[] = [];
  const links: Link[] = [];

  const machinesInOrder = [
    ...topology.networkNamespaces.map((namespace) => ({ resource: namespace, kind: 'router' as const })),
    ...topology.nodes.map((node) => ({ resource: node, kind: node.type === 'vm' ? ('vm' as const) : ('netns' as const) })),
  ];
  for (const { resource, kind } of machinesInOrder) {
    const id = machineId(resource.name);
    const status = options.status?.get(resource.name);
    const facts: string[] = [];
    let apps: AppView[] = [];
    if (resource.kind === 'Node' && resource.type === 'vm') {
      facts.push(`${plural(resource.smp.cpus, 'CPU')}, ${formatMemory(resource.memoryMiB)}`);
      // Without a fixed address the guest announces one at boot, which the topology cannot know.
      if (resource.bmc !== undefined)
        facts.push(resource.bmc.address === undefined ? 'BMC, address from guest' : `BMC ${resource.bmc.address}`);
    } else {
      apps = resource.apps.map((app) => ({ name: app.name, command: app.command.join(' ') }));
    }
    // An app the status reports but the topology does not list is shown too: something is running there.
    for (const observed of status?.apps ?? []) {
      const app = apps.find((candidate) => candidate.name === observed.name);
      if (app) app.running = observed.running;
      else apps.push({ name: observed.name, running: observed.running });
    }
    machines.push({
      id,
      name: resource.name,
      kind,
      facts,
      apps,
      ...(status?.power === undefined ? {} : { power: status.power }),
    });
    for (const item of resource.interfaces) {
      // parseTopology guarantees this; a hand-made topology that breaks it would draw a dangling link.
      if (!known.has(item.network))
        throw new Error(
          `${resource.name} interface ${item.index} is on network "${item.network}", which the topology does not define`,
        );
      const impairment = item.netem === undefined ? undefined : describeNetem(item.netem);
      links.push({
        machine: id,
        network: networkId(item.network),
        port: `${kind === 'vm' ? 'nic' : 'eth'}${item.index}`,
        addresses: item.addresses.map((address) => address.cidr),
        ...(impairment === undefined ? {} : { impairment }),
      });
    }
  }
  return { title: options.title ?? DEFAULT_TITLE, networks, machines, links };
}

/**
 * Ids for the two name spaces of a picture (networks; machines, which share
 * names), using only letters, digits and "_" so that no format needs to quote
 * them. The encoding is one-to-one: "_" doubles, "." and "-" become "_d" and
 * "_h", anything else "_uXXXX".
 */
export function networkId(name: string): string {
  return `net_${encodeName(name)}`;
}

export function machineId(name: string): string {
  return `m_${encodeName(name)}`;
}

function encodeName(name: string): string {
  return [...name]
    .map((char) => {
      if (/[A-Za-z0-9]/.test(char)) return char;
      if (char === '_') return '__';
      if (char === '.') return '_d';
      if (char === '-') return '_h';
      return `_u${char.codePointAt(0)!.toString(16)}_`;
    })
    .join('');
}

/** "delay 5ms ±1ms, loss 0.1%, rate 100mbit": the order and words of `tc qdisc show`. */
export function describeNetem(netem: Netem): string | undefined {
  const parts: string[] = [];
  if (netem.delayUs !== undefined)
    parts.push(
      `delay ${formatDuration(netem.delayUs)}${netem.jitterUs === undefined ? '' : ` ±${formatDuration(netem.jitterUs)}`}`,
    );
  else if (netem.jitterUs !== undefined) parts.push(`jitter ±${formatDuration(netem.jitterUs)}`);
  if (netem.lossPercent !== undefined) parts.push(`loss ${trim(netem.lossPercent)}%`);
  if (netem.rateBitsPerSecond !== undefined) parts.push(`rate ${formatRate(netem.rateBitsPerSecond)}`);
  return parts.length === 0 ? undefined : parts.join(', ');
}

/** The link's words in one line: "eth0 10.69.0.10/26". */
export function linkCaption(link: Link): string {
  return [link.port, ...link.addresses].join(' ');
}

/** A link's label in a diagram that wraps it itself: the caption, then the impairment if any. */
export function linkLabel(link: Link): string[] {
  return [linkCaption(link), ...(link.impairment === undefined ? [] : [link.impairment])];
}

/** What a dead app looks like in plain text, where colour may be lost. */
export function appCaption(app: AppView): string {
  return app.running === false ? `${app.name} ✗` : app.name;
}

function formatDuration(us: number): string {
  if (us >= 1_000_000 && us % 1000 === 0) return `${trim(us / 1_000_000)}s`;
  if (us >= 1000) return `${trim(us / 1000)}ms`;
  return `${us}us`;
}

const DECIMAL_RATES: [number, string][] = [
  [1e12, 'tbit'],
  [1e9, 'gbit'],
  [1e6, 'mbit'],
  [1e3, 'kbit'],
];
const BINARY_RATES: [number, string][] = [
  [1024 ** 4, 'tibit'],
  [1024 ** 3, 'gibit'],
  [1024 ** 2, 'mibit'],
  [1024, 'kibit'],
];

/** Back in the kind of unit the topology was most likely written in: 100mbit, 1.5gbit, 512kibit. */
function formatRate(bits: number): string {
  const units = bits % 1000 !== 0 && bits % 1024 === 0 ? BINARY_RATES : DECIMAL_RATES;
  for (const [size, unit] of units) if (bits >= size) return `${trim(bits / size)}${unit}`;
  return `${bits}bit`;
}

function formatMemory(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** At most three decimals, no trailing zeros. */
function trim(value: number): string {
  return String(Number(value.toFixed(3)));
}

/** How a machine kind is named on its box. */
export const KIND_CAPTIONS: Record<MachineKind, string> = { router: 'router', netns: 'netns node', vm: 'VM' };

/** The network's second line: its type, NAT and the bridge address, e.g. "external, NAT, 10.0.0.1/24". */
export function networkCaption(network: NetworkBox): string {
  return [network.type, ...(network.nat ? ['NAT'] : []), ...(network.address === undefined ? [] : [network.address])].join(', ');
}
