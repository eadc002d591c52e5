/**
 * `yagura node join`: a netns server joins the data center as the node OS
 * does (docs/node-os.md), minus the firmware. In the server's network
 * namespace: (1) a DHCP lease on its first interface, relayed by the ToR to
 * the boot servers; (2) its Ignition config, rendered by serial, from a boot
 * server reached through the lease's router; (3) the config's files under
 * the node's own root directory (netns servers share the host's file system),
 * node0/32 on lo and the uplinks from network.conf, the DHCP address gone;
 * (4) BIRD in the foreground with the written bird.conf, and beside it the
 * node agent (agent.ts: serf and the node checks). Each wait is logged once,
 * when what it waits for changes.
 */
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { runNodeAgent } from './agent.js';
import { ipBatch, observeInterfaces, writeConfigFiles } from './apply.js';
import { runBird } from './bird.js';
import { fetchConfig } from './boot-config.js';
import { sleep } from '../lib/sleep.js';
import { obtainLease } from './dhcp.js';
import { filesOfIgnition } from './ignition-files.js';
import { bootServerUrls, leaseAddressCommands, planNetwork } from './join-plan.js';
import { parseNetworkConf } from './network-conf.js';

export const NETWORK_CONF = '/etc/yagura/network.conf';
export const BIRD_CONF = '/etc/bird/bird.conf';
/** serf's config, as a generated template writes it (src/fabric/serf.ts). */
export const SERF_CONFIG = '/etc/serf/serf.json';

export interface JoinOptions {
  serial: string;
  /** The node's root directory: the config's /etc/... go under it. */
  root: string;
  /** The interface to get the DHCP lease on (the first uplink). */
  device: string;
  /** Boot server URLs to try before the one the lease names. */
  bootServers: string[];
  /** The API port of the boot server the lease names (its DHCP server identifier). */
  bootPort: number;
  birdSocket: string;
  bird: string;
  udhcpc: string;
  /** The node agent's programs and settings: it runs beside BIRD when the config has a serf config. */
  agent: { serf: string; birdc: string; intervalMs: number; osVersion: string };
  retryMs: number;
  logger: Logger;
  /** Aborted on SIGTERM/SIGINT before BIRD runs; BIRD gets the signal itself. */
  signal: AbortSignal;
}

/** Joins and runs BIRD; resolves with the exit status (BIRD's, or 0 when stopped before it started). */
export async function joinNode(options: JoinOptions): Promise<number> {
  const { logger, signal } = options;
  const runDir = join(options.root, 'run', 'yagura');
  await mkdir(runDir, { recursive: true });
  const waiting = waitingLog(logger);

  // 1. A lease (udhcpc needs the link up), and a way to the boot servers through its router.
  await ipBatch([`link set ${options.device} up`]);
  const lease = await obtainLease({
    device: options.device,
    runDir,
    udhcpc: options.udhcpc,
    waiting,
    retryMs: options.retryMs,
    signal,
  });
  if (!lease) return stopped(logger);
  logger.info(
    { lease },
    `DHCP lease ${lease.address}/${lease.prefixLength} on ${lease.device} from ${lease.serverId ?? 'an unnamed server'}`,
  );
  await ipBatch(leaseAddressCommands(lease));

  // 2. The Ignition config, by serial.
  const urls = bootServerUrls(options.bootServers, lease, options.bootPort);
  let answer = await fetchConfig(urls, options.serial, signal);
  while (answer.kind === 'waiting' && !signal.aborted) {
    waiting(answer.reason);
    await sleep(options.retryMs, signal);
    answer = await fetchConfig(urls, options.serial, signal);
  }
  if (answer.kind === 'waiting') return stopped(logger);
  logger.info(
    { url: answer.url, role: answer.role, template: answer.id },
    `Ignition config: template ${answer.id} of role ${answer.role}`,
  );

  // 3. Apply it: files, then addresses.
  const { files, ignored } = filesOfIgnition(answer.config);
  if (ignored.length > 0) logger.warn({ ignored }, `not applied by node join: ${ignored.join(', ')}`);
  for (const path of await writeConfigFiles(options.root, files)) logger.info({ path }, `wrote ${path}`);
  const networkText = await readFile(join(options.root, NETWORK_CONF), 'utf8').catch(() => {
    throw new Error(`the Ignition config has no ${NETWORK_CONF}`);
  });
  const conf = parseNetworkConf(networkText, join(options.root, NETWORK_CONF));
  for (const warning of conf.warnings) logger.warn(warning);
  const commands = planNetwork(conf, await observeInterfaces(), lease);
  await ipBatch(commands);
  logger.info(
    { node0: conf.node0, uplinks: conf.uplinks, commands },
    `node0 ${conf.node0}/32 on lo; ${conf.uplinks.map((u) => `${u.device} ${u.address}/${u.prefixLength}`).join(', ')}`,
  );
  if (signal.aborted) return stopped(logger);

  // 4. BIRD, in the foreground, and beside it the node agent (serf and the node checks).
  const config = join(options.root, BIRD_CONF);
  const agentStop = new AbortController();
  const agent = startAgent(options, agentStop.signal);
  try {
    const status = await runBird({
      bird: options.bird,
      config,
      socket: options.birdSocket,
      started: (pid) => logger.info({ pid, config, socket: options.birdSocket }, `BIRD started (pid ${pid})`),
    });
    logger.info({ status }, `BIRD exited with status ${status}`);
    return status;
  } finally {
    agentStop.abort();
    await agent;
  }
}

/** The node agent with the config's serf config, or nothing when the config has none (an older template). */
async function startAgent(options: JoinOptions, signal: AbortSignal): Promise<void> {
  const serfConfig = join(options.root, SERF_CONFIG);
  if (
    !(await access(serfConfig).then(
      () => true,
      () => false,
    ))
  ) {
    options.logger.warn(
      `the Ignition config has no ${SERF_CONFIG}: no serf agent, so the state setter sees this server as unreachable`,
    );
    return;
  }
  try {
    await runNodeAgent({
      serfConfig,
      serf: options.agent.serf,
      birdc: options.agent.birdc,
      birdSocket: options.birdSocket,
      checkUrls: new Map(),
      disks: [],
      osVersion: options.agent.osVersion,
      intervalMs: options.agent.intervalMs,
      logger: options.logger.child({ part: 'agent' }),
      signal,
    });
  } catch (error) {
    options.logger.error({ err: error }, `node agent stopped: ${(error as Error).message}`);
  }
}

/** Logs what the node waits for, once per change rather than once per retry. */
function waitingLog(logger: Logger): (reason: string) => void {
  let last: string | undefined;
  return (reason) => {
    if (reason === last) return;
    last = reason;
    logger.info({ waiting: reason }, `waiting for ${reason}`);
  };
}

function stopped(logger: Logger): number {
  logger.info('stopped before BIRD started');
  return 0;
}
