/**
 * The two ways the DHCP codec fails. Bad bytes from the network are a
 * `DhcpParseError` — the only thing parsing and the option getters ever throw —
 * whose `reason` is short and stable so the server can count drops by it.
 * Bad values from our own code are a `DhcpEncodeError`.
 */

import { NetworkInputError } from '../../lib/errors.js';

/** Every parse reason, for metrics that pre-create their label values. */
export const DHCP_PARSE_REASONS = [
  /** Shorter than the 236-byte fixed header plus the 4-byte magic cookie. */
  'truncated',
  /** Longer than MAX_DHCP_PACKET_BYTES. */
  'oversized',
  /** op is neither BOOTREQUEST (1) nor BOOTREPLY (2). */
  'bad-op',
  /** hlen is over 16, the size of the chaddr field. */
  'bad-hlen',
  /** The four bytes after the header are not 99.130.83.99 (a BOOTP packet, or not DHCP at all). */
  'bad-cookie',
  /** An option's length byte is missing or points past the end of its field. */
  'bad-option-length',
  /** An option field (options, or an overloaded file/sname) has no end option. */
  'missing-end',
  /** Option 52 is not one byte of 1, 2 or 3, or appears inside an overloaded field. */
  'bad-overload',
  /** No option 53: BOOTP, which this server does not speak. */
  'missing-message-type',
  /** Option 53 is not one byte naming DISCOVER (1) … INFORM (8). */
  'bad-message-type',
  /** A typed getter found a value of the wrong size for its type (say a 3-byte address). */
  'bad-option-value',
] as const;

export type DhcpParseReason = (typeof DHCP_PARSE_REASONS)[number];

/**
 * Carries no stack trace: it describes bytes from the network, not a fault in
 * our code, and capturing one would cost more than the parse itself when a
 * flood of junk arrives.
 */
export class DhcpParseError extends NetworkInputError {
  override name = 'DhcpParseError';
  constructor(
    readonly reason: DhcpParseReason,
    message: string,
    /** The option code at fault, when one is. */
    readonly option?: number,
  ) {
    super(message);
  }
}

export type DhcpEncodeReason =
  /** A header field is out of range (xid over 32 bits, chaddr not matching hlen, a file name too long, …). */
  | 'bad-field'
  /** An option code is reserved or out of range, or a setter was given a value the option cannot carry. */
  | 'bad-option'
  /** An option the caller marked required does not fit in the client's maximum message size. */
  | 'oversized';

export class DhcpEncodeError extends Error {
  override name = 'DhcpEncodeError';
  constructor(
    readonly reason: DhcpEncodeReason,
    message: string,
  ) {
    super(message);
  }
}
