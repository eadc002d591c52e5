/**
 * Network namespaces for tests that need real links (bridges, taps, DHCP,
 * netbooting VMs). Everything lives inside a namespace the test creates, named
 * `yt-<pid>-<n>-<random>`; nothing is ever added to the host's root namespace.
 *
 * Every namespace and every process started in one is put in a cleanup
 * registry: tests remove them in try/finally (NetNs.remove), and whatever is
 * left is removed when the test process exits or is killed by a signal.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const IP = process.env.YAGURA_TEST_IP ?? '/usr/sbin/ip';

// ---------------------------------------------------------------------------
// The cleanup registry.

type Cleanup = () => void;
const cleanups = new Map<number, Cleanup>();
let nextCleanupId = 1;
let hooked = false;

/**
 * Registers a synchronous last-resort cleanup that runs at process exit or on
 * SIGINT/SIGTERM/SIGHUP (newest first). Returns the function that unregisters it
 * once the owner has cleaned up normally.
 */
export function registerCleanup(cleanup: Cleanup): () => void {
  hookProcessExit();
  const id = nextCleanupId++;
  cleanups.set(id, cleanup);
  return () => cleanups.delete(id);
}

/** Runs every registered cleanup now (newest first); errors are reported, not thrown. */
export function runAllCleanups(): void {
  for (const [id, cleanup] of [...cleanups.entries()].reverse()) {
    cleanups.delete(id);
    try {
      cleanup();
    } catch (error) {
      console.error(`test cleanup failed: ${(error as Error).message}`);
    }
  }
}

function hookProcessExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', runAllCleanups);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runAllCleanups();
      // Keep the signal's usual effect when nobody else handles it.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

// ---------------------------------------------------------------------------
// Namespaces.

let nextNamespace = 1;

/** A unique namespace name: yt-<pid>-<n>-<random>, short enough to read in `ip netns list`. */
export function uniqueNamespaceName(): string {
  return `yt-${process.pid}-${nextNamespace++}-${randomBytes(2).toString('hex')}`;
}

export interface ProcessInNamespace {
  child: ChildProcess;
  /** stdout and stderr together, as far as they came (the last 256 KiB). */
  output(): string;
  /** Resolves when the output matches (rejects when the process exits first or on timeout). */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export class NetNs {
  private readonly links: string[] = [];
  private readonly processes = new Set<ProcessInNamespace>();
  private readonly unregister: () => void;
  private removed = false;

  private constructor(readonly name: string) {
    // Last resort: kill what runs inside, delete the links, then the namespace.
    this.unregister = registerCleanup(() => {
      for (const proc of this.processes) killQuietly(proc.child, 'SIGKILL');
      this.removeSync();
    });
  }

  /** Creates a fresh namespace with lo up. */
  static create(): NetNs {
    const name = uniqueNamespaceName();
    execFileSync(IP, ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ns = new NetNs(name);
    try {
      ns.batch(['link set lo up']);
    } catch (error) {
      ns.removeSync();
      ns.unregister();
      throw error;
    }
    return ns;
  }

  /** Runs several `ip` commands inside the namespace in one `ip -n NS -batch -`. */
  batch(commands: string[]): void {
    try {
      execFileSync(IP, ['-n', this.name, '-batch', '-'], {
        input: commands.join('\n') + '\n',
        stdio: ['pipe', 'ignore', 'pipe'],
      });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`ip -n ${this.name} -batch failed: ${stderr || (error as Error).message}\n${commands.join('\n')}`, {
        cause: error,
      });
    }
  }

  /** A bridge inside the namespace, up, with an optional address such as 10.250.0.1/24. */
  addBridge(bridge: string, address?: string): void {
    this.links.push(bridge);
    this.batch([
      `link add ${bridge} type bridge`,
      // No STP and no forwarding delay: the port forwards as soon as it is up.
      `link set ${bridge} type bridge stp_state 0 forward_delay 0`,
      ...(address ? [`addr add ${address} dev ${bridge}`] : []),
      `link set ${bridge} up`,
    ]);
  }

  /** A persistent tap device inside the namespace (for QEMU's -netdev tap), up, optionally a bridge port. */
  addTap(tap: string, bridge?: string): void {
    this.links.push(tap);
    this.batch([`tuntap add dev ${tap} mode tap`, ...(bridge ? [`link set ${tap} master ${bridge}`] : []), `link set ${tap} up`]);
  }

  /** Runs a command inside the namespace to completion (`ip netns exec`). */
  async exec(command: string, args: string[] = [], timeoutMs = 30000): Promise<{ stdout: string; stderr: string }> {
    return execFileAsync(IP, ['netns', 'exec', this.name, command, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' });
  }

  /**
   * Starts a long-running command inside the namespace. `ip netns exec` execs
   * the command in place, so the child's PID is the command's own PID, and
   * stop()/remove() kill exactly that process.
   */
  spawn(command: string, args: string[] = [], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ProcessInNamespace {
    if (this.removed) throw new Error(`namespace ${this.name} was removed`);
    const child = spawn(IP, ['netns', 'exec', this.name, command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const append = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-256 * 1024);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const proc: ProcessInNamespace = {
      child,
      output: () => output,
      waitForOutput: async (pattern, timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        while (true) {
          const match = output.match(pattern);
          if (match) return match;
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`${command} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${output}`);
          }
          if (Date.now() > deadline) throw new Error(`${command} did not print ${pattern} within ${timeoutMs} ms:\n${output}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      stop: async (graceMs = 3000) => {
        if (child.exitCode === null && child.signalCode === null) {
          killQuietly(child, 'SIGTERM');
          const timer = setTimeout(() => killQuietly(child, 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        this.processes.delete(proc);
      },
    };
    child.once('error', () => this.processes.delete(proc));
    this.processes.add(proc);
    return proc;
  }

  /** Stops every process started here, deletes the links, then the namespace. Safe to call twice. */
  async remove(): Promise<void> {
    await Promise.all([...this.processes].map((proc) => proc.stop()));
    this.removeSync();
    this.unregister();
  }

  private removeSync(): void {
    if (this.removed) return;
    this.removed = true;
    // Delete our links explicitly (taps first) rather than relying on the
    // namespace's teardown, so nothing can ever be moved to the root namespace.
    const dels = [...this.links].reverse().map((link) => `link del ${link}`);
    try {
      if (dels.length > 0)
        execFileSync(IP, ['-force', '-n', this.name, '-batch', '-'], {
          input: dels.join('\n') + '\n',
          stdio: ['pipe', 'ignore', 'ignore'],
        });
    } catch {
      // A link that is already gone is fine; the namespace goes next.
    }
    execFileSync(IP, ['netns', 'del', this.name], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}

/** The namespaces named yt-* that exist now (for tests to check that they cleaned up). */
export function listTestNamespaces(): string[] {
  const out = execFileSync(IP, ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => name.startsWith('yt-'));
}

/** The link names of the root namespace (for tests to check that none were added). */
export function rootNamespaceLinks(): string[] {
  const out = execFileSync(IP, ['-o', 'link', 'show'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(': ')[1]!.split('@')[0]!)
    .sort();
}

function killQuietly(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // already gone
  }
}
