/**
 * Removes everything a DC put on the host: its processes (found by their
 * environment mark, processes.ts), then its namespaces (those in the state and
 * any other `yg-<dc>` / `yg-<dc>.*` left by a crash) — deleting the DC's
 * namespace takes its bridges, veths and taps with it — then the run dir.
 * Safe to run any number of times, and on a DC whose `up` was SIGKILLed.
 */
import { belongsToDc } from '../names.js';
import { readPlan, removeRunDir, type RunPaths } from '../run-dir.js';
import { ipBatch, listNamespaces, nftDeleteTable } from './ip.js';
import { findMarkedProcesses, terminate } from './processes.js';
import type { HostTools } from './tools.js';

export interface TeardownResult {
  processes: number;
  namespaces: number;
}

export async function teardown(
  dc: string,
  paths: RunPaths,
  tools: HostTools,
  options: { graceMs?: number } = {},
): Promise<TeardownResult> {
  const pids = await findMarkedProcesses(paths.runDir);
  await terminate(pids, options.graceMs ?? 3000);
  // Children reparented while we were killing (a QEMU started at the last moment): once more, at once.
  const late = await findMarkedProcesses(paths.runDir);
  await terminate(late, 0);
  // The uplink side's NAT table lives outside the DC (the veth pair goes with the DC's namespace).
  const uplink = await readPlan(paths).then(
    ({ plan }) => plan.uplink,
    () => undefined,
  );
  if (uplink) {
    await nftDeleteTable(tools, uplink.namespace, 'ip', uplink.uplinkTable);
    // Deleting the DC's namespace would take the pair too, but only once the kernel frees it (asynchronously).
    await ipBatch(tools, [`link del ${uplink.uplinkSide}`], {
      ...(uplink.namespace ? { namespace: uplink.namespace } : {}),
      force: true,
    });
  }
  const namespaces = (await listNamespaces()).filter((namespace) => belongsToDc(dc, namespace));
  // Members first, the DC's own namespace (holding the bridges) last.
  const ordered = [...namespaces.filter((name) => name.includes('.')), ...namespaces.filter((name) => !name.includes('.'))];
  await ipBatch(
    tools,
    ordered.map((namespace) => `netns del ${namespace}`),
    { force: true },
  );
  const left = (await listNamespaces()).filter((namespace) => belongsToDc(dc, namespace));
  if (left.length > 0) throw new Error(`could not delete namespaces: ${left.join(', ')}`);
  await removeRunDir(paths);
  return { processes: pids.length + late.length, namespaces: namespaces.length };
}
