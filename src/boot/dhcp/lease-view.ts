/**
 * The DHCP leases as GET /api/v1/dhcp/leases shows them and `yagura dhcp
 * leases` reads them: one JSON array in address order, with dotted addresses
 * and ISO times. A lease key that holds no lease is an entry of its own, with
 * state "corrupt", its key and the error, so that a tool sees it instead of a
 * silently shorter list. Pure.
 */
import { formatIPv4 } from '../../lib/ipv4.js';
import type { LeaseListing, LeaseRecord } from './leases.js';

export interface LeaseEntry {
  address: string;
  mac: string;
  state: LeaseRecord['state'];
  /** When the address is free again (ISO 8601, UTC). */
  expires: string;
  hostname?: string;
}

export interface CorruptLeaseEntry {
  /** The address the key names; absent when the key names none. */
  address?: string;
  state: 'corrupt';
  /** The store key to repair or delete. */
  key: string;
  error: string;
}

export type LeaseListEntry = LeaseEntry | CorruptLeaseEntry;

/** The listing as one array in address order; corrupt keys that name no address come last. */
export function leaseEntries(listing: LeaseListing): LeaseListEntry[] {
  const entries: [number, LeaseListEntry][] = [
    ...listing.leases.map((lease): [number, LeaseListEntry] => [
      lease.address,
      {
        address: formatIPv4(lease.address),
        mac: lease.mac,
        state: lease.state,
        expires: new Date(lease.expires).toISOString(),
        ...(lease.hostname !== undefined ? { hostname: lease.hostname } : {}),
      },
    ]),
    ...listing.corrupt.map((corrupt): [number, LeaseListEntry] => [
      corrupt.address ?? Infinity,
      {
        ...(corrupt.address !== undefined ? { address: formatIPv4(corrupt.address) } : {}),
        state: 'corrupt',
        key: corrupt.key,
        error: corrupt.error,
      },
    ]),
  ];
  // Stable: corrupt keys without an address keep their key order.
  return entries.sort(([a], [b]) => (a === b ? 0 : a - b)).map(([, entry]) => entry);
}
