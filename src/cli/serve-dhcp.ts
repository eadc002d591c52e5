/** The DHCP part of `yagura serve`: flags to a running DhcpServer, with one clear line for each way it cannot start. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { cachedConfig } from '../boot/dhcp/config-source.js';
import { LeaseStore } from '../boot/dhcp/leases.js';
import { cachedLocalNodeAddress } from '../boot/dhcp/local-address.js';
import { DhcpServer } from '../boot/dhcp/server.js';
import { chainScriptPath } from '../boot/ipxe.js';
import type { Inventory } from '../inventory/inventory.js';
import { UserError } from '../lib/errors.js';
import { formatIPv4, parseIPv4 } from '../lib/ipv4.js';
import { parseListen } from '../lib/listen.js';
import type { Store } from '../store/interface.js';

export interface DhcpFlags {
  dhcpListen: string;
  dhcpLocalAddress: string;
  dhcpServerId?: string;
  advertiseUrl?: string;
}

export function advertiseUrlOf(flags: DhcpFlags): string | undefined {
  if (flags.advertiseUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(flags.advertiseUrl);
  } catch {
    throw new UserError(
      `--advertise-url ${JSON.stringify(flags.advertiseUrl)} is not a URL: write e.g. http://10.69.0.3:10080`,
      2,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UserError('--advertise-url must be http:// or https://', 2);
  return url.toString().replace(/\/$/, '');
}

/** Starts the DHCP server unless --dhcp-listen is off; `apiPort` is where clients fetch boot files by default. */
export async function startDhcp(
  flags: DhcpFlags,
  context: { store: Store; inventory: Inventory; metrics: Registry; logger: Logger; apiPort: number },
): Promise<DhcpServer | undefined> {
  if (flags.dhcpListen === 'off') return undefined;
  const listen = parseListen(flags.dhcpListen, '--dhcp-listen');
  const fixedLocal = flags.dhcpLocalAddress === 'auto' ? undefined : parseAddress(flags.dhcpLocalAddress, '--dhcp-local-address');
  const serverId = flags.dhcpServerId === undefined ? undefined : parseAddress(flags.dhcpServerId, '--dhcp-server-id');
  const advertise = advertiseUrlOf(flags);
  const localNodeAddress = cachedLocalNodeAddress();
  const server = new DhcpServer({
    leases: new LeaseStore(context.store),
    config: cachedConfig(context.inventory),
    listen,
    localAddress: (ipam) => fixedLocal ?? localNodeAddress(ipam),
    serverId,
    bootUrls: (id) => {
      const base = advertise ?? `http://${formatIPv4(id)}:${context.apiPort}`;
      return { ipxeEfi: `${base}/api/v1/boot/ipxe.efi`, ipxeScript: `${base}${chainScriptPath()}` };
    },
    logger: context.logger.child({ part: 'dhcp' }),
    metrics: context.metrics,
  });
  try {
    await server.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `DHCP on ${flags.dhcpListen}`;
    if (code === 'EACCES')
      throw new UserError(
        `cannot listen for ${where}: permission denied (port 67 needs root); run as root or pass --dhcp-listen off`,
      );
    if (code === 'EADDRINUSE')
      throw new UserError(
        `cannot listen for ${where}: the port is in use (another DHCP server?); stop it or pass --dhcp-listen off`,
      );
    throw error;
  }
  return server;
}

function parseAddress(text: string, flag: string): number {
  const address = parseIPv4(text);
  if (address === undefined) throw new UserError(`${flag} ${JSON.stringify(text)} is not an IPv4 address`, 2);
  return address;
}
