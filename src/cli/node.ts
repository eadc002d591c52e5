/**
 * `yagura node join`: run inside a netns server's network namespace, it joins
 * the data center as the node OS does (src/node/join.ts, docs/node-join.md)
 * and stays as the server's BIRD.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { SERIAL } from '../inventory/model.js';
import { parseDuration } from '../lib/duration.js';
import { UserError } from '../lib/errors.js';
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
}

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
  4. runs BIRD in the foreground: bird -f -c ROOT/etc/bird/bird.conf -s SOCKET.
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
      const retryMs = parseDuration(flags.retry, '--retry');
      if (retryMs <= 0) throw new UserError('--retry must be more than 0', 2);
      const logger = pino({ base: { node: flags.serial } });
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      try {
        process.exitCode = await joinNode({
          serial: flags.serial,
          root,
          device: flags.interface,
          bootServers: flags.bootServer,
          bootPort: flags.bootPort,
          birdSocket: flags.birdSocket ?? resolve(root, 'run/bird/bird.ctl'),
          bird: flags.bird,
          udhcpc: flags.udhcpc,
          retryMs,
          logger,
          signal: controller.signal,
        });
      } catch (error) {
        if (JOIN_ERRORS.some((kind) => error instanceof kind)) throw new UserError(`node join: ${(error as Error).message}`);
        throw error;
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
    });
  return new Command('node')
    .description('run on a server: join the data center')
    .addCommand(join.exitOverride().showHelpAfterError('(run with --help for usage)'));
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
