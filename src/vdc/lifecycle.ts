/**
 * `dc up`, `dc down` and `dc status` on the host: parse, plan, build the
 * namespaces and links, start the supervisor inside the DC's namespace and
 * follow its log until every node and app has started; tear down on failure.
 * The printing is the CLI's (src/cli/dc/); this module reports progress
 * through a callback and throws UserError for what the user must fix.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../lib/errors.js';
import { buildNamespacesAndLinks, configureMembers, type BuildProgress } from './host/build.js';
import { listNamespaces } from './host/ip.js';
import { kernelHasNetem } from './host/netem-relay.js';
import { markedEnvironment } from './host/processes.js';
import { teardown } from './host/teardown.js';
import type { HostTools } from './host/tools.js';
import { belongsToDc, dcNamespace } from './names.js';
import { planBuild, type BuildPlan } from './plan.js';
import {
  createRunDir,
  listRunDirs,
  readPlan,
  readState,
  runPaths,
  updateState,
  writePlan,
  writeState,
  type DcState,
  type RunPaths,
} from './run-dir.js';
import type { Topology } from './spec/index.js';
import { askSupervisor, ControlUnavailable } from './supervisor/control.js';
import { VMS_POWER_VARIABLE } from './supervisor/options.js';
import type { LiveStatus } from './supervisor/supervisor.js';

export interface Roots {
  runRoot: string;
  dataRoot: string;
}

export interface UpOptions extends Roots {
  files: string[];
  dc: string;
  /** How the supervisor is started: the node binary and the arguments before `dc supervise`. */
  entry: string[];
  /** The host programs (YAGURA_IP, YAGURA_TC, YAGURA_NFT, YAGURA_PYTHON), read by the CLI. */
  tools: HostTools;
  /** Where a NATed external network's uplink goes instead of the host's namespace (YAGURA_DC_UPLINK_NETNS). */
  uplinkNamespace?: string;
  progress: (message: string) => void;
  /** Lines the supervisor logs after "ready" while the caller keeps following (foreground). */
  timeoutMs?: number;
  /** Leave the VMs off for their BMCs to power on (the supervisor gets YAGURA_DC_VMS_POWER=off). */
  vmsOff?: boolean;
}

export async function readTopology(files: string[]): Promise<Topology> {
  const sources = await Promise.all(
    files.map(async (path) => {
      try {
        return { path: resolve(path), text: await readFile(path, 'utf8') };
      } catch (error) {
        throw new UserError(
          `cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
        );
      }
    }),
  );
  // The parser (zod, yaml) loads only when a topology is read: `down`, `status`, `exec` start faster.
  const { parseTopology, TopologyError } = await import('./spec/index.js');
  try {
    return parseTopology(sources);
  } catch (error) {
    if (error instanceof TopologyError) throw new UserError(error.message, 1);
    throw error;
  }
}

/** Builds and starts the DC; resolves once every node and app has started (the supervisor keeps running). */
export async function up(options: UpOptions): Promise<{ paths: RunPaths; supervisorPid: number; plan: BuildPlan }> {
  const topology = await readTopology(options.files);
  const paths = runPaths(options.runRoot, options.dc);
  await refuseOrClean(options.dc, paths, options.tools, options.progress);
  const plan = planBuild(options.dc, topology, {
    impairments: (await kernelHasNetem(options.tools)) ? 'tc' : 'relay',
    ...(options.uplinkNamespace ? { uplinkNamespace: options.uplinkNamespace } : {}),
  });
  await createRunDir(paths);
  const state: DcState = {
    version: 1,
    dc: options.dc,
    files: options.files.map((file) => resolve(file)),
    createdAt: new Date().toISOString(),
    phase: 'building',
    dataDir: resolve(options.dataRoot, options.dc),
  };
  // The state goes to disk before anything exists on the host: `down` can always find what `up` made.
  await writeState(paths, state);
  await writePlan(paths, plan, topology);
  const buildProgress: BuildProgress = (step, done, total) => {
    if (step === 'links') {
      if (done === 0) options.progress(`links: ${plan.links.length} interfaces on ${topology.networks.length} networks`);
    } else if (done === 0 || done === total || done % 100 === 0) options.progress(`${step}: ${done}/${total}`);
  };
  let aborted = false;
  const step = <T>(value: T): T => {
    if (aborted) throw new UserError('interrupted', 130);
    return value;
  };
  const start = async (): Promise<number> => {
    step(await buildNamespacesAndLinks(plan, options.tools, buildProgress));
    // The supervisor (a Node process) starts while the members are configured; it waits for phase "starting".
    const supervisorPid = startSupervisor(options.dc, paths, options.entry, options.tools, options.vmsOff === true);
    await updateState(paths, { supervisorPid });
    step(await configureMembers(plan, options.tools, (name, done, total) => step(buildProgress(name, done, total))));
    await updateState(paths, { phase: 'starting', supervisorPid });
    await followUntilReady(paths, supervisorPid, options.progress, options.timeoutMs ?? 15 * 60_000);
    return supervisorPid;
  };
  // Ctrl-C (or SIGTERM) while building: remove what was made rather than leave half a data center.
  let onSignal: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = () => {
      aborted = true;
      reject(new UserError('interrupted', 130));
    };
  });
  process.once('SIGINT', onSignal!).once('SIGTERM', onSignal!);
  try {
    const started = start();
    started.catch(() => {}); // when interrupted, its own failure comes later and says nothing new
    const supervisorPid = await Promise.race([started, interrupted]);
    return { paths, supervisorPid, plan };
  } catch (error) {
    options.progress(
      `${error instanceof UserError && error.exitCode === 130 ? 'interrupted' : 'start failed'}; removing what was created`,
    );
    await teardown(options.dc, paths, options.tools);
    throw error; // a refusal is already a UserError; anything else is a bug and keeps its stack trace
  } finally {
    process.removeListener('SIGINT', onSignal!).removeListener('SIGTERM', onSignal!);
  }
}

/** A DC that is running is refused; leftovers of one that crashed are removed first. */
async function refuseOrClean(dc: string, paths: RunPaths, tools: HostTools, progress: (message: string) => void): Promise<void> {
  const state = await readState(paths);
  if (state && (await supervisorAlive(paths))) {
    throw new UserError(
      `data center "${dc}" is already running (since ${state.createdAt}); \`yagura dc down ${dc}\` first, or pick another name with --name`,
    );
  }
  const leftovers = (await listNamespaces()).filter((namespace) => belongsToDc(dc, namespace));
  if (state || leftovers.length > 0) {
    progress(`removing the leftovers of a previous run of "${dc}" that did not stop cleanly`);
    await teardown(dc, paths, tools);
  }
}

function startSupervisor(dc: string, paths: RunPaths, entry: string[], tools: HostTools, vmsOff: boolean): number {
  const log = openSync(paths.supervisorLog, 'a');
  try {
    const child = spawn(tools.ip, ['netns', 'exec', dcNamespace(dc), ...entry, 'dc', 'supervise', paths.runDir], {
      detached: true,
      stdio: ['ignore', log, log],
      env: markedEnvironment(paths.runDir, vmsOff ? { ...process.env, [VMS_POWER_VARIABLE]: 'off' } : process.env),
    });
    child.unref();
    if (child.pid === undefined) throw new UserError(`could not start the supervisor (${tools.ip} netns exec failed)`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

interface LogLine {
  level?: number;
  msg?: string;
  event?: string;
  error?: string;
}

/** Follows the supervisor's log from the start: progress lines out, until "ready" (or "failed", or its death). */
async function followUntilReady(
  paths: RunPaths,
  pid: number,
  progress: (message: string) => void,
  timeoutMs: number,
): Promise<void> {
  let offset = 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(paths.supervisorLog, 'utf8');
    const complete = text.lastIndexOf('\n') + 1;
    for (const raw of text.slice(offset, complete).split('\n')) {
      if (raw === '') continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        progress(raw); // not ours: e.g. a crash trace of the runtime
        continue;
      }
      if (line.event === 'ready') return;
      if (line.event === 'failed') throw new UserError(line.error ?? 'the supervisor failed to start the DC');
      if (line.event === 'progress' || (line.level ?? 0) >= 40) progress(line.msg ?? raw);
    }
    offset = complete;
    if (!processAlive(pid)) throw new UserError(`the supervisor exited before the DC was ready; see ${paths.supervisorLog}`);
    if (Date.now() > deadline)
      throw new UserError(`the DC was not ready within ${timeoutMs / 1000} s; see ${paths.supervisorLog}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface DownResult {
  existed: boolean;
  processes: number;
  namespaces: number;
  purged?: string;
}

/** Stops the DC and removes every trace on the host (the data dir too with purge). Idempotent. */
export async function down(
  dc: string,
  roots: Roots & { tools: HostTools; purge?: boolean; graceMs?: number },
): Promise<DownResult> {
  const paths = runPaths(roots.runRoot, dc);
  const state = await readState(paths).catch(() => undefined);
  const leftovers = (await listNamespaces()).filter((namespace) => belongsToDc(dc, namespace));
  const runDirExists = await stat(paths.runDir).then(
    () => true,
    () => false,
  );
  if (!state && leftovers.length === 0 && !runDirExists) {
    const purged = roots.purge ? await purge(resolve(roots.dataRoot, dc)) : undefined;
    return { existed: false, processes: 0, namespaces: 0, ...(purged ? { purged } : {}) };
  }
  await updateState(paths, { phase: 'stopping' }).catch(() => {});
  try {
    await askSupervisor(paths.control, { op: 'stop' }, 10_000);
  } catch {
    // Not running (crashed or never started): teardown kills whatever is left.
  }
  const result = await teardown(dc, paths, roots.tools, { graceMs: roots.graceMs ?? 5000 });
  const purged = roots.purge ? await purge(state?.dataDir ?? resolve(roots.dataRoot, dc)) : undefined;
  return { existed: true, ...result, ...(purged ? { purged } : {}) };
}

async function purge(dataDir: string): Promise<string> {
  await rm(dataDir, { recursive: true, force: true });
  return dataDir;
}

export interface DcStatus {
  dc: string;
  phase: DcState['phase'];
  createdAt: string;
  files: string[];
  supervisor: { pid?: number; running: boolean };
  plan: BuildPlan;
  topology: Topology;
  live?: LiveStatus;
}

export async function status(dc: string, roots: Roots): Promise<DcStatus | undefined> {
  const paths = runPaths(roots.runRoot, dc);
  const state = await readState(paths);
  if (!state) return undefined;
  const { plan, topology } = await readPlan(paths);
  let live: LiveStatus | undefined;
  try {
    live = await askSupervisor<LiveStatus>(paths.control, { op: 'status' }, 10_000);
  } catch (error) {
    if (!(error instanceof ControlUnavailable)) throw error;
  }
  return {
    dc,
    phase: state.phase,
    createdAt: state.createdAt,
    files: state.files,
    supervisor: { ...(state.supervisorPid ? { pid: state.supervisorPid } : {}), running: live !== undefined },
    plan,
    topology,
    ...(live ? { live } : {}),
  };
}

/** Names of the DCs with a run dir (running, or crashed and not yet taken down). */
export function listDcs(roots: Roots): Promise<string[]> {
  return listRunDirs(roots.runRoot);
}

/** The DC a command acts on: the one named, else the only one running. */
export async function pickDc(name: string | undefined, roots: Roots): Promise<string> {
  if (name) return name;
  const running = await listDcs(roots);
  if (running.length === 1) return running[0]!;
  if (running.length === 0) throw new UserError('no data center is running (start one with `yagura dc up FILE`)');
  throw new UserError(`several data centers are running (${running.join(', ')}): say which with --dc NAME`, 2);
}

async function supervisorAlive(paths: RunPaths): Promise<boolean> {
  try {
    await askSupervisor(paths.control, { op: 'status' }, 5000);
    return true;
  } catch {
    return false;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
