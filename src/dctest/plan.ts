/**
 * What dctest expects of a site, decided from its plan alone: which servers
 * netboot (VMs) or join (netns), which namespaces run BIRD and must have every
 * BGP session Established, who probes whom for reachability, which routes
 * must have two equal-cost next hops, and where the ToR failover is tried.
 * Pure: the acting steps (steps.ts, checks.ts) follow it.
 */
import { identifier } from '../fabric/bird.js';
import type { MachinePlan, SitePlan } from '../fabric/index.js';

export interface DctestPlan {
  /** VM servers that netboot the node OS (powered on through their BMCs). */
  netboot: MachinePlan[];
  /** netns servers that join with `yagura node join`. */
  joiners: MachinePlan[];
  /** Namespaces that run BIRD and whose BGP sessions dctest reads: spines, ToRs, netns boot servers and servers. */
  bgpMembers: string[];
  /** BGP protocol names that never come up: sessions toward machines that run nothing (VM boot servers). */
  silentSessions: Set<string>;
  /** Every machine that announces its node0: the reachability targets. */
  targets: MachinePlan[];
  /** Per rack, the netns machine that pings the other racks (a server if there is one, else the boot server). */
  probers: MachinePlan[];
  /** How many racks the site has: with one, reachability is within the rack and there is no failover to try. */
  racks: number;
  /** The ToR failover: a prober in one rack pings a netns server in another while one of that server's ToRs goes down. */
  failover?: { from: MachinePlan; to: MachinePlan };
}

export function planDctest(site: SitePlan): DctestPlan {
  // A VM boot server runs nothing yet (docs/site-spec.md); every other machine announces its node0.
  const announces = site.machines.filter((machine) => !(machine.boot && machine.kind === 'vm'));
  const netns = site.machines.filter((machine) => machine.kind === 'netns');
  const probers = site.racks.flatMap((rack) => {
    const inRack = netns.filter((machine) => machine.rack === rack.rack);
    const prober = inRack.find((machine) => !machine.boot) ?? inRack[0];
    return prober ? [prober] : [];
  });
  const from = probers[0];
  const to = from && netns.find((machine) => !machine.boot && machine.rack !== from.rack);
  return {
    racks: site.racks.length,
    netboot: site.machines.filter((machine) => machine.kind === 'vm' && !machine.boot),
    joiners: netns.filter((machine) => !machine.boot),
    bgpMembers: [
      ...site.spines.map((spine) => spine.name),
      ...site.racks.flatMap((rack) => rack.tors.map((tor) => tor.name)),
      ...netns.map((machine) => machine.name),
    ],
    silentSessions: new Set(
      site.machines.filter((machine) => machine.boot && machine.kind === 'vm').map((machine) => identifier(machine.name)),
    ),
    targets: announces,
    probers,
    ...(from && to ? { failover: { from, to } } : {}),
  };
}

/**
 * The pairs (prober, target) of the reachability check: each prober reaches
 * every target in the other racks — or, in a site of one rack, every other
 * target in its own.
 */
export function reachabilityPairs(plan: DctestPlan): { from: MachinePlan; to: MachinePlan }[] {
  const reached = (from: MachinePlan, to: MachinePlan) => (plan.racks === 1 ? to.name !== from.name : to.rack !== from.rack);
  return plan.probers.flatMap((from) => plan.targets.filter((to) => reached(from, to)).map((to) => ({ from, to })));
}

/** The ToR addresses a spine reaches a rack's servers through: the ToR ends of the spine's links to that rack. */
export function spineNexthops(site: SitePlan, spine: string, rack: number): string[] {
  const tors = site.racks[rack]!.tors.map((tor) => tor.name);
  return site.spines
    .find((candidate) => candidate.name === spine)!
    .links.filter((link) => tors.includes(link.tor))
    .map((link) => link.torAddress);
}
