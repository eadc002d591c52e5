/** IPv4 addresses as unsigned 32-bit numbers: parsing, formatting, masks. */

export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** The mask with `bits` leading ones, as a number. */
export function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export interface CidrV4 {
  network: number;
  bits: number;
}

/** Parses "a.b.c.d/n"; `hostBitsZero` refuses a CIDR whose host part is not zero. */
export function parseCidrV4(text: string, hostBitsZero = true): CidrV4 | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) return undefined;
  const address = parseIPv4(match[1]!);
  const bits = Number(match[2]);
  if (address === undefined || bits > 32) return undefined;
  if (hostBitsZero && (address & ~maskOf(bits)) >>> 0 !== 0) return undefined;
  return { network: (address & maskOf(bits)) >>> 0, bits };
}

export function cidrContains(cidr: CidrV4, address: number): boolean {
  return (address & maskOf(cidr.bits)) >>> 0 === cidr.network;
}

/** The number of addresses in a CIDR (2^(32-bits)). */
export function cidrSize(cidr: CidrV4): number {
  return 2 ** (32 - cidr.bits);
}
