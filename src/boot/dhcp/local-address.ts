/** Which of this host's addresses is on a directly attached node segment (inside the IPAM node pool). */
import { networkInterfaces } from 'node:os';
import type { IpamConfig } from '../../inventory/model.js';
import { cidrContains, parseCidrV4, parseIPv4 } from '../../lib/ipv4.js';

export function localNodeAddress(ipam: IpamConfig, addresses: string[] = hostAddresses()): number | undefined {
  const pool = parseCidrV4(ipam['node-ipv4-pool']);
  if (!pool) return undefined;
  for (const text of addresses) {
    const address = parseIPv4(text);
    if (address !== undefined && cidrContains(pool, address)) return address;
  }
  return undefined;
}

function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

/** localNodeAddress, re-reading the host's interfaces at most every `ttlMs` (it is asked on every packet). */
export function cachedLocalNodeAddress(ttlMs = 5000): (ipam: IpamConfig) => number | undefined {
  let cached: { at: number; pool: string; address: number | undefined } | undefined;
  return (ipam) => {
    const now = Date.now();
    if (!cached || cached.pool !== ipam['node-ipv4-pool'] || now - cached.at > ttlMs) {
      cached = { at: now, pool: ipam['node-ipv4-pool'], address: localNodeAddress(ipam) };
    }
    return cached.address;
  };
}
