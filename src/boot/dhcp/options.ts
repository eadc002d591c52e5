/**
 * DHCP options by name (RFC 2132 and the PXE / UEFI additions), the message
 * types, and typed access to option values. A packet keeps its options as raw
 * bytes in a Map (insertion order = wire order); the getters below read a
 * value as a type and refuse one of the wrong size with
 * DhcpParseError('bad-option-value'), since those bytes come from the network.
 * The setters build values for replies and refuse values an option cannot
 * carry with DhcpEncodeError('bad-option').
 */
import { DhcpEncodeError, DhcpParseError } from './codec-errors.js';

/** Option code → raw value, in wire order. Pad, end, overload (52) and message type (53) never appear here. */
export type DhcpOptions = Map<number, Buffer>;

export const DhcpOption = {
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_IDENTIFIER: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS_IDENTIFIER: 60,
  CLIENT_IDENTIFIER: 61,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  USER_CLASS: 77,
  RELAY_AGENT_INFORMATION: 82,
  CLIENT_SYSTEM_ARCHITECTURE: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  IPXE_ENCAPSULATED: 175,
} as const;

export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

export type DhcpMessageType = (typeof DhcpMessageType)[keyof typeof DhcpMessageType];

const MESSAGE_TYPE_NAMES = new Map<number, string>(Object.entries(DhcpMessageType).map(([name, value]) => [value, name]));

export function isDhcpMessageType(value: number): value is DhcpMessageType {
  return MESSAGE_TYPE_NAMES.has(value);
}

/** "DISCOVER", "ACK", …; "TYPE9" for a type this codec does not know. */
export function messageTypeName(type: number): string {
  return MESSAGE_TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

// ---- getters: undefined when the option is absent, DhcpParseError when its bytes do not fit the type

export function getIPv4(options: DhcpOptions, code: number): number | undefined {
  const value = options.get(code);
  if (value === undefined) return undefined;
  expectLength(code, value, 4, 'an IPv4 address');
  return value.readUInt32BE(0);
}

export function getIPv4List(options: DhcpOptions, code: number): number[] | undefined {
  const value = options.get(code);
  if (value === undefined) return undefined;
  expectMultiple(code, value, 4, 'IPv4 addresses');
  return Array.from({ length: value.length / 4 }, (_, i) => value.readUInt32BE(i * 4));
}

export function getUint8(options: DhcpOptions, code: number): number | undefined {
  const value = options.get(code);
  if (value === undefined) return undefined;
  expectLength(code, value, 1, 'an 8-bit number');
  return value[0]!;
}

export function getUint16(options: DhcpOptions, code: number): number | undefined {
  const value = options.get(code);
  if (value === undefined) return undefined;
  expectLength(code, value, 2, 'a 16-bit number');
  return value.readUInt16BE(0);
}

export function getUint32(options: DhcpOptions, code: number): number | undefined {
  const value = options.get(code);
  if (value === undefined) return undefined;
  expectLength(code, value, 4, 'a 32-bit number');
  return value.readUInt32BE(0);
}

/** A list of 16-bit numbers, such as the client architectures of option 93. */
export function getUint16List(options: DhcpOptions, code: number): number[] | undefined {
  const value = options.get(code);
  if (value === undefined) return undefined;
  expectMultiple(code, value, 2, '16-bit numbers');
  return Array.from({ length: value.length / 2 }, (_, i) => value.readUInt16BE(i * 2));
}

/**
 * The value as UTF-8 text (RFC 2132 asks for ASCII; UTF-8 is its superset).
 * Trailing NUL bytes, which some clients add to option 12 or 60, are dropped;
 * bytes that are not UTF-8 become U+FFFD.
 */
export function getString(options: DhcpOptions, code: number): string | undefined {
  const value = options.get(code);
  if (value === undefined) return undefined;
  let end = value.length;
  while (end > 0 && value[end - 1] === 0) end -= 1;
  return value.toString('utf8', 0, end);
}

/**
 * The sub-options inside an encapsulating option — relay agent information
 * (82, RFC 3046) or iPXE's 175 — as code → value in order. They follow the
 * option syntax: 0 is skipped as pad, 255 ends the list, a repeated code is
 * joined to the earlier one.
 */
export function getSubOptions(options: DhcpOptions, code: number): DhcpOptions | undefined {
  const value = options.get(code);
  if (value === undefined) return undefined;
  const parts = new Map<number, Buffer[]>();
  let at = 0;
  while (at < value.length) {
    const sub = value[at]!;
    if (sub === 0) {
      at += 1;
      continue;
    }
    if (sub === 255) break;
    const length = value[at + 1];
    if (length === undefined || at + 2 + length > value.length) {
      throw new DhcpParseError('bad-option-value', `sub-option ${sub} of option ${code} runs past the option's end`, code);
    }
    const bytes = value.subarray(at + 2, at + 2 + length);
    const list = parts.get(sub);
    if (list) list.push(bytes);
    else parts.set(sub, [bytes]);
    at += 2 + length;
  }
  return new Map([...parts].map(([sub, list]) => [sub, Buffer.concat(list)]));
}

function expectLength(code: number, value: Buffer, length: number, what: string): void {
  if (value.length !== length) {
    throw new DhcpParseError(
      'bad-option-value',
      `option ${code} should be ${what} (${length} bytes) but has ${value.length}`,
      code,
    );
  }
}

function expectMultiple(code: number, value: Buffer, size: number, what: string): void {
  if (value.length === 0 || value.length % size !== 0) {
    throw new DhcpParseError(
      'bad-option-value',
      `option ${code} should be a list of ${what} (a non-zero multiple of ${size} bytes) but has ${value.length}`,
      code,
    );
  }
}

// ---- setters: replace the option's value; the option keeps its place if it was already set

export function setIPv4(options: DhcpOptions, code: number, address: number): void {
  options.set(code, uintBytes(code, address, 4));
}

export function setIPv4List(options: DhcpOptions, code: number, addresses: readonly number[]): void {
  nonEmpty(code, addresses);
  options.set(code, Buffer.concat(addresses.map((a) => uintBytes(code, a, 4))));
}

export function setUint8(options: DhcpOptions, code: number, value: number): void {
  options.set(code, uintBytes(code, value, 1));
}

export function setUint16(options: DhcpOptions, code: number, value: number): void {
  options.set(code, uintBytes(code, value, 2));
}

export function setUint32(options: DhcpOptions, code: number, value: number): void {
  options.set(code, uintBytes(code, value, 4));
}

export function setUint16List(options: DhcpOptions, code: number, values: readonly number[]): void {
  nonEmpty(code, values);
  options.set(code, Buffer.concat(values.map((v) => uintBytes(code, v, 2))));
}

/** UTF-8 text, at least one byte (RFC 2132 gives text options a minimum length of 1). */
export function setString(options: DhcpOptions, code: number, text: string): void {
  if (text === '') throw new DhcpEncodeError('bad-option', `option ${code} cannot carry an empty string`);
  options.set(code, Buffer.from(text, 'utf8'));
}

/** Sub-options (code 1–254, values up to 255 bytes each) packed into one encapsulating option. */
export function setSubOptions(options: DhcpOptions, code: number, subOptions: ReadonlyMap<number, Uint8Array>): void {
  const parts: Buffer[] = [];
  for (const [sub, value] of subOptions) {
    if (!Number.isInteger(sub) || sub < 1 || sub > 254 || value.length > 255) {
      throw new DhcpEncodeError('bad-option', `sub-option ${sub} of option ${code} needs a code 1–254 and at most 255 bytes`);
    }
    parts.push(Buffer.from([sub, value.length]), Buffer.from(value));
  }
  options.set(code, Buffer.concat(parts));
}

function uintBytes(code: number, value: number, bytes: 1 | 2 | 4): Buffer {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * bytes)) {
    throw new DhcpEncodeError('bad-option', `option ${code}: ${value} is not an unsigned ${8 * bytes}-bit number`);
  }
  const buffer = Buffer.alloc(bytes);
  buffer.writeUIntBE(value, 0, bytes);
  return buffer;
}

function nonEmpty(code: number, list: readonly unknown[]): void {
  if (list.length === 0) throw new DhcpEncodeError('bad-option', `option ${code} cannot carry an empty list`);
}
