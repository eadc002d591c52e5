/**
 * DHCPv4 packets (RFC 2131 §2, figure 1) to and from bytes, without sockets.
 *
 * Parsing accepts any DHCP packet of message type 1–8 that a conforming
 * client, relay or server sends, with option overload (52) and long options
 * split over several instances (RFC 3396), and refuses everything else —
 * BOOTP and the lease-query types included — with a DhcpParseError and a
 * reason. Whether op is BOOTREQUEST is for the server to check.
 * It is bounded: input over MAX_DHCP_PACKET_BYTES is refused before it is
 * read, and the work is one pass over the bytes. Checks run in layout order
 * (size, op, hlen, cookie, options, overload, message type), so a packet with
 * several faults is refused for the first.
 *
 * Encoding writes the message type first and then the options in map order,
 * each split into 255-byte instances when longer; it never uses overload, so
 * sname and file keep their meaning for PXE ROMs. The packet fits the client's
 * maximum message size: an option that does not fit is left out whole (never
 * cut short), later options may still fit, and the caller learns which codes
 * were dropped. Options the caller marks required are refused instead. Short
 * packets are zero-padded to the 300 bytes BOOTP relays expect.
 */
import { formatHardwareAddress, parseHardwareAddress } from './hardware-address.js';
import { DhcpEncodeError, DhcpParseError } from './codec-errors.js';
import { DhcpOption, type DhcpMessageType, type DhcpOptions, isDhcpMessageType } from './options.js';
import { optionWireLength, readOptionStream, writeOption } from './option-stream.js';

export const BootOp = { REQUEST: 1, REPLY: 2 } as const;
export type BootOp = (typeof BootOp)[keyof typeof BootOp];

export interface DhcpPacket {
  /** BOOTREQUEST (1) from clients and relays, BOOTREPLY (2) from servers. */
  op: BootOp;
  /** Hardware type (1 = Ethernet). */
  htype: number;
  /** Hardware address length; the number of bytes in `chaddr`. */
  hlen: number;
  /** Relay hops. */
  hops: number;
  /** Transaction ID, an unsigned 32-bit number. */
  xid: number;
  /** Seconds since the client began acquiring an address. */
  secs: number;
  /** The broadcast bit of flags: the client cannot receive unicast before it has an address. */
  broadcast: boolean;
  /** Addresses as unsigned 32-bit numbers (see lib/ipv4), 0 when unset. */
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** The first hlen bytes of chaddr as "aa:bb:cc:dd:ee:ff"; "" when hlen is 0. */
  chaddr: string;
  /** Server host name and boot file name; "" when unset or when the field carries overloaded options. */
  sname: string;
  file: string;
  messageType: DhcpMessageType;
  /** Every other option, unknown ones included, joined across instances and fields, in order of first appearance. */
  options: DhcpOptions;
}

/** Larger than any packet a DHCP client sends (they stay under a 1500-byte MTU), small enough to parse in microseconds. */
export const MAX_DHCP_PACKET_BYTES = 4096;
/** The BOOTP minimum packet size (RFC 951: a 64-byte vend field); encoded packets are padded to it. */
export const BOOTP_MIN_PACKET_BYTES = 300;
/** What a client that sends no option 57 can receive (RFC 2131 §2), counting the IP and UDP headers. */
export const DEFAULT_MAX_MESSAGE_SIZE = 576;

export interface EncodeLimits {
  /**
   * The client's maximum DHCP message size (option 57): the whole IP datagram,
   * headers included. Values under 576, which RFC 2132 forbids, count as 576.
   */
  maxMessageSize?: number;
  /** Option codes that must not be dropped: encoding throws DhcpEncodeError('oversized') rather than leave one out. */
  required?: Iterable<number>;
}

export interface EncodedPacket {
  bytes: Buffer;
  /** Codes of the options that did not fit and were left out, in map order. */
  dropped: number[];
}

export function parseDhcpPacket(input: Uint8Array): DhcpPacket {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length > MAX_DHCP_PACKET_BYTES) {
    throw new DhcpParseError('oversized', `packet of ${buf.length} bytes is over the ${MAX_DHCP_PACKET_BYTES}-byte limit`);
  }
  if (buf.length < OPTIONS_AT) {
    throw new DhcpParseError(
      'truncated',
      `packet of ${buf.length} bytes is shorter than the ${OPTIONS_AT}-byte header and cookie`,
    );
  }
  const op = buf[OP]!;
  if (op !== BootOp.REQUEST && op !== BootOp.REPLY) {
    throw new DhcpParseError('bad-op', `op ${op} is neither 1 (request) nor 2 (reply)`);
  }
  const hlen = buf[HLEN]!;
  if (hlen > CHADDR_BYTES) throw new DhcpParseError('bad-hlen', `hlen ${hlen} is over the ${CHADDR_BYTES}-byte chaddr field`);
  if (buf.readUInt32BE(COOKIE) !== MAGIC_COOKIE) {
    throw new DhcpParseError('bad-cookie', `magic cookie is 0x${buf.readUInt32BE(COOKIE).toString(16)}, not 99.130.83.99`);
  }

  const instances = new Map<number, Buffer[]>();
  readOptionStream(buf.subarray(OPTIONS_AT), 'options', instances);
  const overload = takeOverload(instances);
  if (overload & OVERLOAD_FILE) readOptionStream(buf.subarray(FILE, FILE + FILE_BYTES), 'file', instances);
  if (overload & OVERLOAD_SNAME) readOptionStream(buf.subarray(SNAME, SNAME + SNAME_BYTES), 'sname', instances);
  if (instances.has(DhcpOption.OVERLOAD)) throw new DhcpParseError('bad-overload', 'option 52 inside an overloaded field');
  const messageType = takeMessageType(instances);

  return {
    op,
    htype: buf[HTYPE]!,
    hlen,
    hops: buf[HOPS]!,
    xid: buf.readUInt32BE(XID),
    secs: buf.readUInt16BE(SECS),
    broadcast: (buf.readUInt16BE(FLAGS) & BROADCAST_FLAG) !== 0,
    ciaddr: buf.readUInt32BE(CIADDR),
    yiaddr: buf.readUInt32BE(YIADDR),
    siaddr: buf.readUInt32BE(SIADDR),
    giaddr: buf.readUInt32BE(GIADDR),
    chaddr: formatHardwareAddress(buf.subarray(CHADDR, CHADDR + hlen)),
    sname: overload & OVERLOAD_SNAME ? '' : fieldText(buf, SNAME, SNAME_BYTES),
    file: overload & OVERLOAD_FILE ? '' : fieldText(buf, FILE, FILE_BYTES),
    messageType,
    // Copies, so the packet neither pins nor aliases the receive buffer.
    options: new Map([...instances].map(([code, values]) => [code, Buffer.concat(values)])),
  };
}

export function encodeDhcpPacket(packet: DhcpPacket, limits: EncodeLimits = {}): Buffer {
  return encodeDhcpPacketDetailed(packet, limits).bytes;
}

/** Like encodeDhcpPacket, and says which options were left out to fit the client's maximum message size. */
export function encodeDhcpPacketDetailed(packet: DhcpPacket, limits: EncodeLimits = {}): EncodedPacket {
  const chaddr = checkHeader(packet);
  const asked = limits.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (!Number.isInteger(asked)) throw new DhcpEncodeError('bad-field', `maxMessageSize ${asked} is not an integer`);
  const maxMessageSize = Math.max(asked, DEFAULT_MAX_MESSAGE_SIZE);
  const required = new Set(limits.required ?? []);

  // Room for options after the message type (3 bytes) and before end (1 byte).
  let room = maxMessageSize - IP_UDP_HEADER_BYTES - OPTIONS_AT - 3 - 1;
  const kept: [number, Buffer][] = [];
  const dropped: number[] = [];
  for (const [code, value] of packet.options) {
    checkOption(code, value);
    const size = optionWireLength(value.length);
    if (size <= room) {
      kept.push([code, value]);
      room -= size;
    } else if (required.has(code)) {
      throw new DhcpEncodeError(
        'oversized',
        `required option ${code} (${value.length} bytes) does not fit in a ${maxMessageSize}-byte message with the options before it`,
      );
    } else {
      dropped.push(code);
    }
  }

  const optionBytes = 3 + kept.reduce((sum, [, value]) => sum + optionWireLength(value.length), 0) + 1;
  const buf = Buffer.alloc(Math.max(BOOTP_MIN_PACKET_BYTES, OPTIONS_AT + optionBytes));
  buf[OP] = packet.op;
  buf[HTYPE] = packet.htype;
  buf[HLEN] = packet.hlen;
  buf[HOPS] = packet.hops;
  buf.writeUInt32BE(packet.xid, XID);
  buf.writeUInt16BE(packet.secs, SECS);
  buf.writeUInt16BE(packet.broadcast ? BROADCAST_FLAG : 0, FLAGS);
  buf.writeUInt32BE(packet.ciaddr, CIADDR);
  buf.writeUInt32BE(packet.yiaddr, YIADDR);
  buf.writeUInt32BE(packet.siaddr, SIADDR);
  buf.writeUInt32BE(packet.giaddr, GIADDR);
  chaddr.copy(buf, CHADDR);
  buf.write(packet.sname, SNAME, 'utf8');
  buf.write(packet.file, FILE, 'utf8');
  buf.writeUInt32BE(MAGIC_COOKIE, COOKIE);
  let at = writeOption(buf, OPTIONS_AT, DhcpOption.MESSAGE_TYPE, Buffer.of(packet.messageType));
  for (const [code, value] of kept) at = writeOption(buf, at, code, value);
  buf[at] = 255; // end; the rest is already zero (pad)
  return { bytes: buf, dropped };
}

// RFC 2131 figure 1: byte offsets of the fixed fields.
const OP = 0;
const HTYPE = 1;
const HLEN = 2;
const HOPS = 3;
const XID = 4;
const SECS = 8;
const FLAGS = 10;
const CIADDR = 12;
const YIADDR = 16;
const SIADDR = 20;
const GIADDR = 24;
const CHADDR = 28;
const CHADDR_BYTES = 16;
const SNAME = 44;
const SNAME_BYTES = 64;
const FILE = 108;
const FILE_BYTES = 128;
const COOKIE = 236;
const OPTIONS_AT = 240;
const MAGIC_COOKIE = 0x63825363;
const BROADCAST_FLAG = 0x8000;
const IP_UDP_HEADER_BYTES = 28;
const OVERLOAD_FILE = 1;
const OVERLOAD_SNAME = 2;

/** Removes option 52 from the options read so far and returns which fields it overloads (0 when absent). */
function takeOverload(instances: Map<number, Buffer[]>): number {
  const values = instances.get(DhcpOption.OVERLOAD);
  if (values === undefined) return 0;
  instances.delete(DhcpOption.OVERLOAD);
  const value = Buffer.concat(values);
  const overload = value[0];
  if (value.length !== 1 || overload === undefined || overload < 1 || overload > 3) {
    throw new DhcpParseError(
      'bad-overload',
      `option 52 must be one byte of 1, 2 or 3, got ${value.length} bytes (${value.toString('hex')})`,
      52,
    );
  }
  return overload;
}

function takeMessageType(instances: Map<number, Buffer[]>): DhcpMessageType {
  const values = instances.get(DhcpOption.MESSAGE_TYPE);
  if (values === undefined) throw new DhcpParseError('missing-message-type', 'no message type (option 53): a BOOTP packet', 53);
  instances.delete(DhcpOption.MESSAGE_TYPE);
  const value = Buffer.concat(values);
  const type = value[0];
  if (value.length !== 1 || type === undefined || !isDhcpMessageType(type)) {
    throw new DhcpParseError(
      'bad-message-type',
      `message type (option 53) must be one byte of 1–8, got ${value.toString('hex') || 'nothing'}`,
      53,
    );
  }
  return type;
}

/** A NUL-terminated text field; a field filled to the end without a NUL is taken whole. */
function fieldText(buf: Buffer, offset: number, size: number): string {
  const field = buf.subarray(offset, offset + size);
  const nul = field.indexOf(0);
  return field.toString('utf8', 0, nul === -1 ? size : nul);
}

/** Checks the header fields and returns the chaddr bytes. */
function checkHeader(packet: DhcpPacket): Buffer {
  if (packet.op !== BootOp.REQUEST && packet.op !== BootOp.REPLY) throw badField('op', packet.op, '1 (request) or 2 (reply)');
  if (!isDhcpMessageType(packet.messageType)) throw badField('messageType', packet.messageType, '1–8');
  for (const [name, bits] of [
    ['htype', 8],
    ['hops', 8],
    ['secs', 16],
    ['xid', 32],
    ['ciaddr', 32],
    ['yiaddr', 32],
    ['siaddr', 32],
    ['giaddr', 32],
  ] as const) {
    const value = packet[name];
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
      throw badField(name, value, `an unsigned ${bits}-bit number`);
    }
  }
  const chaddr = parseHardwareAddress(packet.chaddr);
  if (chaddr === undefined || chaddr.length > CHADDR_BYTES) {
    throw badField('chaddr', packet.chaddr, 'up to 16 hex bytes like aa:bb:cc');
  }
  if (packet.hlen !== chaddr.length) throw badField('hlen', packet.hlen, `the ${chaddr.length} bytes of chaddr`);
  // One byte short of the field, so the NUL that old PXE ROMs look for is always there.
  checkText('sname', packet.sname, SNAME_BYTES - 1);
  checkText('file', packet.file, FILE_BYTES - 1);
  return chaddr;
}

function checkText(name: string, text: string, maxBytes: number): void {
  if (text.includes('\0') || Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new DhcpEncodeError(
      'bad-field',
      `${name} must be at most ${maxBytes} UTF-8 bytes without NUL: ${JSON.stringify(text)}`,
    );
  }
}

function checkOption(code: number, value: unknown): void {
  if (!Number.isInteger(code) || code < 1 || code > 254 || code === DhcpOption.OVERLOAD || code === DhcpOption.MESSAGE_TYPE) {
    throw new DhcpEncodeError(
      'bad-option',
      `option code ${code} cannot be set in options: use 1–254; 52 (overload) is the encoder's, 53 is messageType`,
    );
  }
  if (!(value instanceof Uint8Array)) throw new DhcpEncodeError('bad-option', `option ${code} must be a Buffer`);
}

function badField(name: string, value: unknown, expected: string): DhcpEncodeError {
  return new DhcpEncodeError('bad-field', `${name} is ${JSON.stringify(value)}; expected ${expected}`);
}
