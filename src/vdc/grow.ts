/**
 * `dc apply` on the host: read the topology files again, decide what a
 * running DC gains (growth-plan.ts), build the new namespaces, bridges, links
 * and addresses (host/build.ts, as `up` does), store the grown plan in the run
 * dir, then ask the supervisor to start the new nodes' apps and VMs. Nothing
 * that runs is stopped, renamed or reconfigured. A refusal changes nothing; a
 * build that fails half-way removes what it added.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../lib/errors.js';
import { count } from '../lib/plural.js';
import { addNamespaces, configureMembers, linkInDcNamespace } from './host/build.js';
import { ipBatch } from './host/ip.js';
import type { HostTools } from './host/tools.js';
import { planGrowth, refusalMessage, type GrowthPlan } from './growth-plan.js';
import { readTopology, type Roots } from './lifecycle.js';
import { dcNamespace } from './names.js';
import { readPlan, readState, runPaths, updateState, writePlan, type RunPaths } from './run-dir.js';
import { askSupervisor, ControlUnavailable } from './supervisor/control.js';
import type { Grown } from './supervisor/supervisor.js';

export interface ApplyOptions extends Roots {
  files: string[];
  dc: string;
  tools: HostTools;
  progress: (message: string) => void;
  /** How long the supervisor may take to start the additions (VMs boot slowly under TCG). */
  timeoutMs?: number;
}

export interface ApplyResult {
  growth: GrowthPlan;
  /** What the supervisor started (absent when there was nothing to do). */
  started?: Grown;
}

export async function apply(options: ApplyOptions): Promise<ApplyResult> {
  const wanted = await readTopology(options.files);
  const paths = runPaths(options.runRoot, options.dc);
  await requireRunning(options.dc, paths);
  const running = await readPlan(paths);
  const decision = planGrowth(running, wanted);
  if ('refused' in decision) throw new UserError(refusalMessage(options.dc, decision.refused), 1);
  const growth = decision.growth;
  if (growth.nothingToDo) return { growth };

  const work = growth.work;
  options.progress(
    `adding ${count(growth.networks.length, 'network')}, ${count(growth.members.length, 'namespace')}, ${count(growth.links.length, 'interface')}, ${count(growth.vms.length, 'VM')}`,
  );
  try {
    await addNamespaces(work.namespaces, options.tools);
    await linkInDcNamespace(dcNamespace(options.dc), work.dcIpCommands, work.dcTcCommands, options.tools);
    await configureMembers(work, options.tools);
  } catch (error) {
    options.progress('adding failed; removing what was added');
    await removeAdditions(options.dc, growth, options.tools);
    throw error;
  }
  // Each file is replaced atomically; the supervisor reads them only when asked to grow, after both.
  await writePlan(paths, growth.plan, growth.topology);
  await updateState(paths, { files: options.files.map((file) => resolve(file)) });
  options.progress('links and addresses are up; starting the new apps and VMs');
  const request = askSupervisor<Grown>(paths.control, { op: 'grow' }, options.timeoutMs ?? 15 * 60_000).catch((error: Error) => {
    // The additions stay (the stored plan has them): what did start runs, and status shows what did not.
    throw new UserError(
      `the new namespaces and links are up, but starting their apps or VMs failed: ${error.message} (\`yagura dc status ${options.dc}\`)`,
    );
  });
  return { growth, started: await followWhile(paths, request, options.progress) };
}

async function requireRunning(dc: string, paths: RunPaths): Promise<void> {
  const state = await readState(paths);
  const notRunning = `data center "${dc}" is not running: \`yagura dc up FILE… --name ${dc}\` to start it`;
  if (!state) throw new UserError(notRunning);
  if (state.phase !== 'running')
    throw new UserError(`data center "${dc}" is ${state.phase}, not running: apply once \`yagura dc status ${dc}\` says running`);
  try {
    await askSupervisor(paths.control, { op: 'status' }, 10_000);
  } catch (error) {
    if (error instanceof ControlUnavailable)
      throw new UserError(`${notRunning} (its supervisor is gone; \`yagura dc down ${dc}\` cleans up)`);
    throw error;
  }
}

/** Undo a half-done build: the new namespaces (with their veth ends), new links of existing members, new bridges. */
async function removeAdditions(dc: string, growth: GrowthPlan, tools: HostTools): Promise<void> {
  await ipBatch(
    tools,
    growth.work.namespaces.map((namespace) => `netns del ${namespace}`),
    { force: true },
  );
  await ipBatch(
    tools,
    [
      ...growth.links.map((link) => `link del dev ${link.hostSide}`),
      ...growth.networks.map((network) => `link del dev ${network}`),
    ],
    { namespace: dcNamespace(dc), force: true },
  );
}

/** Passes on the supervisor's progress lines while `request` is pending. */
async function followWhile<T>(paths: RunPaths, request: Promise<T>, progress: (message: string) => void): Promise<T> {
  let offset = await stat(paths.supervisorLog).then(
    (info) => info.size,
    () => 0,
  );
  let done = false;
  const settled = request.finally(() => (done = true));
  settled.catch(() => {});
  for (;;) {
    const text = await readFile(paths.supervisorLog).catch(() => Buffer.alloc(0));
    const complete = text.lastIndexOf(10) + 1;
    if (complete > offset) {
      for (const raw of text.subarray(offset, complete).toString('utf8').split('\n')) {
        const line = parseLine(raw);
        if (line?.event === 'progress' || (line?.level ?? 0) >= 40) progress(line?.msg ?? raw);
      }
      offset = complete;
    }
    if (done) return settled;
    await Promise.race([settled.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 100))]);
  }
}

function parseLine(raw: string): { level?: number; msg?: string; event?: string } | undefined {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as { level?: number; msg?: string; event?: string };
  } catch {
    return { msg: raw, level: 40 };
  }
}
