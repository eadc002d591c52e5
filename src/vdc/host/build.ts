/**
 * Carries out a build plan (plan.ts) on the host: namespaces in one
 * `ip -batch`, the DC namespace's bridges/veths/taps in another, then each
 * member namespace's addresses, impairments and sysctls (a few in parallel).
 * A running DC that grows (grow.ts) gets the same steps for its additions.
 */
import { mapLimited } from '../../lib/concurrency.js';
import type { BuildPlan } from '../plan.js';
import { ipBatch, nftScript, setSysctls, tcBatch } from './ip.js';
import type { HostTools } from './tools.js';

/** Member namespaces configured at once: each is a short `ip` process, so a few overlap well on a small host. */
const PARALLEL_MEMBERS = 8;

export interface BuildProgress {
  (step: string, done: number, total: number): void;
}

/** Every namespace, then the DC namespace's bridges, veths (peers in their namespaces) and taps. */
export async function buildNamespacesAndLinks(
  plan: BuildPlan,
  tools: HostTools,
  progress: BuildProgress = () => {},
): Promise<void> {
  progress('namespaces', 0, plan.namespaces.length);
  await addNamespaces(plan.namespaces, tools);
  progress('namespaces', plan.namespaces.length, plan.namespaces.length);
  progress('links', 0, 1);
  const dc = plan.namespaces[0]!;
  const uplink = plan.uplink;
  if (uplink) await ipBatch(tools, uplink.uplinkIpCommands, uplink.namespace ? { namespace: uplink.namespace } : {});
  await linkInDcNamespace(dc, [...plan.dcIpCommands, ...(uplink?.dcIpCommands ?? [])], plan.dcTcCommands, tools);
  if (uplink) {
    await setSysctls(tools, dc, uplink.sysctls);
    await nftScript(tools, dc, uplink.dcNft);
    await setSysctls(tools, uplink.namespace, uplink.sysctls);
    await nftScript(tools, uplink.namespace, uplink.uplinkNft);
  }
  progress('links', 1, 1);
}

export async function addNamespaces(namespaces: readonly string[], tools: HostTools): Promise<void> {
  await ipBatch(
    tools,
    namespaces.map((namespace) => `netns add ${namespace}`),
  );
}

/** In the DC's namespace: bridges, veths (peers straight into their namespaces), taps, then netem on taps. */
export async function linkInDcNamespace(
  dcNamespace: string,
  ipCommands: readonly string[],
  tcCommands: readonly string[],
  tools: HostTools,
): Promise<void> {
  await ipBatch(tools, ipCommands, { namespace: dcNamespace });
  await tcBatch(tools, tcCommands, { namespace: dcNamespace });
}

/** Inside each member namespace: loopback, addresses, links up, impairments, sysctls. */
export async function configureMembers(
  plan: Pick<BuildPlan, 'members'>,
  tools: HostTools,
  progress: BuildProgress = () => {},
): Promise<void> {
  const total = plan.members.length;
  let done = 0;
  await mapLimited(plan.members, PARALLEL_MEMBERS, async (member) => {
    await ipBatch(tools, member.ipCommands, { namespace: member.namespace });
    await tcBatch(tools, member.tcCommands, { namespace: member.namespace });
    await setSysctls(tools, member.namespace, member.sysctls);
    progress('addresses', ++done, total);
  });
}
