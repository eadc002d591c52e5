/**
 * A DHCP lease from a real client: busybox udhcpc on the node's first
 * interface, its hook script (libexec/yagura-udhcpc.script) reporting the
 * lease to a file. Through the ToR's relay the lease comes from a boot
 * server; until one answers, udhcpc is run again and again.
 */
import { sleep } from '../lib/sleep.js';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLeaseReport, type Lease } from './join-plan.js';

/** src/node and dist/node are both two levels below the repository root, where libexec/ is. */
export const UDHCPC_SCRIPT = fileURLToPath(new URL('../../libexec/yagura-udhcpc.script', import.meta.url));

export interface DhcpOptions {
  device: string;
  /** Where the lease report is written (the node's run directory). */
  runDir: string;
  udhcpc: string;
  /** Called with why there is no lease yet (the caller logs changes only). */
  waiting: (reason: string) => void;
  retryMs: number;
  signal: AbortSignal;
}

/** Runs udhcpc until it reports a lease; undefined when aborted first. */
export async function obtainLease(options: DhcpOptions): Promise<Lease | undefined> {
  const report = join(options.runDir, `dhcp-${options.device}.lease`);
  while (!options.signal.aborted) {
    await rm(report, { force: true });
    // -n: give up after -t discovers of -T s each (then we try again), -q: exit once bound, -f: stay in the foreground.
    const result = await run(
      options.udhcpc,
      ['-i', options.device, '-s', UDHCPC_SCRIPT, '-f', '-q', '-n', '-t', '3', '-T', '2', '-A', '1'],
      { ...process.env, YAGURA_LEASE_FILE: report },
      options.signal,
    );
    const text = await readFile(report, 'utf8').catch(() => undefined);
    if (text !== undefined) return parseLeaseReport(text);
    if (options.signal.aborted) break;
    options.waiting(
      result.error
        ? `cannot run the DHCP client ${options.udhcpc}: ${result.error}`
        : `a DHCP lease on ${options.device} (no offer yet: is a boot server serving DHCP, and the ToR relaying to it?)`,
    );
    await sleep(options.retryMs, options.signal);
  }
  return undefined;
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<{ code: number | null; output: string; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const append = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4096));
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const abort = () => child.kill('SIGTERM');
    signal.addEventListener('abort', abort, { once: true });
    child.once('error', (error) => {
      signal.removeEventListener('abort', abort);
      resolve({ code: null, output, error: error.message });
    });
    child.once('close', (code) => {
      signal.removeEventListener('abort', abort);
      resolve({ code, output });
    });
  });
}
