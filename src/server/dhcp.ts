/** The boot server's DHCP part: settings to a running DhcpServer, with one clear line for each way it cannot start. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { cachedConfig } from '../boot/dhcp/config-source.js';
import { DhcpLeaseRepository } from '../boot/dhcp/leases.js';
import { cachedLocalNodeAddress } from '../boot/dhcp/local-address.js';
import { bootBaseUrl } from '../boot/dhcp/policy.js';
import { DhcpServer } from '../boot/dhcp/server.js';
import { chainScriptPath } from '../boot/ipxe.js';
import type { Inventory } from '../inventory/inventory.js';
import { UserError } from '../lib/errors.js';
import type { Store } from '../store/interface.js';
import type { DhcpSettings } from './config.js';
import { listenerText } from './listen.js';

export interface DhcpContext {
  store: Store;
  inventory: Inventory;
  metrics: Registry;
  logger: Logger;
  /** Where clients fetch boot files; undefined: the API's own address when it listens on one, else the server identifier they got (bootBaseUrl). */
  advertiseUrl: string | undefined;
  /** The address the HTTP API listens on, as given (0.0.0.0 for all). */
  apiHost: string;
  apiPort: number;
}

export async function startDhcp(settings: DhcpSettings, context: DhcpContext): Promise<DhcpServer> {
  const localNodeAddress = cachedLocalNodeAddress();
  const server = new DhcpServer({
    leases: new DhcpLeaseRepository(context.store),
    config: cachedConfig(context.inventory),
    listen: { host: settings.listen.host, port: settings.listen.port },
    localAddress: (ipam) => settings.localAddress ?? localNodeAddress(ipam),
    serverId: settings.serverId,
    bootUrls: (serverId) => {
      const { advertiseUrl, apiHost: listenHost, apiPort: port } = context;
      const base = bootBaseUrl({ advertiseUrl, listenHost, port, serverId });
      return { ipxeEfi: `${base}/api/v1/boot/ipxe.efi`, ipxeScript: `${base}${chainScriptPath()}` };
    },
    logger: context.logger.child({ part: 'dhcp' }),
    metrics: context.metrics,
  });
  try {
    await server.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `DHCP on ${listenerText(settings.listen)}`;
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
