/**
 * The IPMI v1.5 session wrapper (spec section 13.6, table 13-8). This BMC
 * speaks it only for the session-less Get Channel Authentication Capabilities
 * probe that ipmitool's lanplus interface sends first; it opens no v1.5
 * sessions, so every other v1.5 packet is dropped whatever its auth type.
 */
import { AuthType } from './protocol.js';
import { IpmiParseError, need } from './parse-error.js';

export interface V15Packet {
  authType: number;
  sequence: number;
  sessionId: number;
  /** Present unless the auth type is NONE; never checked, since no v1.5 session exists. */
  authCode?: Buffer;
  /** The IPMI message the length byte covers. */
  message: Buffer;
}

/** `body` is what follows the RMCP header; its first byte is an auth type other than RMCP+. */
export function parseV15(body: Buffer): V15Packet {
  need(body, 10, 'IPMI v1.5 session header');
  const authType = body[0]!;
  if (authType === AuthType.RMCP_PLUS) throw new IpmiParseError('bad-field', 'an RMCP+ header is not a v1.5 session header');
  const sequence = body.readUInt32LE(1);
  const sessionId = body.readUInt32LE(5);
  let offset = 9;
  let authCode: Buffer | undefined;
  if (authType !== AuthType.NONE) {
    need(body, offset + 17, 'IPMI v1.5 session header with auth code');
    authCode = body.subarray(offset, offset + 16);
    offset += 16;
  }
  const length = body[offset++]!;
  need(body, offset + length, 'IPMI v1.5 message');
  // The spec's "legacy PAD": some senders add one zero byte after the message.
  if (body.length > offset + length + 1)
    throw new IpmiParseError('trailing-bytes', `${body.length - offset - length} bytes after the message`);
  return { authType, sequence, sessionId, authCode, message: body.subarray(offset, offset + length) };
}

/** Session-less (auth type NONE, session 0, sequence 0) unless the fields say otherwise. */
export function encodeV15(packet: Partial<V15Packet> & { message: Uint8Array }): Buffer {
  const { authType = AuthType.NONE, sequence = 0, sessionId = 0, authCode, message } = packet;
  if (message.length > 255) throw new RangeError(`an IPMI v1.5 message holds at most 255 bytes, not ${message.length}`);
  if ((authType === AuthType.NONE) !== (authCode === undefined) || (authCode && authCode.length !== 16))
    throw new RangeError('a v1.5 auth code is 16 bytes, present exactly when the auth type is not NONE');
  const header = 10 + (authCode ? 16 : 0);
  const out = Buffer.alloc(header + message.length);
  out[0] = authType;
  out.writeUInt32LE(sequence >>> 0, 1);
  out.writeUInt32LE(sessionId >>> 0, 5);
  if (authCode) out.set(authCode, 9);
  out[header - 1] = message.length;
  out.set(message, header);
  return out;
}
