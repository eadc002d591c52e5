/**
 * How the IPMI codecs refuse bytes from the network: an `IpmiParseError`, the
 * only thing the parsers throw, with a short stable `reason` the server counts
 * drops by.
 */

import { NetworkInputError } from '../../../lib/errors.js';

export const IPMI_PARSE_REASONS = [
  /** Shorter than a header or a length field says. */
  'truncated',
  /** Bytes left over after the part a length field covers (outside the RMCP+ session trailer). */
  'trailing-bytes',
  /** RMCP version is not 06h (RMCP 1.0). */
  'bad-rmcp-version',
  /** An RMCP ACK, or a class other than ASF and IPMI. */
  'unsupported-rmcp-class',
  /** An ASF message that is not a presence ping with ASF's IANA number. */
  'unsupported-asf-message',
  /** An IPMI message whose header or body checksum does not add up to zero. */
  'bad-checksum',
  /** An RMCP+ session trailer with a wrong pad, pad length or next-header byte. */
  'bad-session-trailer',
  /** A field outside its range (an RMCP+ algorithm payload of the wrong type or length, a name over 16 bytes, …). */
  'bad-field',
] as const;

export type IpmiParseReason = (typeof IPMI_PARSE_REASONS)[number];

/** Carries no stack trace (NetworkInputError): it describes junk from the network. */
export class IpmiParseError extends NetworkInputError {
  override name = 'IpmiParseError';
  constructor(
    readonly reason: IpmiParseReason,
    message: string,
  ) {
    super(message);
  }
}

/** Throws 'truncated' unless `bytes` holds at least `length` bytes. */
export function need(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length < length) throw new IpmiParseError('truncated', `${what}: ${bytes.length} bytes, need ${length}`);
}
