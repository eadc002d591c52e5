/**
 * The RMCP+ session establishment payloads (IPMI v2.0 sections 13.17–13.23):
 * Open Session Request / Response and RAKP messages 1–4. The BMC parses the
 * odd ones and encodes the even ones; the other direction is here too, for
 * consoles written in tests. Session IDs are little-endian on the wire.
 */
import { IpmiParseError, need } from './parse-error.js';
import type { AlgorithmProposal } from './cipher-suites.js';

export interface OpenSessionRequest extends AlgorithmProposal {
  tag: number;
  /** 0 asks for the highest level the proposed algorithms allow. */
  maxPrivilege: number;
  consoleSessionId: number;
}

export interface OpenSessionResponse {
  tag: number;
  status: number;
  consoleSessionId: number;
  /** Present when status is 0. */
  accepted?: AlgorithmProposal & { maxPrivilege: number; bmcSessionId: number };
}

export interface Rakp1 {
  tag: number;
  bmcSessionId: number;
  consoleRandom: Buffer;
  /** The whole byte: requested privilege in the low nibble, bit 4 "name-only lookup". */
  role: number;
  username: Buffer;
}

export interface Rakp2 {
  tag: number;
  status: number;
  consoleSessionId: number;
  /** Present when status is 0. */
  bmcRandom?: Buffer;
  bmcGuid?: Buffer;
  authCode?: Buffer;
}

export interface Rakp3 {
  tag: number;
  /** Non-zero: the console found RAKP 2 wrong and gives up. */
  status: number;
  bmcSessionId: number;
  authCode: Buffer;
}

export interface Rakp4 {
  tag: number;
  status: number;
  consoleSessionId: number;
  integrityCheck: Buffer;
}

const ALGORITHM_PAYLOADS = [
  { type: 0x00, name: 'authentication' },
  { type: 0x01, name: 'integrity' },
  { type: 0x02, name: 'confidentiality' },
] as const;

export function parseOpenSessionRequest(payload: Buffer): OpenSessionRequest {
  need(payload, 32, 'Open Session Request');
  const [authentication, integrity, confidentiality] = ALGORITHM_PAYLOADS.map(({ type, name }, i) => {
    const at = 8 + 8 * i;
    // A length other than 8 would be the spec's "null" proposal (let the BMC pick); ipmitool never sends it.
    if (payload[at] !== type || payload[at + 3] !== 8)
      throw new IpmiParseError('bad-field', `${name} payload: type ${payload[at]}, length ${payload[at + 3]}`);
    return payload[at + 4]! & 0x3f;
  }) as [number, number, number];
  return {
    tag: payload[0]!,
    maxPrivilege: payload[1]! & 0x0f,
    consoleSessionId: payload.readUInt32LE(4),
    authentication,
    integrity,
    confidentiality,
  };
}

export function encodeOpenSessionRequest(request: OpenSessionRequest): Buffer {
  const out = Buffer.alloc(32);
  out[0] = request.tag;
  out[1] = request.maxPrivilege;
  out.writeUInt32LE(request.consoleSessionId >>> 0, 4);
  algorithmPayloads(request).copy(out, 8);
  return out;
}

export function encodeOpenSessionResponse(response: OpenSessionResponse): Buffer {
  const out = Buffer.alloc(response.accepted ? 36 : 8);
  out[0] = response.tag;
  out[1] = response.status;
  out.writeUInt32LE(response.consoleSessionId >>> 0, 4);
  if (response.accepted) {
    out[2] = response.accepted.maxPrivilege;
    out.writeUInt32LE(response.accepted.bmcSessionId >>> 0, 8);
    algorithmPayloads(response.accepted).copy(out, 12);
  }
  return out;
}

export function parseOpenSessionResponse(payload: Buffer): OpenSessionResponse {
  need(payload, 8, 'Open Session Response');
  const base = { tag: payload[0]!, status: payload[1]!, consoleSessionId: payload.readUInt32LE(4) };
  if (base.status !== 0) return base;
  need(payload, 36, 'Open Session Response');
  return {
    ...base,
    accepted: {
      maxPrivilege: payload[2]! & 0x0f,
      bmcSessionId: payload.readUInt32LE(8),
      authentication: payload[16]! & 0x3f,
      integrity: payload[24]! & 0x3f,
      confidentiality: payload[32]! & 0x3f,
    },
  };
}

export function parseRakp1(payload: Buffer): Rakp1 {
  need(payload, 28, 'RAKP message 1');
  const nameLength = payload[27]!;
  need(payload, 28 + nameLength, 'RAKP message 1 user name');
  return {
    tag: payload[0]!,
    bmcSessionId: payload.readUInt32LE(4),
    consoleRandom: payload.subarray(8, 24),
    role: payload[24]!,
    username: payload.subarray(28, 28 + nameLength),
  };
}

export function encodeRakp1(message: Rakp1): Buffer {
  const out = Buffer.alloc(28 + message.username.length);
  out[0] = message.tag;
  out.writeUInt32LE(message.bmcSessionId >>> 0, 4);
  fixed(message.consoleRandom, 16, 'console random number').copy(out, 8);
  out[24] = message.role;
  out[27] = message.username.length;
  message.username.copy(out, 28);
  return out;
}

export function encodeRakp2(message: Rakp2): Buffer {
  const head = statusHeader(message.tag, message.status, message.consoleSessionId);
  if (message.status !== 0 || !message.bmcRandom || !message.bmcGuid || !message.authCode) return head;
  return Buffer.concat([
    head,
    fixed(message.bmcRandom, 16, 'BMC random number'),
    fixed(message.bmcGuid, 16, 'BMC GUID'),
    message.authCode,
  ]);
}

/** `authCodeLength` comes from the negotiated suite: the payload does not say. */
export function parseRakp2(payload: Buffer, authCodeLength: number): Rakp2 {
  need(payload, 8, 'RAKP message 2');
  const base = { tag: payload[0]!, status: payload[1]!, consoleSessionId: payload.readUInt32LE(4) };
  if (base.status !== 0) return base;
  need(payload, 40 + authCodeLength, 'RAKP message 2');
  return {
    ...base,
    bmcRandom: payload.subarray(8, 24),
    bmcGuid: payload.subarray(24, 40),
    authCode: payload.subarray(40, 40 + authCodeLength),
  };
}

export function parseRakp3(payload: Buffer): Rakp3 {
  need(payload, 8, 'RAKP message 3');
  return { tag: payload[0]!, status: payload[1]!, bmcSessionId: payload.readUInt32LE(4), authCode: payload.subarray(8) };
}

export function encodeRakp3(message: Rakp3): Buffer {
  return Buffer.concat([statusHeader(message.tag, message.status, message.bmcSessionId), message.authCode]);
}

export function encodeRakp4(message: Rakp4): Buffer {
  return Buffer.concat([statusHeader(message.tag, message.status, message.consoleSessionId), message.integrityCheck]);
}

export function parseRakp4(payload: Buffer): Rakp4 {
  need(payload, 8, 'RAKP message 4');
  return {
    tag: payload[0]!,
    status: payload[1]!,
    consoleSessionId: payload.readUInt32LE(4),
    integrityCheck: payload.subarray(8),
  };
}

function algorithmPayloads(proposal: AlgorithmProposal): Buffer {
  const out = Buffer.alloc(24);
  for (const [i, { type, name }] of ALGORITHM_PAYLOADS.entries()) {
    out[8 * i] = type;
    out[8 * i + 3] = 8;
    out[8 * i + 4] = proposal[name];
  }
  return out;
}

function statusHeader(tag: number, status: number, sessionId: number): Buffer {
  const out = Buffer.alloc(8);
  out[0] = tag;
  out[1] = status;
  out.writeUInt32LE(sessionId >>> 0, 4);
  return out;
}

function fixed(bytes: Buffer, length: number, what: string): Buffer {
  if (bytes.length !== length) throw new RangeError(`the ${what} is ${length} bytes, not ${bytes.length}`);
  return bytes;
}
