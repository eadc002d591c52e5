/**
 * Decide, then act, for `dc apply`: what a running DC gains from its topology
 * files read again. Only additions are applied live — new networks, routers,
 * netns nodes, VMs, images and device classes; new interfaces (links) at the
 * end of an existing router's or netns node's list; new apps on one — because
 * anything else would mean stopping what runs. A change to or the removal of
 * something that exists is refused, naming it. An app whose command changed is
 * the one exception: it is left running as it is (listed in `unchangedApps`),
 * because a generated site re-renders such commands for every new rack (a
 * ToR's DHCP relay gains the new boot server) and the running one is still
 * right for what it serves.
 *
 * Pure: grow.ts builds the host objects of `work` and asks the supervisor to
 * start the rest.
 */
import { planBuild, type BuildPlan, type LinkEnd, type NamespaceSetup, type RelayedLink } from './plan.js';
import type { App, NetnsNode, NetworkNamespace, Node, Topology } from './spec/index.js';

/** What a running DC is made of: the plan and topology in its run dir. */
export interface RunningDc {
  plan: BuildPlan;
  topology: Topology;
}

export interface MemberApp {
  member: string;
  app: string;
}

/** The host objects to create for the additions only, in build order. */
export interface GrowthWork {
  /** New member namespaces (the DC's own exists). */
  namespaces: string[];
  /** `ip -n yg-<dc>` lines: new bridges, veths, taps, BMC addresses. */
  dcIpCommands: string[];
  dcTcCommands: string[];
  /** New members in full; existing members with new interfaces: those interfaces' lines only. */
  members: NamespaceSetup[];
  /** New links the relay impairs (relay mode). */
  relayed: RelayedLink[];
}

export interface GrowthPlan {
  /** The grown DC's whole plan and topology, to store in its run dir. */
  plan: BuildPlan;
  topology: Topology;
  networks: string[];
  /** New routers and netns nodes (each a new namespace). */
  members: string[];
  vms: string[];
  images: string[];
  deviceClasses: string[];
  /** New interfaces, of new and of existing members. */
  links: LinkEnd[];
  /** Apps to start: every app of a new member, and new apps of existing ones. */
  apps: MemberApp[];
  /** Running apps whose command differs in the files: not restarted, they keep their command. */
  unchangedApps: MemberApp[];
  work: GrowthWork;
  nothingToDo: boolean;
}

export type GrowthDecision = { refused: string[] } | { growth: GrowthPlan };

/** The additions from `running` to `wanted`, or what would change or disappear (one line each). */
export function planGrowth(running: RunningDc, wanted: Topology): GrowthDecision {
  const before = running.topology;
  const problems: string[] = [];
  const networks = compareNamed('network', before.networks, wanted.networks, problems);
  const images = compareNamed('image', before.images, wanted.images, problems);
  const deviceClasses = compareNamed('device class', before.deviceClasses, wanted.deviceClasses, problems);

  const wantedByName = new Map<string, NetworkNamespace | Node>(
    [...wanted.networkNamespaces, ...wanted.nodes].map((member) => [member.name, member]),
  );
  const beforeMembers = [...before.networkNamespaces, ...before.nodes];
  const beforeNames = new Set(beforeMembers.map((member) => member.name));
  const apps: MemberApp[] = [];
  const unchangedApps: MemberApp[] = [];
  /** Existing members' apps as they run (a changed command is kept). */
  const keptApps = new Map<string, App[]>();
  for (const old of beforeMembers) {
    const now = wantedByName.get(old.name);
    if (!now) {
      problems.push(`${describe(old)} ${old.name} removed`);
      continue;
    }
    if (describe(now) !== describe(old)) {
      problems.push(`${describe(old)} ${old.name} became a ${describe(now)}`);
      continue;
    }
    if (old.kind === 'Node' && old.type === 'vm') {
      const changed = changedFields(old, now);
      if (changed.length > 0) problems.push(`VM ${old.name} changed (${changed.join(', ')})`);
      continue;
    }
    const member = compareNamespaced(old, now as NetworkNamespace | NetnsNode, problems);
    apps.push(...member.newApps.map((app) => ({ member: old.name, app })));
    unchangedApps.push(...member.unchangedApps.map((app) => ({ member: old.name, app })));
    keptApps.set(old.name, member.apps);
  }
  const newMembers = [...wanted.networkNamespaces, ...wanted.nodes].filter((member) => !beforeNames.has(member.name));
  for (const member of newMembers)
    if (member.kind === 'NetworkNamespace' || member.type === 'netns')
      apps.push(...member.apps.map((app) => ({ member: member.name, app: app.name })));

  const topology = withApps(wanted, keptApps);
  const plan = planBuild(running.plan.dc, topology, {
    impairments: running.plan.impairments,
    ...(running.plan.uplink?.namespace ? { uplinkNamespace: running.plan.uplink.namespace } : {}),
    previous: running.plan.links,
  });
  if (canonical(plan.uplink) !== canonical(running.plan.uplink))
    problems.push('the NAT uplink (external networks with use-nat) changed');
  if (problems.length > 0) return { refused: problems };

  const work = growthWork(running.plan, plan);
  const known = new Set(running.plan.links.map((link) => link.hostSide));
  const links = plan.links.filter((link) => !known.has(link.hostSide));
  const growth: GrowthPlan = {
    plan,
    topology,
    networks,
    members: newMembers.filter((member) => member.kind === 'NetworkNamespace' || member.type === 'netns').map((m) => m.name),
    vms: newMembers.filter((member) => member.kind === 'Node' && member.type === 'vm').map((m) => m.name),
    images,
    deviceClasses,
    links,
    apps,
    unchangedApps,
    work,
    nothingToDo: false,
  };
  growth.nothingToDo = [networks, growth.members, growth.vms, images, deviceClasses, links, apps].every(
    (list) => list.length === 0,
  );
  return { growth };
}

/** The one-line refusal `dc apply` prints. */
export function refusalMessage(dc: string, problems: readonly string[]): string {
  return `data center "${dc}" was not changed: only additions are applied to a running data center, and these files change what runs: ${problems.join('; ')} (\`yagura dc down ${dc}\` and \`up\` to rebuild it)`;
}

/** Names added; a removed or changed one is a problem. */
function compareNamed<T extends { name: string }>(
  what: string,
  before: readonly T[],
  wanted: readonly T[],
  problems: string[],
): string[] {
  const wantedByName = new Map(wanted.map((item) => [item.name, item]));
  const beforeNames = new Set(before.map((item) => item.name));
  for (const old of before) {
    const now = wantedByName.get(old.name);
    if (!now) problems.push(`${what} ${old.name} removed`);
    else {
      const changed = changedFields(old, now);
      if (changed.length > 0) problems.push(`${what} ${old.name} changed (${changed.join(', ')})`);
    }
  }
  return wanted.filter((item) => !beforeNames.has(item.name)).map((item) => item.name);
}

interface MemberComparison {
  newApps: string[];
  unchangedApps: string[];
  /** The member's apps as they will be stored: the running ones as they run, then the new ones. */
  apps: App[];
}

/** A router or netns node may gain interfaces at the end and apps; nothing it has may change or go. */
function compareNamespaced(
  old: NetworkNamespace | NetnsNode,
  now: NetworkNamespace | NetnsNode,
  problems: string[],
): MemberComparison {
  const name = `${describe(old)} ${old.name}`;
  if (now.interfaces.length < old.interfaces.length)
    problems.push(`${name} lost interfaces (${old.interfaces.length} → ${now.interfaces.length})`);
  const changedInterfaces = old.interfaces
    .filter((iface, i) => now.interfaces[i] !== undefined && canonical(iface) !== canonical(now.interfaces[i]))
    .map((iface) => `eth${iface.index}`);
  if (changedInterfaces.length > 0) problems.push(`${name} changed ${changedInterfaces.join(', ')}`);
  if (canonical(old.initScripts) !== canonical(now.initScripts)) problems.push(`${name} changed its init-scripts`);
  const nowApps = new Map(now.apps.map((app) => [app.name, app]));
  const removed = old.apps.filter((app) => !nowApps.has(app.name)).map((app) => app.name);
  if (removed.length > 0) problems.push(`${name} lost apps ${removed.join(', ')}`);
  const oldNames = new Set(old.apps.map((app) => app.name));
  const unchangedApps = old.apps
    .filter((app) => nowApps.has(app.name) && canonical(app.command) !== canonical(nowApps.get(app.name)!.command))
    .map((app) => app.name);
  const newApps = now.apps.filter((app) => !oldNames.has(app.name));
  return { newApps: newApps.map((app) => app.name), unchangedApps, apps: [...old.apps, ...newApps] };
}

/** The wanted topology with existing members' apps as they run. */
function withApps(wanted: Topology, kept: ReadonlyMap<string, App[]>): Topology {
  const keep = <T extends { name: string; apps?: App[] }>(member: T): T => {
    const apps = kept.get(member.name);
    return apps && member.apps ? { ...member, apps } : member;
  };
  return {
    ...wanted,
    networkNamespaces: wanted.networkNamespaces.map(keep),
    nodes: wanted.nodes.map((node) => (node.type === 'netns' ? keep(node) : node)),
  };
}

/**
 * The lines of the additions only. Names are stable (planBuild's `previous`)
 * and nothing that exists has changed (checked before), so a line that was in
 * the running plan describes an object that exists, and every other line is new.
 */
function growthWork(before: BuildPlan, after: BuildPlan): GrowthWork {
  const minus = (lines: readonly string[], old: readonly string[]): string[] => {
    const seen = new Set(old);
    return lines.filter((line) => !seen.has(line));
  };
  const oldMembers = new Map(before.members.map((member) => [member.member, member]));
  const members: NamespaceSetup[] = [];
  for (const setup of after.members) {
    const old = oldMembers.get(setup.member);
    if (!old) members.push(setup);
    else {
      const ipCommands = minus(setup.ipCommands, old.ipCommands);
      const tcCommands = minus(setup.tcCommands, old.tcCommands);
      if (ipCommands.length + tcCommands.length > 0) members.push({ ...setup, ipCommands, tcCommands, sysctls: [] });
    }
  }
  const relayedBefore = new Set(before.relayed.map((link) => link.link));
  return {
    namespaces: minus(after.namespaces, before.namespaces),
    dcIpCommands: minus(after.dcIpCommands, before.dcIpCommands),
    dcTcCommands: minus(after.dcTcCommands, before.dcTcCommands),
    members,
    relayed: after.relayed.filter((link) => !relayedBefore.has(link.link)),
  };
}

function describe(member: NetworkNamespace | Node): string {
  return member.kind === 'NetworkNamespace' ? 'router' : member.type === 'vm' ? 'VM' : 'node';
}

/** Top-level fields that differ, origins aside. */
function changedFields(before: object, after: object): string[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete('origin');
  return [...keys].filter((key) => canonical(a[key]) !== canonical(b[key])).sort();
}

/** JSON with sorted keys and no undefined fields: a parsed topology and one read back from the run dir compare equal. */
function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_, item: unknown) =>
      item && typeof item === 'object' && !Array.isArray(item)
        ? Object.fromEntries(Object.entries(item).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
        : item,
    ) ?? 'undefined'
  );
}
