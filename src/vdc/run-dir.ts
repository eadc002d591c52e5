/**
 * A running DC's directory (default /run/yagura/dc/<dc>): its state, the
 * normalized topology and build plan, the supervisor's control socket and log,
 * app logs and VM sockets. The state file is written before anything is
 * created and updated atomically, so `dc down` knows what to remove even after
 * `up` was SIGKILLed half-way.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildPlan } from './plan.js';
import type { Topology } from './spec/index.js';

/** Defaults of `dc --run-root` and `--data-root` (whose environment variables, YAGURA_DC_RUN_ROOT and YAGURA_DC_DATA_ROOT, the CLI reads). */
export const DEFAULT_RUN_ROOT = '/run/yagura/dc';
export const DEFAULT_DATA_ROOT = '/var/lib/yagura/dc';

export type Phase = 'building' | 'starting' | 'running' | 'stopping' | 'failed';

export interface DcState {
  version: 1;
  dc: string;
  /** Topology files as given to `up` (absolute). */
  files: string[];
  createdAt: string;
  phase: Phase;
  /** Persistent files (volumes, NVRAM, image cache): kept by `down` unless --purge. */
  dataDir: string;
  supervisorPid?: number;
  /** Why the DC failed to start, when phase is 'failed'. */
  failure?: string;
}

export interface RunPaths {
  runDir: string;
  state: string;
  topology: string;
  plan: string;
  control: string;
  supervisorLog: string;
  logs: string;
  vms: string;
  bmc: string;
}

export function runPaths(runRoot: string, dc: string): RunPaths {
  const runDir = join(runRoot, dc);
  return {
    runDir,
    state: join(runDir, 'state.json'),
    topology: join(runDir, 'topology.json'),
    plan: join(runDir, 'plan.json'),
    control: join(runDir, 'control.sock'),
    supervisorLog: join(runDir, 'supervisor.log'),
    logs: join(runDir, 'logs'),
    vms: join(runDir, 'vm'),
    bmc: join(runDir, 'bmc'),
  };
}

export async function createRunDir(paths: RunPaths): Promise<void> {
  await mkdir(paths.runDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.logs, { recursive: true });
  await mkdir(paths.vms, { recursive: true });
  await mkdir(paths.bmc, { recursive: true });
}

export async function readState(paths: RunPaths): Promise<DcState | undefined> {
  try {
    return JSON.parse(await readFile(paths.state, 'utf8')) as DcState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${paths.state}: ${(error as Error).message}`, { cause: error });
  }
}

export async function writeState(paths: RunPaths, state: DcState): Promise<void> {
  await writeFileAtomic(paths.state, JSON.stringify(state, null, 2) + '\n');
}

export async function updateState(paths: RunPaths, change: Partial<DcState>): Promise<DcState> {
  const state = await readState(paths);
  if (!state) throw new Error(`no state in ${paths.runDir}`);
  const next = { ...state, ...change };
  await writeState(paths, next);
  return next;
}

/** The build plan as JSON (its Map of taps as an object). */
export async function writePlan(paths: RunPaths, plan: BuildPlan, topology: Topology): Promise<void> {
  await writeFileAtomic(paths.topology, JSON.stringify(topology));
  await writeFileAtomic(paths.plan, JSON.stringify({ ...plan, taps: Object.fromEntries(plan.taps) }));
}

export async function readPlan(paths: RunPaths): Promise<{ plan: BuildPlan; topology: Topology }> {
  const raw = JSON.parse(await readFile(paths.plan, 'utf8')) as BuildPlan & { taps: Record<string, string[]> };
  const topology = JSON.parse(await readFile(paths.topology, 'utf8')) as Topology;
  return { plan: { ...raw, taps: new Map(Object.entries(raw.taps)) }, topology };
}

/** Names of the DCs that have a run dir under the root. */
export async function listRunDirs(runRoot: string): Promise<string[]> {
  try {
    const entries = await readdir(runRoot, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function removeRunDir(paths: RunPaths): Promise<void> {
  await rm(paths.runDir, { recursive: true, force: true });
}

/** Write to a temp name, fsync, rename: readers see the old or the new file, never half of one. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
