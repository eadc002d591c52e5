/**
 * The node agent (docs/node-agent.md): a server's serf agent and its node
 * checks. It runs `serf agent` with the server's serf config (written by the
 * Ignition config, or generated for a boot server) and keeps it running;
 * every interval it observes BIRD's BGP sessions, the services that should
 * answer and the disks that should read, and sets the serf tags the state
 * setter judges by — failed-checks, uptime, os-version — through the agent's
 * RPC port, only when they change. What the checks mean is decided in
 * checks.ts; this module only observes and acts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { SerfClient } from '../lib/serf-rpc.js';
import { httpGet } from '../lib/http-get.js';
import { sleep } from '../lib/sleep.js';
import { bgpProtocols, type BgpProtocol } from './bird-protocols.js';
import { failedChecks, nodeTags } from './checks.js';

const execFileAsync = promisify(execFile);

/** The serf config cannot be read or names no usable RPC address: the agent cannot start as told. */
export class SerfConfigError extends Error {
  override name = 'SerfConfigError';
}

export interface NodeAgentOptions {
  /** serf's JSON config file (its rpc_addr is where the tags are set). */
  serfConfig: string;
  serf: string;
  birdc: string;
  birdSocket: string;
  /** Services that should answer 2xx, by name. */
  checkUrls: ReadonlyMap<string, string>;
  /** Block devices or files whose first block should read. */
  disks: readonly string[];
  osVersion: string;
  intervalMs: number;
  logger: Logger;
  signal: AbortSignal;
}

/** Runs until the signal; serf is restarted when it exits. Resolves once serf is stopped. */
export async function runNodeAgent(options: NodeAgentOptions): Promise<void> {
  const { logger, signal } = options;
  const rpc = await rpcAddress(options.serfConfig);
  const started = Date.now();
  const serf = keepSerf(options);
  let last: Record<string, string> | undefined;
  let lastFailed: string | undefined;
  try {
    while (!signal.aborted) {
      const failed = failedChecks({
        bgp: await observeBgp(options),
        services: await observeServices(options.checkUrls),
        disks: await observeDisks(options.disks),
      });
      if (failed.join(',') !== lastFailed) {
        lastFailed = failed.join(',');
        logger.info({ failed }, failed.length === 0 ? 'node checks: all pass' : `node checks failed: ${failed.join(', ')}`);
      }
      const tags = nodeTags(failed, (Date.now() - started) / 1000, options.osVersion, last);
      if (tags) {
        try {
          const client = await SerfClient.connect({ ...rpc, timeoutMs: 5000 });
          try {
            await client.setTags(tags);
          } finally {
            await client.close();
          }
          last = tags;
        } catch (error) {
          // serf is starting or restarting: the next round tries again.
          logger.debug({ err: error }, 'cannot set the serf tags yet');
        }
      }
      await sleep(options.intervalMs, signal);
    }
  } finally {
    await serf.stop();
  }
}

/** Runs `serf agent -config-file FILE`, again 2 s after each exit, until stopped. */
function keepSerf(options: NodeAgentOptions): { stop(): Promise<void> } {
  const { logger } = options;
  let child: ChildProcess | undefined;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const exited = new Promise<string>((resolve) => {
        child = spawn(options.serf, ['agent', `-config-file=${options.serfConfig}`], {
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        child.once('error', (error) => resolve(`cannot run ${options.serf}: ${error.message}`));
        child.once('spawn', () =>
          logger.info({ pid: child?.pid, config: options.serfConfig }, `serf agent started (pid ${child?.pid})`),
        );
        child.once('exit', (code, sig) => resolve(sig ? `killed by ${sig}` : `exit status ${code}`));
      });
      const why = await exited;
      child = undefined;
      if (stopping) return;
      logger.warn({ why }, `serf agent ended (${why}); starting it again in 2 s`);
      await sleep(2000, options.signal).catch(() => {});
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      child?.kill('SIGTERM');
      await loop;
    },
  };
}

/** The RPC address from the serf config (serf's default when it names none). */
async function rpcAddress(configPath: string): Promise<{ host: string; port: number }> {
  let config: { rpc_addr?: unknown };
  try {
    config = JSON.parse(await readFile(configPath, 'utf8')) as { rpc_addr?: unknown };
  } catch (error) {
    throw new SerfConfigError(`cannot read the serf config ${configPath}: ${(error as Error).message}`, { cause: error });
  }
  const address = typeof config.rpc_addr === 'string' ? config.rpc_addr : '127.0.0.1:7373';
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) throw new SerfConfigError(`${configPath}: rpc_addr ${address} is not HOST:PORT`);
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

async function observeBgp(options: NodeAgentOptions): Promise<BgpProtocol[] | undefined> {
  try {
    const { stdout } = await execFileAsync(options.birdc, ['-s', options.birdSocket, 'show', 'protocols'], { timeout: 5000 });
    return bgpProtocols(stdout);
  } catch {
    return undefined;
  }
}

async function observeServices(urls: ReadonlyMap<string, string>): Promise<Map<string, boolean>> {
  const results = new Map<string, boolean>();
  for (const [name, url] of urls) {
    try {
      const response = await httpGet(url, AbortSignal.timeout(5000));
      await response.arrayBuffer();
      results.set(name, response.ok);
    } catch {
      results.set(name, false);
    }
  }
  return results;
}

async function observeDisks(disks: readonly string[]): Promise<Map<string, boolean>> {
  const results = new Map<string, boolean>();
  for (const disk of disks) {
    try {
      const handle = await open(disk, 'r');
      try {
        await handle.read(Buffer.alloc(4096), 0, 4096, 0);
      } finally {
        await handle.close();
      }
      results.set(disk, true);
    } catch {
      results.set(disk, false);
    }
  }
  return results;
}
