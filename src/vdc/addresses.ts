/**
 * Interface addresses in CIDR form ("10.0.0.1/24", "fd00::1/64") for the
 * virtual data center: parsing IPv4 and IPv6 into one numeric form so that
 * containment and duplicates can be checked the same way for both families.
 */

export interface InterfaceAddress {
  /** Canonical text: "10.0.0.1/24", "fd00::1/64" (IPv6 lower-case and compressed). */
  cidr: string;
  /** The address alone, canonical: "10.0.0.1". */
  address: string;
  prefixLength: number;
  family: 4 | 6;
  /** The network the address is in, canonical: "10.0.0.0/24". */
  network: string;
}

/** The problem with `text` as an interface address, or the parsed address. */
export function parseInterfaceAddress(text: string): InterfaceAddress | { problem: string } {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!match) return { problem: 'must be an address with a prefix length, e.g. 10.0.0.1/24 or fd00::1/64' };
  const parsed = parseIp(match[1]!);
  if (!parsed) return { problem: `"${match[1]}" is not an IPv4 or IPv6 address` };
  const width = parsed.family === 4 ? 32 : 128;
  const prefixLength = Number(match[2]);
  if (prefixLength > width || /^0\d/.test(match[2]!))
    return { problem: `prefix length must be 0–${width} for an IPv${parsed.family} address` };
  const hostBits = BigInt(width - prefixLength);
  const hostMask = (1n << hostBits) - 1n;
  const host = parsed.value & hostMask;
  // A /31 or /32 (/127, /128) has no network or broadcast address to avoid.
  if (hostBits >= 2n && host === 0n)
    return {
      problem: `${match[1]} is the network address of /${prefixLength}; give a host address, e.g. ${formatIp(parsed.family, parsed.value + 1n)}/${prefixLength}`,
    };
  if (parsed.family === 4 && hostBits >= 2n && host === hostMask)
    return { problem: `${match[1]} is the broadcast address of /${prefixLength}; give a host address` };
  const address = formatIp(parsed.family, parsed.value);
  return {
    cidr: `${address}/${prefixLength}`,
    address,
    prefixLength,
    family: parsed.family,
    network: `${formatIp(parsed.family, parsed.value & ~hostMask)}/${prefixLength}`,
  };
}

/** Whether `address` lies inside `range`'s network (same family, same leading prefix bits). */
export function networkContains(range: InterfaceAddress, address: InterfaceAddress): boolean {
  if (range.family !== address.family) return false;
  const width = range.family === 4 ? 32 : 128;
  const shift = BigInt(width - range.prefixLength);
  return parseIp(range.address)!.value >> shift === parseIp(address.address)!.value >> shift;
}

interface Ip {
  family: 4 | 6;
  value: bigint;
}

function parseIp(text: string): Ip | undefined {
  if (!text.includes(':')) {
    const value = parseIPv4(text);
    return value === undefined ? undefined : { family: 4, value };
  }
  const value = parseIPv6(text);
  return value === undefined ? undefined : { family: 6, value };
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256n + BigInt(part);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (piece.includes('.')) {
        // An embedded IPv4 address may only be the last piece ("::ffff:10.0.0.1").
        const v4 = i === pieces.length - 1 ? parseIPv4(piece) : undefined;
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(piece)) return undefined;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero groups (the first one on a tie).
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
