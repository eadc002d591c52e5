/**
 * The fabric room: a rack-standard site spec becomes one plan, and the plan
 * becomes every file a site needs — the virtual DC's topology, the IPAM
 * config, the machines to register, a BIRD config per router and netns boot
 * server, an Ignition template per role of servers — so they
 * cannot disagree. Pure: the CLI writes the files.
 * Rendering is deterministic: the same spec gives byte-identical files.
 */
import { birdConfigs } from './bird.js';
import { ignitionTemplatePath, ignitionTemplates } from './ignition.js';
import { machinesFile, planSite, type SitePlan } from './plan.js';
import { bootSerfConfig, bootSerfConfigPath } from './serf.js';
import type { SiteSpec } from './spec.js';
import { birdConfigPath, initScriptPath, node0Script, renderTopology } from './topology.js';

export { parseSiteSpec, SiteSpecError, DCTEST_IPAM, type SiteSpec } from './spec.js';
export { planSite, serialOf, LABELS, type SitePlan, type MachinePlan } from './plan.js';
export { renderTopology, routerAdvertisementArgs } from './topology.js';
export { birdConfigs, serverConfig } from './bird.js';
export { ignitionTemplates, ignitionTemplatePath, type IgnitionTemplate } from './ignition.js';
export { SERF_CONFIG, SERF_RPC_ADDRESS, SERF_PORT } from './serf.js';

export interface GeneratedFile {
  /** Relative to the output directory. */
  path: string;
  content: string;
  /** 0o755 for scripts the data center runs; 0o644 otherwise. */
  mode: number;
}

export interface GeneratedSite {
  plan: SitePlan;
  files: GeneratedFile[];
}

/** Every file of the site, sorted by path. */
export function generateSite(spec: SiteSpec): GeneratedSite {
  const plan = planSite(spec);
  const file = (path: string, content: string, mode = 0o644): GeneratedFile => ({ path, content, mode });
  const files = [
    file('dc.yml', renderTopology(plan)),
    file('ipam.json', json(plan.ipam)),
    file('machines.json', json(machinesFile(plan))),
    ...birdConfigs(plan).map((config) => file(birdConfigPath(config.node), config.text)),
    ...ignitionTemplates(plan).map(({ role, template }) => file(ignitionTemplatePath(role), json(template))),
    ...plan.machines
      .filter((machine) => machine.kind === 'netns' && machine.boot)
      .map((machine) => file(initScriptPath(machine.name), node0Script(machine), 0o755)),
    ...plan.machines
      .filter((machine) => machine.kind === 'netns' && machine.boot)
      .map((machine) => file(bootSerfConfigPath(machine.name), json(bootSerfConfig(plan, machine)))),
  ];
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { plan, files };
}

/** What `dc generate` prints: the racks, their ASNs and ToRs, and every server's addresses. */
export function summarize(plan: SitePlan): string {
  const lines = [
    `site ${plan.name}: ${plan.racks.length} racks, ${plan.spines.length} spines (AS ${plan.spineAsn}), ${plan.machines.length} servers`,
    `node pool ${plan.ipam['node-ipv4-pool']}, BMC pool ${plan.ipam['bmc-ipv4-pool']}`,
  ];
  for (const rack of plan.racks) {
    const [tor1, tor2] = rack.tors;
    lines.push(
      '',
      `rack ${rack.rack} (AS ${rack.asn}): ${tor1.name} ${tor1.address} on ${tor1.prefix}, ${tor2.name} ${tor2.address} on ${tor2.prefix}`,
    );
    const width = Math.max(...rack.machines.map((machine) => machine.name.length), 4);
    for (const machine of rack.machines)
      lines.push(
        `  ${machine.name.padEnd(width)}  ${machine.kind.padEnd(5)}  idx ${String(machine.index).padStart(2)}  node0 ${machine.node0.padEnd(15)}  node1 ${machine.node1.padEnd(15)}  node2 ${machine.node2.padEnd(15)}  bmc ${machine.bmc}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
