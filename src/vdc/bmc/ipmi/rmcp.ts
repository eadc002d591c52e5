/**
 * The RMCP layer every IPMI-over-LAN datagram starts with (DMTF ASF 2.0,
 * section 3.2.2, and IPMI v2.0 section 13.1), and the one ASF message a BMC
 * must answer: the presence ping, with a pong that says "IPMI supported".
 */
import { IpmiParseError, need } from './parse-error.js';

export const RMCP_VERSION_1_0 = 0x06;
/** Sequence number 255: the sender wants no RMCP ACK (IPMI messages always use it). */
export const RMCP_NO_ACK = 0xff;

export const RmcpClass = { ASF: 0x06, IPMI: 0x07 } as const;
export type RmcpClass = (typeof RmcpClass)[keyof typeof RmcpClass];

export interface RmcpPacket {
  sequence: number;
  class: RmcpClass;
  /** What follows the 4-byte RMCP header. */
  body: Buffer;
}

export function parseRmcp(datagram: Buffer): RmcpPacket {
  need(datagram, 4, 'RMCP header');
  if (datagram[0] !== RMCP_VERSION_1_0) throw new IpmiParseError('bad-rmcp-version', `RMCP version ${datagram[0]}`);
  const classByte = datagram[3]!;
  // An RMCP ACK (bit 7) acknowledges something we never send, so it is refused with the unknown classes.
  if (classByte !== RmcpClass.ASF && classByte !== RmcpClass.IPMI)
    throw new IpmiParseError('unsupported-rmcp-class', `RMCP class byte ${hex(classByte)}`);
  return { sequence: datagram[2]!, class: classByte, body: datagram.subarray(4) };
}

export function encodeRmcp(rmcpClass: RmcpClass, body: Uint8Array, sequence = RMCP_NO_ACK): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out[0] = RMCP_VERSION_1_0;
  out[2] = sequence;
  out[3] = rmcpClass;
  out.set(body, 4);
  return out;
}

/** The IANA enterprise number of the ASF message namespace (4542). */
export const ASF_IANA = 0x000011be;
const ASF_PRESENCE_PING = 0x80;
const ASF_PRESENCE_PONG = 0x40;
/** Supported entities byte of the pong: bit 7 "IPMI supported", low nibble ASF version 1.0. */
const PONG_ENTITIES_IPMI = 0x81;

/** Reads an ASF presence ping and returns its message tag, which the pong must echo. */
export function parseAsfPing(body: Buffer): { tag: number } {
  need(body, 8, 'ASF message header');
  const iana = body.readUInt32BE(0);
  const type = body[4]!;
  if (iana !== ASF_IANA || type !== ASF_PRESENCE_PING)
    throw new IpmiParseError('unsupported-asf-message', `ASF message type ${hex(type)} under IANA ${iana}`);
  const dataLength = body[7]!;
  need(body, 8 + dataLength, 'ASF presence ping');
  return { tag: body[5]! };
}

export function encodeAsfPing(tag: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(ASF_IANA, 0);
  body[4] = ASF_PRESENCE_PING;
  body[5] = tag;
  return body;
}

/** The pong body (ASF 2.0 section 3.2.4.3): no OEM data, IPMI supported, no ASF interactions. */
export function encodeAsfPong(tag: number): Buffer {
  const body = Buffer.alloc(8 + 16);
  body.writeUInt32BE(ASF_IANA, 0);
  body[4] = ASF_PRESENCE_PONG;
  body[5] = tag;
  body[7] = 16;
  body.writeUInt32BE(ASF_IANA, 8);
  // Bytes 12–15: OEM-defined, zero.
  body[16] = PONG_ENTITIES_IPMI;
  // Byte 17: supported interactions, none; 18–23 reserved.
  return body;
}

export function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}
