/** `dc netem` at runtime: find where an interface's impairment lives (plan.ts) and change it with tc. */
import { UserError } from '../lib/errors.js';
import { tcBatch } from './host/ip.js';
import type { HostTools } from './host/tools.js';
import type { Roots } from './lifecycle.js';
import { netemChange, netemTarget } from './plan.js';
import { readPlan, runPaths } from './run-dir.js';
import type { Netem } from './spec/index.js';
import { askSupervisor } from './supervisor/control.js';

/** Applies or clears the impairment; returns "device in namespace" for the user. */
export async function changeNetem(
  dc: string,
  roots: Roots,
  member: string,
  iface: string,
  netem: Netem | 'clear',
  tools: HostTools,
): Promise<string> {
  const { plan } = await readPlan(runPaths(roots.runRoot, dc)).catch(() => {
    throw new UserError(`no data center named "${dc}" is running`);
  });
  const target = netemTarget(plan, member, iface);
  if (!target) {
    const known = plan.links.filter((link) => link.member === member).map((link) => link.interfaceName);
    throw new UserError(
      known.length === 0
        ? `no node "${member}" with interfaces in data center "${dc}"`
        : `${member} has no interface ${iface} (it has ${known.join(', ')})`,
    );
  }
  if (plan.impairments === 'relay') {
    await askSupervisor(runPaths(roots.runRoot, dc).control, { op: 'netem', link: target.link, bridge: target.bridge, netem });
    return `${target.link} through the impairment relay (this kernel has no sch_netem)`;
  }
  const command = netemChange(target.device, netem)!;
  try {
    await tcBatch(tools, [command], { namespace: target.namespace });
  } catch (error) {
    // Clearing an interface that has no impairment is not a failure.
    if (!(netem === 'clear' && /No such file|Cannot delete qdisc with handle of zero/i.test((error as Error).message)))
      throw error;
  }
  return `${target.device} in ${target.namespace}`;
}
