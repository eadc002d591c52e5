/**
 * The IPMI LAN message inside a v1.5 packet or an RMCP+ "IPMI" payload (spec
 * section 13.8, figure 13-4): two checksummed parts, the responder's address
 * and network function, then the requester's address, sequence, the command
 * and its data. A response swaps the addresses, adds one to the network
 * function and puts the completion code before the data.
 */
import { BMC_ADDRESS } from './protocol.js';
import { IpmiParseError, need } from './parse-error.js';

export interface IpmiRequest {
  /** Even: a request. */
  netFn: number;
  cmd: number;
  data: Buffer;
  /** Echoed in the response so the console can match it to its request. */
  rqSeq: number;
  rqAddr: number;
  rqLun: number;
  rsAddr: number;
  rsLun: number;
}

export interface IpmiResponse {
  /** The request's network function plus one. */
  netFn: number;
  cmd: number;
  completion: number;
  data: Buffer;
  rqSeq: number;
  rqAddr: number;
  rqLun: number;
  rsAddr: number;
  rsLun: number;
}

/** The remote console software ID ipmitool uses as requester address. */
export const REMOTE_CONSOLE_SWID = 0x81;

export function parseRequest(bytes: Buffer): IpmiRequest {
  const frame = parseFrame(bytes);
  if (frame.netFn % 2 !== 0) throw new IpmiParseError('bad-field', `network function ${frame.netFn} is a response`);
  return {
    netFn: frame.netFn,
    cmd: frame.cmd,
    data: frame.body,
    rqSeq: frame.seq,
    rqAddr: frame.secondAddr,
    rqLun: frame.secondLun,
    rsAddr: frame.firstAddr,
    rsLun: frame.firstLun,
  };
}

export function parseResponse(bytes: Buffer): IpmiResponse {
  const frame = parseFrame(bytes);
  if (frame.netFn % 2 !== 1) throw new IpmiParseError('bad-field', `network function ${frame.netFn} is a request`);
  need(frame.body, 1, 'IPMI response completion code');
  return {
    netFn: frame.netFn,
    cmd: frame.cmd,
    completion: frame.body[0]!,
    data: frame.body.subarray(1),
    rqSeq: frame.seq,
    rqAddr: frame.firstAddr,
    rqLun: frame.firstLun,
    rsAddr: frame.secondAddr,
    rsLun: frame.secondLun,
  };
}

/** The response to `request` with this completion code and data. */
export function responseTo(request: IpmiRequest, completion: number, data: Uint8Array = Buffer.alloc(0)): IpmiResponse {
  return {
    netFn: request.netFn + 1,
    cmd: request.cmd,
    completion,
    data: Buffer.from(data),
    rqSeq: request.rqSeq,
    rqAddr: request.rqAddr,
    rqLun: request.rqLun,
    rsAddr: request.rsAddr,
    rsLun: request.rsLun,
  };
}

export function encodeResponse(response: IpmiResponse): Buffer {
  return encodeFrame(
    [response.rqAddr, response.netFn, response.rqLun],
    [response.rsAddr, response.rqSeq, response.rsLun],
    response.cmd,
    Buffer.concat([Buffer.of(response.completion), response.data]),
  );
}

/** A request as a console sends it; the BMC never does, tests and hand-made packets do. */
export function encodeRequest(request: Partial<IpmiRequest> & Pick<IpmiRequest, 'netFn' | 'cmd'>): Buffer {
  return encodeFrame(
    [request.rsAddr ?? BMC_ADDRESS, request.netFn, request.rsLun ?? 0],
    [request.rqAddr ?? REMOTE_CONSOLE_SWID, request.rqSeq ?? 0, request.rqLun ?? 0],
    request.cmd,
    request.data ?? Buffer.alloc(0),
  );
}

/** The byte that makes `bytes` plus itself sum to zero modulo 256. */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum += byte;
  return -sum & 0xff;
}

interface Frame {
  firstAddr: number;
  netFn: number;
  firstLun: number;
  secondAddr: number;
  seq: number;
  secondLun: number;
  cmd: number;
  body: Buffer;
}

function parseFrame(bytes: Buffer): Frame {
  need(bytes, 7, 'IPMI message');
  if (checksum(bytes.subarray(0, 3)) !== 0 || checksum(bytes.subarray(3)) !== 0)
    throw new IpmiParseError('bad-checksum', 'IPMI message checksum mismatch');
  return {
    firstAddr: bytes[0]!,
    netFn: bytes[1]! >> 2,
    firstLun: bytes[1]! & 3,
    secondAddr: bytes[3]!,
    seq: bytes[4]! >> 2,
    secondLun: bytes[4]! & 3,
    cmd: bytes[5]!,
    body: bytes.subarray(6, bytes.length - 1),
  };
}

function encodeFrame(first: [number, number, number], second: [number, number, number], cmd: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(7 + body.length);
  out[0] = first[0];
  out[1] = ((first[1] & 0x3f) << 2) | (first[2] & 3);
  out[2] = checksum(out.subarray(0, 2));
  out[3] = second[0];
  out[4] = ((second[1] & 0x3f) << 2) | (second[2] & 3);
  out[5] = cmd;
  out.set(body, 6);
  out[out.length - 1] = checksum(out.subarray(3, out.length - 1));
  return out;
}
