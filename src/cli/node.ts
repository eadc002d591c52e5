/**
 * `yagura node join`: run inside a netns server's network namespace, it joins
 * the data center as the node OS does (src/node/join.ts, docs/node-join.md)
 * and stays as the server's BIRD and node agent. `yagura node agent`: the
 * node agent alone (serf and the node checks, src/node/agent.ts,
 * docs/node-agent.md), as a boot server runs it.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { SERIAL } from '../inventory/model.js';
import { parseDuration } from '../lib/duration.js';
import { UserError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { runNodeAgent, SerfConfigError } from '../node/agent.js';
import { IpCommandError } from '../node/apply.js';
import { IgnitionConfigError } from '../node/ignition-files.js';
import { joinNode } from '../node/join.js';
import { NetworkPlanError } from '../node/join-plan.js';
import { NetworkConfError } from '../node/network-conf.js';

interface JoinFlags {
  serial: string;
  root: string;
  interface: string;
  bootServer: string[];
  bootPort: number;
  birdSocket?: string;
  bird: string;
  udhcpc: string;
  retry: string;
  serf: string;
  birdc: string;
  checkInterval: string;
}

interface AgentFlags {
  serfConfig: string;
  birdSocket: string;
  checkUrl: Map<string, string>;
  disk: string[];
  serf: string;
  birdc: string;
  checkInterval: string;
}

/** What the node agent reports as its OS in the os-version tag. */
const OS_VERSION = `yagura-${VERSION}`;

/** What a bad config or a refused change is: the node cannot join as told, said in one line. */
const JOIN_ERRORS = [NetworkConfError, IgnitionConfigError, NetworkPlanError, IpCommandError];

export function nodeCommand(): Command {
  const join = new Command('join')
    .description('join the data center as a netns server: DHCP, the Ignition config by serial, node0 + uplinks, then BIRD')
    .addOption(
      new Option('--serial <serial>', "this server's serial, as registered (machines.json)")
        .argParser(parseSerial)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--root <dir>', "the node's root directory: the config's /etc/... are written under it").makeOptionMandatory(),
    )
    .addOption(new Option('--interface <name>', 'where to get the DHCP lease (the first uplink, facing ToR1)').default('eth0'))
    .addOption(
      new Option('--boot-server <url>', 'a boot server to ask, before the one the lease names (repeatable)')
        .argParser(collectUrl)
        .default([]),
    )
    .addOption(
      new Option('--boot-port <port>', 'the API port of the boot server the lease names (its DHCP server identifier)')
        .argParser(parsePort)
        .default(10080),
    )
    .addOption(new Option('--bird-socket <path>', "BIRD's control socket (default: ROOT/run/bird/bird.ctl)"))
    .addOption(new Option('--bird <path>', 'the BIRD 2 binary').default('bird'))
    .addOption(new Option('--udhcpc <path>', "busybox's DHCP client").default('udhcpc'))
    .addOption(new Option('--retry <duration>', 'pause between attempts while waiting for a lease or a config').default('2s'))
    .addOption(new Option('--serf <path>', 'the serf binary (the node agent runs it)').default('serf'))
    .addOption(new Option('--birdc <path>', "BIRD's client (the node checks read BGP with it)").default('birdc'))
    .addOption(new Option('--check-interval <duration>', 'how often the node checks run').default('5s'))
    .addHelpText(
      'after',
      `
Run it inside the server's network namespace (yagura dc generate makes it the
one app of every netns server). Like the node OS, it:
  1. gets a DHCP lease on --interface with busybox udhcpc, relayed by the ToR
     to the boot servers, retrying until one answers;
  2. asks the boot servers (--boot-server URLs, then http://<DHCP server id>:
     --boot-port, reached through the lease's router) for this machine's
     Ignition config: its role's newest template rendered for --serial
     (/api/v1/boot/ignitions/SERIAL/ID), waiting until the machine is
     registered and its role has a template;
  3. writes the config's files (data: URLs) under --root — ROOT/etc/hostname,
     ROOT/etc/yagura/network.conf, ROOT/etc/bird/bird.conf — sets no host
     name, drops the DHCP address, puts node0/32 on lo and the uplink
     addresses from network.conf on their interfaces;
  4. runs BIRD in the foreground: bird -f -c ROOT/etc/bird/bird.conf -s SOCKET,
     and beside it the node agent (as \`yagura node agent\`) with the
     config's ROOT/etc/serf/serf.json: serf, and the node checks in its tags.
SIGTERM and SIGINT go to BIRD; node join exits with BIRD's status (0 when
stopped before BIRD started). Logs are JSON lines on stdout; each wait is
logged once, when what it waits for changes. Needs root (CAP_NET_ADMIN).

Example (what a generated dc.yml runs):
  yagura node join --serial 0a1b... --root /run/yagura/dc/nodes/rack0-cs1 \\
    --bird-socket /run/yagura/dc/bird-rack0-cs1.ctl

See docs/node-join.md.`,
    )
    .action(async (flags: JoinFlags) => {
      const root = resolve(flags.root);
      const retryMs = positiveDuration(flags.retry, '--retry');
      const logger = pino({ base: { node: flags.serial } });
      try {
        process.exitCode = await untilStopped((signal) =>
          joinNode({
            serial: flags.serial,
            root,
            device: flags.interface,
            bootServers: flags.bootServer,
            bootPort: flags.bootPort,
            birdSocket: flags.birdSocket ?? resolve(root, 'run/bird/bird.ctl'),
            bird: flags.bird,
            udhcpc: flags.udhcpc,
            agent: {
              serf: flags.serf,
              birdc: flags.birdc,
              intervalMs: positiveDuration(flags.checkInterval, '--check-interval'),
              osVersion: OS_VERSION,
            },
            retryMs,
            logger,
            signal,
          }),
        );
      } catch (error) {
        if (JOIN_ERRORS.some((kind) => error instanceof kind)) throw new UserError(`node join: ${(error as Error).message}`);
        throw error;
      }
    });
  const agent = new Command('agent')
    .description("run a server's serf agent and report its node checks in serf tags (what the state setter judges)")
    .addOption(
      new Option('--serf-config <file>', "serf's JSON config: node name, bind, join addresses, tags").makeOptionMandatory(),
    )
    .addOption(
      new Option('--bird-socket <path>', "BIRD's control socket: every BGP session must be Established").default(
        '/run/bird/bird.ctl',
      ),
    )
    .addOption(
      new Option(
        '--check-url <name=url>',
        'a service that must answer 2xx, e.g. serve=http://127.0.0.1:10080/health (repeatable)',
      )
        .argParser(collectCheckUrl)
        .default(new Map<string, string>()),
    )
    .addOption(
      new Option('--disk <path>', 'a disk whose first block must read, e.g. /dev/sda (repeatable)')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([]),
    )
    .addOption(new Option('--serf <path>', 'the serf binary').default('serf'))
    .addOption(new Option('--birdc <path>', "BIRD's client").default('birdc'))
    .addOption(new Option('--check-interval <duration>', 'how often the node checks run').default('5s'))
    .addHelpText(
      'after',
      `
Runs \`serf agent -config-file=FILE\` (again whenever it exits) and, every
--check-interval, the node checks; it sets these serf tags through the agent's
RPC port (the config's rpc_addr) when they change:
  failed-checks  the checks that failed, comma-separated, empty when all pass:
                 bird (no answer on --bird-socket), bgp:PROTOCOL (a BGP
                 session not Established), url:NAME, disk:PATH
  uptime         seconds since the agent started, in steps of 60
  os-version     ${OS_VERSION}
The config's own tags name the machine (serial, role, rack). The state setter
on the boot servers reads them (docs/state-setter.md). SIGTERM or SIGINT stops
serf and the agent. See docs/node-agent.md.

Example (what a generated dc.yml runs on a boot server):
  yagura node agent --serf-config serf/rack0-boot1.json --bird-socket /run/yagura/dc/bird-rack0-boot1.ctl`,
    )
    .action(async (flags: AgentFlags) => {
      const logger = pino({ base: { agent: flags.serfConfig } });
      try {
        await untilStopped((signal) =>
          runNodeAgent({
            serfConfig: resolve(flags.serfConfig),
            serf: flags.serf,
            birdc: flags.birdc,
            birdSocket: flags.birdSocket,
            checkUrls: flags.checkUrl,
            disks: flags.disk,
            osVersion: OS_VERSION,
            intervalMs: positiveDuration(flags.checkInterval, '--check-interval'),
            logger,
            signal,
          }),
        );
      } catch (error) {
        if (error instanceof SerfConfigError) throw new UserError(`node agent: ${error.message}`);
        throw error;
      }
    });
  return new Command('node')
    .description('run on a server: join the data center, run its node agent')
    .addCommand(join.exitOverride().showHelpAfterError('(run with --help for usage)'))
    .addCommand(agent.exitOverride().showHelpAfterError('(run with --help for usage)'));
}

/** Runs `work` with a signal that SIGTERM and SIGINT abort, for as long as it runs. */
async function untilStopped<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

function positiveDuration(value: string, flag: string): number {
  const ms = parseDuration(value, flag);
  if (ms <= 0) throw new UserError(`${flag} must be more than 0`, 2);
  return ms;
}

function collectCheckUrl(value: string, previous: Map<string, string>): Map<string, string> {
  const equals = value.indexOf('=');
  const name = value.slice(0, equals);
  const url = value.slice(equals + 1);
  if (equals <= 0 || !/^[A-Za-z0-9._-]+$/.test(name) || !URL.canParse(url) || !/^https?:/.test(url))
    throw new InvalidArgumentError('must be NAME=URL, e.g. serve=http://127.0.0.1:10080/health');
  return new Map([...previous, [name, url]]);
}

function parseSerial(value: string): string {
  if (!SERIAL.test(value))
    throw new InvalidArgumentError('must be 1–64 characters: alphanumerics, ".", "_", "-", starting with an alphanumeric');
  return value;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port < 1 || port > 65535) throw new InvalidArgumentError('must be a port number, 1–65535');
  return port;
}

function collectUrl(value: string, previous: string[]): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be a URL such as http://10.69.0.3:10080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`must be an http:// or https:// URL, not ${url.protocol}`);
  if (url.pathname !== '/' || url.search || url.hash) throw new InvalidArgumentError('must be the server only, without a path');
  return [...previous, url.origin];
}
