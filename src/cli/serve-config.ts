/** `yagura serve`'s flags (and their YAGURA_* variables) to a BootServerConfig, with one clear line for each bad value. */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { AllowList, TokenTable } from '../api/auth.js';
import { bmcPortsFrom } from '../lib/bmc-ports.js';
import { parseDuration } from '../lib/duration.js';
import { UserError } from '../lib/errors.js';
import { parseIPv4 } from '../lib/ipv4.js';
import { parseListen } from '../lib/listen.js';
import type { BootServerConfig, DhcpSettings, Listener, RepairSettings, StateSetterSettings } from '../server/config.js';
import { type StoreFlags, storeConfig } from './store-options.js';

export interface ServeFlags extends StoreFlags {
  listen: string;
  tlsListen: string;
  tlsCert?: string;
  tlsKey?: string;
  allowIps: string;
  tokenFile?: string;
  authReads?: boolean;
  auditRetentionDays: string;
  dhcpListen: string;
  dhcpLocalAddress: string;
  dhcpServerId?: string;
  advertiseUrl?: string;
  ipxeEfi: string;
  imageKeep: string;
  compactRetention?: string;
  storeWait: string;
  stateSetterSerf?: string;
  stateSetterInterval: string;
  stateSetterGrace: string;
  /** false with --no-repairs. */
  repairs: boolean;
  repairAfter: string;
  repairMax: string;
  repairPerRack: string;
  repairAttempts: string;
  repairWait: string;
  repairInterval: string;
  repairMaxFaulty: string;
}

export function serveConfig(flags: ServeFlags): BootServerConfig {
  const listen = listener(flags.listen, '--listen');
  const tlsFiles = readTls(flags);
  const tls = tlsFiles && { listen: listener(flags.tlsListen, '--tls-listen'), ...tlsFiles };
  const compactionRetentionMs = parseDuration(
    flags.compactRetention ?? (flags.store === 'embedded' ? '24h' : '0'),
    '--compact-retention',
  );
  const imageKeep = wholeNumber(flags.imageKeep, '--image-keep', 1, 'images');
  const auditRetentionDays = wholeNumber(flags.auditRetentionDays, '--audit-retention-days', 1, 'days');
  const policy = {
    allowed: AllowList.parse(flags.allowIps),
    tokens: flags.tokenFile ? TokenTable.load(flags.tokenFile) : TokenTable.empty(),
    protectReads: flags.authReads === true,
  };
  return {
    store: { config: storeConfig(flags), waitMs: parseDuration(flags.storeWait, '--store-wait') },
    listen,
    tls,
    policy,
    logger: pino({ base: { service: 'yagura' } }),
    dataDir: flags.dataDir,
    advertiseUrl: advertiseUrlOf(flags.advertiseUrl),
    imageKeep,
    ipxeEfiPath: flags.ipxeEfi,
    dhcp: dhcpSettings(flags),
    compactionRetentionMs,
    auditRetentionDays,
    stateSetter: stateSetterSettings(flags),
    repairs: repairSettings(flags),
  };
}

function repairSettings(flags: ServeFlags): RepairSettings {
  const intervalMs = parseDuration(flags.repairInterval, '--repair-interval');
  if (intervalMs < 1000) throw new UserError('--repair-interval must be at least 1s', 2);
  return {
    run: flags.repairs,
    config: {
      afterMs: parseDuration(flags.repairAfter, '--repair-after'),
      maxInRepair: wholeNumber(flags.repairMax, '--repair-max', 1, 'machines'),
      perRack: wholeNumber(flags.repairPerRack, '--repair-per-rack', 1, 'machines'),
      maxAttempts: wholeNumber(flags.repairAttempts, '--repair-attempts', 1, 'power cycles'),
      attemptWaitMs: parseDuration(flags.repairWait, '--repair-wait'),
      maxFaulty: wholeNumber(flags.repairMaxFaulty, '--repair-max-faulty', 0, 'machines'),
    },
    intervalMs,
    bmcPorts: bmcPortsFrom(process.env),
  };
}

function wholeNumber(text: string, flag: string, least: number, unit: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < least)
    throw new UserError(`${flag} must be a whole number of ${unit} (${least} or more), got ${text}`, 2);
  return value;
}

function stateSetterSettings(flags: ServeFlags): StateSetterSettings | undefined {
  if (flags.stateSetterSerf === undefined) return undefined;
  const address = parseListen(flags.stateSetterSerf, '--state-setter-serf');
  const intervalMs = parseDuration(flags.stateSetterInterval, '--state-setter-interval');
  if (intervalMs < 1000) throw new UserError('--state-setter-interval must be at least 1s', 2);
  let defaultGraceMs = 60_000;
  const graceMs: Record<string, number> = {};
  for (const part of flags.stateSetterGrace
    .split(',')
    .map((text) => text.trim())
    .filter((text) => text !== '')) {
    const [type, duration] = part.includes('=') ? part.split('=', 2) : [undefined, part];
    const ms = parseDuration(duration!, '--state-setter-grace');
    if (type === undefined) defaultGraceMs = ms;
    else if (type === '') throw new UserError(`--state-setter-grace: "${part}" names no machine type before "="`, 2);
    else graceMs[type] = ms;
  }
  const authKey = process.env.YAGURA_STATE_SETTER_SERF_AUTH;
  return {
    serf: { host: address.host, port: address.port, ...(authKey ? { authKey } : {}) },
    intervalMs,
    graceMs,
    defaultGraceMs,
  };
}

function listener(text: string, flag: string): Listener {
  return { ...parseListen(text, flag), text };
}

function readTls(flags: ServeFlags): { cert: Buffer; key: Buffer } | undefined {
  if (!flags.tlsCert && !flags.tlsKey) return undefined;
  if (!flags.tlsCert || !flags.tlsKey) throw new UserError('--tls-cert and --tls-key go together: give both or neither', 2);
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new UserError(`${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
    }
  };
  return { cert: read(flags.tlsCert, '--tls-cert'), key: read(flags.tlsKey, '--tls-key') };
}

function advertiseUrlOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--advertise-url ${JSON.stringify(text)} is not a URL: write e.g. http://10.69.0.3:10080`, 2);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UserError('--advertise-url must be http:// or https://', 2);
  return url.toString().replace(/\/$/, '');
}

function dhcpSettings(flags: ServeFlags): DhcpSettings | undefined {
  if (flags.dhcpListen === 'off') return undefined;
  return {
    listen: listener(flags.dhcpListen, '--dhcp-listen'),
    localAddress: flags.dhcpLocalAddress === 'auto' ? undefined : ipv4(flags.dhcpLocalAddress, '--dhcp-local-address'),
    serverId: flags.dhcpServerId === undefined ? undefined : ipv4(flags.dhcpServerId, '--dhcp-server-id'),
  };
}

function ipv4(text: string, flag: string): number {
  const address = parseIPv4(text);
  if (address === undefined) throw new UserError(`${flag} ${JSON.stringify(text)} is not an IPv4 address`, 2);
  return address;
}
