/**
 * BIRD 2 configs from the site plan, following Neco's network design
 * (reference neco.md §A2):
 * - ToR–spine: eBGP with BFD, import all, export all; the spines share one AS.
 * - Server–ToR: iBGP in the rack's AS; the ToRs are passive route reflectors
 *   with the servers as clients. A server announces only its node0 /32.
 * - BFD on every session (400 ms); ECMP through `merge paths` in the kernel protocol.
 * - Sessions come back within seconds of a failure, not BIRD's minute (SESSION_TIMERS).
 * Servers set their node0 as the source of the routes they install
 * (krt_prefsrc), so their traffic leaves from the announced address.
 */
import type { MachinePlan, RackPlan, SitePlan, SpinePlan, TorPlan } from './plan.js';

/** BFD timers of Neco's BIRD configs. */
const BFD_INTERVAL_MS = 400;

/**
 * How soon a BGP session comes back after it went down (BFD saw a ToR or a
 * link go, or the peer restarted). BIRD's defaults are made for the Internet:
 * after an error the protocol waits 60 s (doubling up to 300 s) before it
 * starts again and refuses the peer's connections meanwhile, and a connect
 * that gets no answer is retried after 120 s. Inside a data center, where the
 * peer is one link away, that left a ToR that came back unused for about a
 * minute. Now: 5 s after the first error (doubling up to 30 s while errors
 * repeat within BIRD's `error forget time`, 300 s), and connects every 5 s.
 */
const BGP_CONNECT_RETRY_S = 5;
const BGP_ERROR_WAIT_S = [5, 30] as const;

/** The session timers above, as lines of a `template bgp`. */
const SESSION_TIMERS = `  connect retry time ${BGP_CONNECT_RETRY_S};
  error wait time ${BGP_ERROR_WAIT_S[0]}, ${BGP_ERROR_WAIT_S[1]};
`;

export interface BirdConfig {
  /** The node (or NetworkNamespace) that runs it. */
  node: string;
  text: string;
}

/**
 * A config for every spine, every ToR and every netns boot server. Servers,
 * VM or netns, get theirs from their role's Ignition template (ignition.ts).
 */
export function birdConfigs(plan: SitePlan): BirdConfig[] {
  return [
    ...plan.spines.map((spine) => ({ node: spine.name, text: spineConfig(plan, spine) })),
    ...plan.racks.flatMap((rack) => rack.tors.map((tor) => ({ node: tor.name, text: torConfig(plan, rack, tor) }))),
    ...plan.machines
      .filter((machine) => machine.kind === 'netns' && machine.boot)
      .map((machine) => ({ node: machine.name, text: serverConfig(plan, plan.racks[machine.rack]!, machine) })),
  ];
}

export function spineConfig(plan: SitePlan, spine: SpinePlan): string {
  return [
    header(plan, spine.name, `spine, AS ${spine.asn}: eBGP to every ToR`),
    common(spine.routerId),
    kernel(),
    `template bgp tor {
  local as ${spine.asn};
  direct;
  bfd on;
${SESSION_TIMERS}  ipv4 { import all; export all; };
}
`,
    ...spine.links.map(
      (link) => `protocol bgp ${identifier(link.tor)} from tor {
  local ${link.spineAddress};
  neighbor ${link.torAddress} as ${plan.racks.find((rack) => rack.tors.some((tor) => tor.name === link.tor))!.asn};
}
`,
    ),
  ].join('\n');
}

export function torConfig(plan: SitePlan, rack: RackPlan, tor: TorPlan): string {
  return [
    header(
      plan,
      tor.name,
      `ToR ${tor.side} of rack ${rack.rack}, AS ${tor.asn}: eBGP to the spines, route reflector for the rack's servers`,
    ),
    common(tor.address),
    `# The rack segment, announced to the spines so that replies to relayed DHCP (sent to this address) find their way back.
protocol direct {
  ipv4;
  interface "eth0";
}
`,
    kernel(),
    `template bgp spine {
  local as ${tor.asn};
  direct;
  bfd on;
${SESSION_TIMERS}  ipv4 { import all; export all; };
}
`,
    ...tor.uplinks.map(
      (link) => `protocol bgp ${identifier(link.spine)} from spine {
  local ${link.torAddress};
  neighbor ${link.spineAddress} as ${plan.spineAsn};
}
`,
    ),
    `template bgp server {
  local ${tor.address} as ${tor.asn};
  direct;
  passive on;
  rr client;
  bfd on;
${SESSION_TIMERS}  ipv4 {
    import all;
    export where source = RTS_BGP;
    # Routes from the spines go to the servers with this ToR as the next hop; reflected ones keep the server's.
    next hop self ebgp;
    gateway direct;
  };
}
`,
    // Every server of the rack, VMs included: their OS runs BIRD with the same sessions.
    ...rack.machines.map(
      (machine) => `protocol bgp ${identifier(machine.name)} from server {
  neighbor ${tor.side === 1 ? machine.node1 : machine.node2} as ${tor.asn};
}
`,
    ),
  ].join('\n');
}

/**
 * What a server's BIRD config says, as text: plan values for a known machine,
 * or template placeholders for a role's Ignition template (ignition.ts), so
 * both are rendered by serverBirdConfig and cannot differ.
 */
export interface ServerBgpFacts {
  /** The node's name, for the header. */
  name: string;
  /** What it is, e.g. "server (cs)". */
  what: string;
  rack: string;
  asn: string;
  node0: string;
  /** ToR1, then ToR2. */
  tors: [ServerTorFacts, ServerTorFacts];
}

export interface ServerTorFacts {
  /** The BGP protocol's name, e.g. rack0_tor1. */
  protocol: string;
  /** The server's address toward this ToR (node1 or node2). */
  local: string;
  /** The ToR's address on that segment (the NIC's gateway). */
  neighbor: string;
}

/**
 * Where a server's node0 /32 may be: the dummy interface node0 in the node OS
 * (its /init), lo in a netns server (`yagura node join`, or a boot server's
 * init script). One config serves both, so a role's template fits either kind.
 */
export const NODE0_INTERFACES = ['node0', 'lo'] as const;

export function serverConfig(plan: SitePlan, rack: RackPlan, machine: MachinePlan): string {
  return serverBirdConfig(plan, serverFacts(rack, machine));
}

/** A machine's BGP facts from the plan. */
export function serverFacts(rack: RackPlan, machine: MachinePlan): ServerBgpFacts {
  const [tor1, tor2] = rack.tors;
  return {
    name: machine.name,
    what: machine.boot ? 'boot server' : `server (${machine.role})`,
    rack: String(rack.rack),
    asn: String(rack.asn),
    node0: machine.node0,
    tors: [
      { protocol: identifier(tor1.name), local: machine.node1, neighbor: tor1.address },
      { protocol: identifier(tor2.name), local: machine.node2, neighbor: tor2.address },
    ],
  };
}

export function serverBirdConfig(plan: SitePlan, facts: ServerBgpFacts): string {
  return [
    header(plan, facts.name, `${facts.what} of rack ${facts.rack}, AS ${facts.asn}: iBGP to both ToRs`),
    common(facts.node0),
    `# node0: the address this server announces, a /32 on the dummy interface node0 (node OS) or on lo (netns server).
# Only that /32 is taken: lo also holds 127.0.0.1/8.
protocol direct node0 {
  ipv4 { import where net = ${facts.node0}/32; };
  interface ${NODE0_INTERFACES.map((name) => `"${name}"`).join(', ')};
}
`,
    kernel(facts.node0),
    `template bgp tor {
  local as ${facts.asn};
  direct;
  bfd on;
${SESSION_TIMERS}  ipv4 {
    import all;
    export where net = ${facts.node0}/32;
    next hop self;
    gateway direct;
  };
}
`,
    ...facts.tors.map(
      (tor) => `protocol bgp ${tor.protocol} from tor {
  local ${tor.local};
  neighbor ${tor.neighbor} as ${facts.asn};
}
`,
    ),
  ].join('\n');
}

function header(plan: SitePlan, node: string, role: string): string {
  return `# ${node}: ${role}.
# Generated by \`yagura dc generate\` for site ${plan.name}; edit the site spec, not this file.
`;
}

function common(routerId: string): string {
  return `log stderr all;
router id ${routerId};

protocol device {}

protocol bfd {
  interface "eth*" {
    min rx interval ${BFD_INTERVAL_MS} ms;
    min tx interval ${BFD_INTERVAL_MS} ms;
  };
}
`;
}

/** Installs BGP routes, both paths when two are equally good (ECMP); on a server, with node0 as their source. */
function kernel(preferredSource?: string): string {
  const accept = preferredSource ? `{ krt_prefsrc = ${preferredSource}; accept; }` : 'accept;';
  return `protocol kernel {
  merge paths on;
  ipv4 {
    import none;
    export filter { if source = RTS_BGP then ${accept} reject; };
  };
}
`;
}

/** A BIRD protocol name from a node name: "rack0-tor1" → "rack0_tor1". */
export function identifier(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}
