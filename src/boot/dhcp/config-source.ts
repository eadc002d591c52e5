/** IPAM and DHCP config for the DHCP hot path: read from the store at most once per `ttlMs`. */
import type { Inventory } from '../../inventory/inventory.js';
import { isKind } from '../../lib/errors.js';
import type { DhcpConfig, IpamConfig } from '../../inventory/model.js';

export function cachedConfig(inventory: Inventory, ttlMs = 1000): () => Promise<{ ipam?: IpamConfig; dhcp: DhcpConfig }> {
  let cached: { at: number; value: Promise<{ ipam?: IpamConfig; dhcp: DhcpConfig }> } | undefined;
  const load = async () => {
    const ipam = await inventory.config.getIpam().catch((error: unknown) => {
      if (isKind(error, 'not-found')) return undefined;
      throw error;
    });
    return { ipam, dhcp: await inventory.config.getDhcp() };
  };
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > ttlMs) {
      const value = load();
      value.catch(() => (cached = undefined));
      cached = { at: now, value };
    }
    return cached.value;
  };
}
