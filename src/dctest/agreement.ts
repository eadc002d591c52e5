/**
 * Do the DHCP leases, the inventory and the data center agree? Three views
 * of the same site, read independently: the inventory must hold exactly the
 * site's machines at the plan's racks, indices and addresses; every lease must
 * be from a rack's lease range and held by a NIC of one of the DC's servers,
 * and every server that netbooted or joined must have one; and the ToRs must
 * route each server's node0 (the inventory's) to that server's own uplink
 * address. Pure: the caller reads the three views.
 */
import type { LeaseListEntry } from '../boot/dhcp/lease-view.js';
import type { MachinePlan, SitePlan } from '../fabric/index.js';
import { leaseRange } from '../inventory/ipam.js';
import type { Machine } from '../inventory/model.js';
import { formatIPv4, parseIPv4 } from '../lib/ipv4.js';
import type { Route } from './readings.js';

export interface DcView {
  /** The MAC addresses of each server that netbooted or joined, by machine name. */
  macs: Map<string, string[]>;
  /** Each ToR's BIRD routes (`ip route show proto bird`), by ToR name, then destination. */
  torRoutes: Map<string, Map<string, Route>>;
}

export interface Agreement {
  problems: string[];
  /** What was compared, for the report: "6 machines, 5 leases, 12 ToR routes". */
  summary: string;
}

export function checkAgreement(
  site: SitePlan,
  booted: readonly MachinePlan[],
  inventory: readonly Machine[],
  leases: readonly LeaseListEntry[],
  dc: DcView,
): Agreement {
  const problems: string[] = [];
  const bySerial = new Map(inventory.map((machine) => [machine.spec.serial, machine]));
  for (const planned of site.machines) {
    const machine = bySerial.get(planned.serial);
    if (!machine) {
      problems.push(`${planned.name} (${planned.serial}) is not in the inventory`);
      continue;
    }
    const { spec } = machine;
    const expected = `rack ${planned.rack} index ${planned.index} ${planned.node0}`;
    const found = `rack ${spec.rack} index ${spec['index-in-rack']} ${spec.ipv4[0] ?? '-'}`;
    if (expected !== found) problems.push(`${planned.name}: the inventory has ${found}, the site plan ${expected}`);
  }
  const planned = new Set(site.machines.map((machine) => machine.serial));
  for (const machine of inventory)
    if (!planned.has(machine.spec.serial)) problems.push(`the inventory has ${machine.spec.serial}, which is not in the site`);

  const owner = new Map<string, string>();
  for (const [name, macs] of dc.macs) for (const mac of macs) owner.set(mac.toLowerCase(), name);
  const leased = new Set<string>();
  let counted = 0;
  for (const lease of leases) {
    if (lease.state === 'corrupt') {
      problems.push(`a corrupt lease key in the store: ${lease.key} (${lease.error})`);
      continue;
    }
    if (lease.state === 'declined') continue;
    counted++;
    const address = parseIPv4(lease.address)!;
    const range = leaseRange(site.ipam, address);
    if (address < range.first || address > range.last)
      problems.push(
        `lease ${lease.address} is outside its rack's lease range ${formatIPv4(range.first)}–${formatIPv4(range.last)}`,
      );
    const name = owner.get(lease.mac.toLowerCase());
    if (name === undefined) problems.push(`lease ${lease.address} is held by ${lease.mac}, no NIC of the DC's servers`);
    else leased.add(name);
  }
  for (const machine of booted)
    if (!leased.has(machine.name)) problems.push(`${machine.name} booted but none of its NICs has a lease`);

  let routes = 0;
  for (const rack of site.racks) {
    for (const tor of rack.tors) {
      const table = dc.torRoutes.get(tor.name) ?? new Map<string, Route>();
      for (const machine of booted.filter((candidate) => candidate.rack === rack.rack)) {
        const node0 = bySerial.get(machine.serial)?.spec.ipv4[0] ?? machine.node0;
        const uplink = tor.side === 1 ? machine.node1 : machine.node2;
        const route = table.get(node0);
        routes++;
        if (!route) problems.push(`${tor.name} has no route to ${machine.name}'s node0 ${node0}`);
        else if (!route.nexthops.some((hop) => hop.via === uplink))
          problems.push(
            `${tor.name} routes ${machine.name}'s node0 ${node0} via ${route.nexthops.map((hop) => hop.via).join(', ') || 'nothing'}, not its uplink ${uplink}`,
          );
      }
    }
  }
  return {
    problems,
    summary: `${inventory.length} machines, ${counted} leases, ${routes} ToR routes`,
  };
}
