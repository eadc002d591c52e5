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
