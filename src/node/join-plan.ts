/**
 * The decisions of `yagura node join` (pure): what the DHCP lease says, which
 * boot servers to ask, which template the node gets, and which address
 * changes turn the namespace into the node its network.conf describes. The
 * I/O (udhcpc, HTTP, `ip`) is in join.ts and its helpers.
 */
import { parseIPv4 } from '../lib/ipv4.js';
import { newestVersion } from '../lib/versions.js';
import type { NetworkConf } from './network-conf.js';

/** A lease as udhcpc reports it to libexec/yagura-udhcpc.script. */
export interface Lease {
  device: string;
  address: string;
  prefixLength: number;
  /** The first router (option 3): the ToR, through which the boot servers are reached. */
  router?: string;
  /** The DHCP server identifier (option 54): the boot server that answered. */
  serverId?: string;
  leaseSeconds?: number;
}

export class LeaseReportError extends Error {
  override name = 'LeaseReportError';
}

/** The script's report: `key=value` lines (interface, ip, mask, router, serverid, lease). */
export function parseLeaseReport(text: string): Lease {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const device = values.get('interface') ?? '';
  const address = values.get('ip') ?? '';
  if (device === '' || parseIPv4(address) === undefined)
    throw new LeaseReportError(`the DHCP client reported no usable lease: ${JSON.stringify(text.trim())}`);
  const prefixLength = Number(values.get('mask') ?? 'NaN');
  if (!Number.isInteger(prefixLength) || prefixLength < 1 || prefixLength > 32)
    throw new LeaseReportError(`the lease of ${address} has no subnet mask: ${JSON.stringify(text.trim())}`);
  const router = (values.get('router') ?? '').split(/\s+/).find((r) => parseIPv4(r) !== undefined);
  const serverId = values.get('serverid');
  const leaseSeconds = Number(values.get('lease'));
  return {
    device,
    address,
    prefixLength,
    ...(router ? { router } : {}),
    ...(serverId && parseIPv4(serverId) !== undefined ? { serverId } : {}),
    ...(Number.isInteger(leaseSeconds) && leaseSeconds > 0 ? { leaseSeconds } : {}),
  };
}

/** The boot servers to try, in order: those given (--boot-server), then the one whose DHCP server answered. */
export function bootServerUrls(given: readonly string[], lease: Lease, port: number): string[] {
  const urls = given.map((url) => url.replace(/\/+$/, ''));
  if (lease.serverId) urls.push(`http://${lease.serverId}:${port}`);
  return [...new Set(urls)];
}

/** The template a machine of a role gets: the highest version, as the boot server's iPXE script chooses it. */
export function templateToApply(ids: readonly string[]): string | undefined {
  return newestVersion(ids);
}

/** The path of a machine's rendered Ignition config (what the node OS's ignition.config.url points at). */
export function renderedConfigPath(serial: string, id: string): string {
  return `/api/v1/boot/ignitions/${encodeURIComponent(serial)}/${encodeURIComponent(id)}`;
}

/** Just enough to reach the boot servers: the leased address and a default route through the router. */
export function leaseAddressCommands(lease: Lease): string[] {
  return [
    `link set ${lease.device} up`,
    `address replace ${lease.address}/${lease.prefixLength} dev ${lease.device}`,
    ...(lease.router ? [`route replace default via ${lease.router} dev ${lease.device}`] : []),
  ];
}

/** An interface as `ip -j address show` describes it, reduced to what the plan looks at. */
export interface ObservedInterface {
  device: string;
  up: boolean;
  /** IPv4 addresses as A/M. */
  ipv4: string[];
}

export class NetworkPlanError extends Error {
  override name = 'NetworkPlanError';
}

/**
 * `ip -batch` commands that make the namespace match network.conf: node0/32
 * on lo, each uplink with exactly its address (which drops the DHCP address
 * and, with the interface's last address, the routes through it). Nothing for
 * what already matches, so a second run changes nothing. An uplink that names
 * no interface of the namespace is an error.
 */
export function planNetwork(conf: NetworkConf, observed: readonly ObservedInterface[], lease?: Lease): string[] {
  const byDevice = new Map(observed.map((link) => [link.device, link]));
  const commands: string[] = [];
  const lo = byDevice.get('lo');
  if (!lo?.ipv4.includes(`${conf.node0}/32`)) commands.push(`address add ${conf.node0}/32 dev lo`);
  if (!lo?.up) commands.push('link set lo up');
  for (const uplink of conf.uplinks) {
    const link = byDevice.get(uplink.device);
    if (!link)
      throw new NetworkPlanError(
        `uplink ${uplink.device}: no such interface here (have: ${observed.map((l) => l.device).join(', ') || 'none'})`,
      );
    const wanted = `${uplink.address}/${uplink.prefixLength}`;
    if (link.ipv4.length !== 1 || link.ipv4[0] !== wanted)
      commands.push(
        ...(link.ipv4.length > 0 ? [`address flush dev ${uplink.device} scope global`] : []),
        `address add ${wanted} dev ${uplink.device}`,
      );
    if (!link.up) commands.push(`link set ${uplink.device} up`);
  }
  // The DHCP address on an interface that is no uplink goes too: the node is reached at node0 from now on.
  if (lease && !conf.uplinks.some((uplink) => uplink.device === lease.device)) {
    const leased = `${lease.address}/${lease.prefixLength}`;
    if (byDevice.get(lease.device)?.ipv4.includes(leased)) commands.push(`address del ${leased} dev ${lease.device}`);
  }
  return commands;
}

/** `ip -j address show` → the interfaces the plan looks at. */
export function observedInterfaces(json: unknown): ObservedInterface[] {
  if (!Array.isArray(json)) return [];
  return json.map((entry: Record<string, unknown>) => {
    const flags = Array.isArray(entry.flags) ? (entry.flags as string[]) : [];
    const info = Array.isArray(entry.addr_info) ? (entry.addr_info as Record<string, unknown>[]) : [];
    return {
      device: String(entry.ifname),
      up: flags.includes('UP'),
      ipv4: info.filter((a) => a.family === 'inet').map((a) => `${String(a.local)}/${String(a.prefixlen)}`),
    };
  });
}
