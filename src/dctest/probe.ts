/**
 * Running commands inside the data center as an operator would with `yagura
 * dc exec`: in a member's namespace (a router, a netns server or boot server)
 * or in the DC's own namespace (where the BMCs answer). The yagura CLI runs in
 * a core boot server's namespace, where `yagura serve` listens on
 * 127.0.0.1:10080, the CLI's default server.
 */
import { execFile } from 'node:child_process';
import { sleep } from '../lib/sleep.js';
import { dcNamespace, memberNamespace } from '../vdc/names.js';

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Probe {
  /** `ip` (YAGURA_IP). */
  ip: string;
  dc: string;
  /** The words that run this yagura CLI (node, its flags, main.js). */
  yagura: readonly string[];
}

/** Runs `command` in `member`'s namespace (or the DC's own when member is undefined); never throws for a failing command. */
export function inMember(
  probe: Probe,
  member: string | undefined,
  command: readonly string[],
  timeoutMs = 60_000,
): Promise<Finished> {
  const namespace = member === undefined ? dcNamespace(probe.dc) : memberNamespace(probe.dc, member);
  return onHost([probe.ip, 'netns', 'exec', namespace, ...command], timeoutMs);
}

/** Runs `command` on the host (e.g. `yagura dc apply`); never throws for a failing command. */
export function onHost(command: readonly string[], timeoutMs = 60_000): Promise<Finished> {
  const [file, ...args] = command;
  return new Promise((resolve) => {
    execFile(
      file!,
      args,
      { timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, YAGURA_SERVER: 'http://127.0.0.1:10080' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr || (error ? error.message : '') });
      },
    );
  });
}

/** The yagura CLI in `member`'s namespace; throws with its stderr when it fails. */
export async function yaguraIn(probe: Probe, member: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const result = await inMember(probe, member, [...probe.yagura, ...args], timeoutMs);
  if (result.code !== 0)
    throw new Error(
      `yagura ${args.join(' ')} in ${member} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  return result.stdout;
}

/** Throws with the command's output when it failed. */
export function ok(result: Finished, what: string): Finished {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}): ${(result.stderr || result.stdout).trim()}`);
  return result;
}

/**
 * Tries `attempt` every `everyMs` until it returns a value; past the deadline
 * throws with what it saw last (`seen`), so a timeout says what was missing.
 */
export async function waitFor<T>(
  what: string,
  deadline: number,
  attempt: () => Promise<T | undefined>,
  seen: () => string,
  everyMs = 1000,
): Promise<T> {
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: timed out; ${seen()}`);
    await sleep(everyMs);
  }
}
