/**
 * Every process a DC starts (the supervisor, QEMU, BMC-less apps, init
 * scripts) carries YAGURA_DC_RUN_DIR=<run dir> in its environment, inherited
 * by whatever it forks. `dc down` finds them all by that mark in
 * /proc/<pid>/environ, so nothing survives even when the supervisor was
 * SIGKILLed and its pid files are stale — and no other process is touched.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

export const RUN_DIR_MARK = 'YAGURA_DC_RUN_DIR';

/** The environment for a process that belongs to the DC. */
export function markedEnvironment(runDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, [RUN_DIR_MARK]: runDir };
}

/** PIDs of live processes marked with this run dir (never our own). */
export async function findMarkedProcesses(runDir: string): Promise<number[]> {
  const mark = Buffer.from(`\0${RUN_DIR_MARK}=${runDir}\0`);
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${pid}/environ`);
      if (Buffer.concat([Buffer.from([0]), environ, Buffer.from([0])]).includes(mark)) found.push(pid);
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

/** SIGTERM, then SIGKILL what is still there after graceMs; resolves when all are gone (or 5 s after SIGKILL). */
export async function terminate(pids: readonly number[], graceMs: number): Promise<void> {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return !isZombie(pid);
    } catch {
      return false;
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(10);
  const left = pids.filter(alive);
  for (const pid of left) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (left.some(alive) && Date.now() < killDeadline) await sleep(10);
}

/** A zombie has exited and only waits for its parent to reap it. */
function isZombie(pid: number): boolean {
  try {
    // The state is the field after the parenthesised command name.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.charAt(text.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
