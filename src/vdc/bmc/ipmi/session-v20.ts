/**
 * The IPMI v2.0 / RMCP+ session header and trailer (spec section 13.6, table
 * 13-8): auth type 06h, a payload type byte with the "encrypted" and
 * "authenticated" bits, session ID, session sequence number, payload length,
 * the payload, and — on authenticated packets — the integrity pad, pad
 * length, next header (07h) and the integrity auth code, which covers
 * everything from the auth type byte to the next header byte.
 *
 * This module only lays bytes out; computing and checking the auth code is
 * the caller's (it needs the session's K1), through `readSessionTrailer` and
 * the `sign` function given to `encodeV20`.
 */
import { AuthType, PayloadType } from './protocol.js';
import { IpmiParseError, need } from './parse-error.js';

const ENCRYPTED = 0x80;
const AUTHENTICATED = 0x40;
const NEXT_HEADER = 0x07;

export interface V20Packet {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  /** Only for payload type OEM_EXPLICIT (02h). */
  oem?: { iana: number; payloadId: number };
  sessionId: number;
  sequence: number;
  payload: Buffer;
  /** The session trailer after the payload; empty unless `authenticated`. */
  trailer: Buffer;
}

/** `body` is what follows the RMCP header. */
export function parseV20(body: Buffer): V20Packet {
  need(body, 12, 'RMCP+ session header');
  if (body[0] !== AuthType.RMCP_PLUS) throw new IpmiParseError('bad-field', `auth type ${body[0]} is not RMCP+`);
  const typeByte = body[1]!;
  const payloadType = typeByte & 0x3f;
  let offset = 2;
  let oem: V20Packet['oem'];
  if (payloadType === PayloadType.OEM_EXPLICIT) {
    need(body, 18, 'RMCP+ session header with OEM payload');
    oem = { iana: body.readUInt32LE(2), payloadId: body.readUInt16LE(6) };
    offset = 8;
  }
  const sessionId = body.readUInt32LE(offset);
  const sequence = body.readUInt32LE(offset + 4);
  const length = body.readUInt16LE(offset + 8);
  offset += 10;
  need(body, offset + length, 'RMCP+ payload');
  const authenticated = (typeByte & AUTHENTICATED) !== 0;
  const trailer = body.subarray(offset + length);
  if (!authenticated && trailer.length > 0)
    throw new IpmiParseError('trailing-bytes', `${trailer.length} bytes after an unauthenticated payload`);
  return {
    payloadType,
    encrypted: (typeByte & ENCRYPTED) !== 0,
    authenticated,
    oem,
    sessionId,
    sequence,
    payload: body.subarray(offset, offset + length),
    trailer,
  };
}

/**
 * Checks the trailer of an authenticated packet whose auth code is
 * `authCodeLength` bytes long, and returns that code and the bytes it signs.
 */
export function readSessionTrailer(
  body: Buffer,
  packet: V20Packet,
  authCodeLength: number,
): { signed: Buffer; authCode: Buffer } {
  const { trailer } = packet;
  const padLength = trailer.length - 2 - authCodeLength;
  if (padLength < 0)
    throw new IpmiParseError('truncated', `session trailer of ${trailer.length} bytes, need ${2 + authCodeLength}`);
  const signedLength = body.length - authCodeLength;
  if (padLength > 3 || trailer[padLength] !== padLength || trailer[padLength + 1] !== NEXT_HEADER || signedLength % 4 !== 0)
    throw new IpmiParseError('bad-session-trailer', `pad length ${trailer[padLength]}, next header ${trailer[padLength + 1]}`);
  for (let i = 0; i < padLength; i++)
    if (trailer[i] !== 0xff) throw new IpmiParseError('bad-session-trailer', 'integrity pad bytes are not FFh');
  return { signed: body.subarray(0, signedLength), authCode: body.subarray(signedLength) };
}

export interface V20Fields {
  payloadType: number;
  encrypted: boolean;
  sessionId: number;
  sequence: number;
  /** As it goes on the wire: already encrypted when `encrypted`. */
  payload: Uint8Array;
}

export interface Signer {
  authCodeLength: number;
  /** The full MAC of `data`; the first `authCodeLength` bytes are sent. */
  sign(data: Buffer): Buffer;
}

/** The session header, payload and — with a `signer` — the trailer, marked authenticated. OEM payloads are not encoded. */
export function encodeV20(fields: V20Fields, signer?: Signer): Buffer {
  if (fields.payload.length > 0xffff)
    throw new RangeError(`an RMCP+ payload holds at most 65535 bytes, not ${fields.payload.length}`);
  const unpadded = 12 + fields.payload.length + (signer ? 2 : 0);
  const padLength = signer ? (4 - (unpadded % 4)) % 4 : 0;
  const signedLength = unpadded + padLength;
  const out = Buffer.alloc(signedLength + (signer?.authCodeLength ?? 0), 0xff);
  out[0] = AuthType.RMCP_PLUS;
  out[1] = (fields.payloadType & 0x3f) | (fields.encrypted ? ENCRYPTED : 0) | (signer ? AUTHENTICATED : 0);
  out.writeUInt32LE(fields.sessionId >>> 0, 2);
  out.writeUInt32LE(fields.sequence >>> 0, 6);
  out.writeUInt16LE(fields.payload.length, 10);
  out.set(fields.payload, 12);
  if (!signer) return out;
  out[signedLength - 2] = padLength;
  out[signedLength - 1] = NEXT_HEADER;
  const mac = signer.sign(out.subarray(0, signedLength));
  if (mac.length < signer.authCodeLength) throw new RangeError(`a ${mac.length}-byte MAC is shorter than the auth code`);
  mac.copy(out, signedLength, 0, signer.authCodeLength);
  return out;
}
