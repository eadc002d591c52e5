/**
 * Link impairments without the kernel's netem: on kernels built without
 * sch_netem (CI's among them) `tc qdisc ... netem` fails, so a DC runs
 * libexec/yagura-netem-relay.py inside its namespace instead. The relay takes
 * an impaired link's DC-side end (yg-v<N> or yg-t<N>) out of its bridge, puts a
 * tap yg-r<N> in its place and copies frames between the two, delaying,
 * dropping and rate-limiting what the node sends. This module detects whether
 * the relay is needed, starts it, and talks to its control socket.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { Netem } from '../spec/index.js';
import { DEFAULT_HOST_TOOLS, type HostTools } from './tools.js';

const execFileAsync = promisify(execFile);

/** src/vdc/host and dist/vdc/host are both three levels below the repository root, where libexec/ is. */
export const NETEM_RELAY_SCRIPT = fileURLToPath(new URL('../../../libexec/yagura-netem-relay.py', import.meta.url));

/** What the relay counts per link. */
export interface RelayCounters {
  /** Frames the node sent (arrived on the link). */
  fromNode: number;
  /** Of those, frames written to the bridge after their delay. */
  relayed: number;
  /** Dropped by the loss probability. */
  lost: number;
  /** Dropped because QUEUE_LIMIT (1000) frames were already waiting, as netem's limit. */
  overlimit: number;
  /** Waiting for their send time now. */
  queued: number;
  /** Frames from the bridge sent on to the node (never impaired). */
  toNode: number;
  /** GSO super-frames among the relayed and toNode ones. */
  superFrames: number;
  /** Odd frames dropped (unreadable, refused by the tap or the link). */
  errors: number;
}

export interface RelayLinkStatus {
  /** The DC-side end: yg-v<N> or yg-t<N>. */
  link: string;
  /** The tap standing in for it in the bridge: yg-r<N>. */
  tap: string;
  bridge: string;
  netem: Required<Netem>;
  counters: RelayCounters;
}

/** Talks to a running relay; any process may make one from the control socket's path. */
export interface NetemRelayClient {
  /** Relays the link (if it is not yet) and sets or replaces its impairment. */
  set(link: string, bridge: string, netem: Netem): Promise<RelayLinkStatus>;
  /** Stops relaying the link and puts it back into its bridge; a link that is not relayed is fine. */
  clear(link: string): Promise<void>;
  list(): Promise<RelayLinkStatus[]>;
}

export interface NetemRelay extends NetemRelayClient {
  pid: number;
  /** SIGTERM (the relay restores every link), SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** The part of a pino logger the relay's log lines go to. */
export interface RelayLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface NetemRelayOptions {
  /** The DC's namespace (yg-<dc>): the relay's links and bridges are there. */
  namespace: string;
  controlSocket: string;
  log?: RelayLogger;
  /** The relay's environment (the supervisor marks its processes here); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** ip (to enter the namespace) and python (to run the relay); default DEFAULT_HOST_TOOLS. */
  tools?: HostTools;
  startTimeoutMs?: number;
}

export class NetemRelayError extends Error {
  override name = 'NetemRelayError';
}

/**
 * Starts the relay inside the namespace and resolves once it listens. Its
 * stdin stays a pipe from this process, so the relay restores its links and
 * exits when we go away, even by SIGKILL.
 */
export async function startNetemRelay(options: NetemRelayOptions): Promise<NetemRelay> {
  const tools = options.tools ?? DEFAULT_HOST_TOOLS;
  const child = spawn(
    tools.ip,
    ['netns', 'exec', options.namespace, tools.python, NETEM_RELAY_SCRIPT, '--control', options.controlSocket],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    },
  );
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderrTail = '';
  forwardLogLines(child, options.log, (line) => (stderrTail = (stderrTail + line + '\n').slice(-4096)));
  child.stdin!.on('error', () => {}); // the relay may be gone already when we close its stdin
  try {
    await waitForReady(child, options.startTimeoutMs ?? 10_000);
  } catch (error) {
    killQuietly(child, 'SIGKILL');
    await exited;
    throw new NetemRelayError(
      `netem relay in ${options.namespace} did not start: ${(error as Error).message}\n${stderrTail}`.trim(),
    );
  }
  const client = netemRelayClient(options.controlSocket);
  return {
    ...client,
    pid: child.pid!,
    stop: async (graceMs = 5000) => {
      if (child.exitCode === null && child.signalCode === null) {
        killQuietly(child, 'SIGTERM');
        const timer = setTimeout(() => killQuietly(child, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export function netemRelayClient(controlSocket: string): NetemRelayClient {
  return {
    set: async (link, bridge, netem) => {
      const answer = await relayRequest(controlSocket, {
        op: 'set',
        link,
        bridge,
        delayUs: netem.delayUs ?? 0,
        jitterUs: netem.jitterUs ?? 0,
        lossPercent: netem.lossPercent ?? 0,
        rateBitsPerSecond: netem.rateBitsPerSecond ?? 0,
      });
      const { ok: _ok, ...status } = answer;
      return status as unknown as RelayLinkStatus;
    },
    clear: async (link) => {
      await relayRequest(controlSocket, { op: 'clear', link });
    },
    list: async () => (await relayRequest(controlSocket, { op: 'list' })).links as RelayLinkStatus[],
  };
}

/** One request on its own connection: the relay answers each line with one line. */
async function relayRequest(
  controlSocket: string,
  request: Record<string, unknown>,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const line = await new Promise<string>((resolve, reject) => {
    const socket = createConnection(controlSocket);
    let received = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end >= 0) {
        socket.end();
        resolve(received.slice(0, end));
      }
    });
    socket.on('error', (error) => reject(new NetemRelayError(`netem relay at ${controlSocket}: ${error.message}`)));
    socket.on('close', () => reject(new NetemRelayError(`netem relay at ${controlSocket} closed the connection`)));
  });
  const answer = JSON.parse(line) as Record<string, unknown>;
  if (answer.ok !== true) throw new NetemRelayError(`netem relay: ${String(answer.error)}`);
  return answer;
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      stdout += chunk.toString();
      if (/"ready": ?true/.test(stdout)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal})`));
    });
  });
}

/** The relay logs JSON lines on stderr; they go to the logger, and the last ones into start errors. */
function forwardLogLines(child: ChildProcess, log: RelayLogger | undefined, keep: (line: string) => void): void {
  let pending = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let end: number;
    while ((end = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      keep(line);
      if (!log) continue;
      try {
        const { level, msg, time: _time, ...fields } = JSON.parse(line) as Record<string, unknown>;
        const write = level === 'error' ? log.error : level === 'warn' ? log.warn : log.info;
        write.call(log, { event: 'netem-relay', ...fields }, String(msg));
      } catch {
        log.warn({ event: 'netem-relay' }, line); // a Python traceback, say
      }
    }
  });
  child.stdout!.resume(); // after "ready" nothing is read from stdout, but it must not fill up
}

function killQuietly(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------
// Does this kernel have sch_netem?

let netemKnown: Promise<boolean> | undefined;

/**
 * Whether `tc qdisc ... netem` works here: from /proc/config.gz when the
 * kernel exposes its config, otherwise by trying it in a throwaway namespace.
 * The answer cannot change while we run, so it is asked once.
 */
export function kernelHasNetem(tools: HostTools = DEFAULT_HOST_TOOLS): Promise<boolean> {
  netemKnown ??= (async () => netemInKernelConfig(await readKernelConfig()) ?? (await probeNetemWithTc(tools)))();
  return netemKnown;
}

/** CONFIG_NET_SCH_NETEM=y or =m; undefined when there is no config to read. */
export function netemInKernelConfig(config: string | undefined): boolean | undefined {
  if (config === undefined) return undefined;
  return /^CONFIG_NET_SCH_NETEM=[ym]$/m.test(config);
}

async function readKernelConfig(): Promise<string | undefined> {
  try {
    return gunzipSync(await readFile('/proc/config.gz')).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * Adds a netem qdisc to lo in a namespace of its own and deletes the namespace.
 * The name does not start with "yg-", so no DC ever mistakes it for its own.
 */
export async function probeNetemWithTc(tools: HostTools = DEFAULT_HOST_TOOLS): Promise<boolean> {
  const namespace = `ygprobe-netem-${process.pid}-${randomBytes(3).toString('hex')}`;
  await execFileAsync(tools.ip, ['netns', 'add', namespace]);
  try {
    await execFileAsync(tools.tc, ['-n', namespace, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '0']);
    return true;
  } catch {
    return false;
  } finally {
    await execFileAsync(tools.ip, ['netns', 'del', namespace]).catch(() => {});
  }
}
