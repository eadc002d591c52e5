/**
 * The DHCP replies themselves, decided without I/O: which fields and options
 * an OFFER, ACK or NAK carries for a request, given the segment, the lease and
 * the boot URLs. The server only asks for the lease and sends what this builds.
 */
import type { DhcpConfig } from '../../inventory/model.js';
import { parseIPv4 } from '../../lib/ipv4.js';
import {
  DhcpMessageType,
  DhcpOption,
  type DhcpOptions,
  getIPv4,
  getString,
  getUint16List,
  setIPv4,
  setIPv4List,
  setSubOptions,
  setString,
  setUint32,
} from './options.js';
import { BootOp, type DhcpPacket } from './packet.js';
import { bootFile, type BootUrls, type RequestView } from './policy.js';

/** What a reply says about the segment and about us. */
export interface ReplyContext {
  /** Our server identifier (option 54, and siaddr). */
  serverId: number;
  gateway: number;
  maskBits: number;
}

/** The address a client is given and until when (ms since the epoch). */
export interface LeaseGrant {
  address: number;
  expires: number;
}

/** The longest boot file name the BOOTP `file` field holds (128 bytes, NUL-terminated); longer ones go in option 67. */
const FILE_FIELD_MAX = 127;

/**
 * An OFFER or ACK: the lease (none for an INFORM), the segment's mask, router
 * and DNS servers, the lease times, and the boot file the client's kind calls
 * for. `now` (ms) turns the lease's expiry into the seconds left.
 */
export interface AddressReply {
  packet: DhcpPacket;
  /** The request's view (requestView(packet)), as the policy saw it. */
  request: RequestView;
  type: typeof DhcpMessageType.OFFER | typeof DhcpMessageType.ACK;
  /** None for an INFORM. */
  lease: LeaseGrant | undefined;
  context: ReplyContext;
  dhcp: DhcpConfig;
  urls: BootUrls;
  /** The time (ms since the epoch) the lease's expiry is counted from. */
  now: number;
}

export function addressReply({ packet, request, type, lease, context, dhcp, urls, now }: AddressReply): DhcpPacket {
  const options: DhcpOptions = new Map();
  setIPv4(options, DhcpOption.SERVER_IDENTIFIER, context.serverId);
  setIPv4(options, DhcpOption.SUBNET_MASK, context.maskBits === 0 ? 0 : (0xffffffff << (32 - context.maskBits)) >>> 0);
  setIPv4List(options, DhcpOption.ROUTER, [context.gateway]);
  if (dhcp['dns-servers'].length > 0)
    setIPv4List(
      options,
      DhcpOption.DNS_SERVERS,
      dhcp['dns-servers'].map((a) => parseIPv4(a)!),
    );
  if (lease) {
    const full = dhcp['lease-minutes'] * 60;
    // An OFFER promises the full lease; an ACK tells what is left of the one just bound.
    const left = Math.max(1, Math.round((lease.expires - now) / 1000));
    setUint32(options, DhcpOption.LEASE_TIME, type === DhcpMessageType.OFFER ? full : left);
    setUint32(options, DhcpOption.RENEWAL_TIME, Math.floor(full / 2));
    setUint32(options, DhcpOption.REBINDING_TIME, Math.floor((full * 7) / 8));
  }
  const boot = bootFile(request, urls);
  if (boot?.vendorClass) setString(options, DhcpOption.VENDOR_CLASS_IDENTIFIER, boot.vendorClass);
  if (boot?.ipxeSettings) setSubOptions(options, DhcpOption.IPXE_ENCAPSULATED, boot.ipxeSettings);
  if (boot && boot.file.length > FILE_FIELD_MAX) setString(options, DhcpOption.BOOTFILE_NAME, boot.file);
  return {
    ...replyTo(packet, type, options),
    ciaddr: type === DhcpMessageType.ACK ? packet.ciaddr : 0,
    yiaddr: lease?.address ?? 0,
    siaddr: context.serverId,
    file: boot && boot.file.length <= FILE_FIELD_MAX ? boot.file : '',
  };
}

/** A NAK saying `why` (option 56); a relayed one is broadcast by the relay (RFC 2131 §4.3.2). */
export function nakReply(packet: DhcpPacket, serverId: number, why: string): DhcpPacket {
  const options: DhcpOptions = new Map();
  setIPv4(options, DhcpOption.SERVER_IDENTIFIER, serverId);
  setString(options, DhcpOption.MESSAGE, why);
  return {
    ...replyTo(packet, DhcpMessageType.NAK, options),
    broadcast: packet.giaddr !== 0 ? true : packet.broadcast,
  };
}

/** The parts of a request the policy decides on. */
export function requestView(packet: DhcpPacket): RequestView {
  const o = packet.options;
  return {
    type: packet.messageType,
    mac: packet.chaddr,
    ciaddr: packet.ciaddr,
    giaddr: packet.giaddr,
    broadcast: packet.broadcast,
    requestedIp: getIPv4(o, DhcpOption.REQUESTED_IP),
    serverId: getIPv4(o, DhcpOption.SERVER_IDENTIFIER),
    vendorClass: getString(o, DhcpOption.VENDOR_CLASS_IDENTIFIER),
    userClass: getString(o, DhcpOption.USER_CLASS),
    architectures: getUint16List(o, DhcpOption.CLIENT_SYSTEM_ARCHITECTURE),
    ipxeOptions: o.has(DhcpOption.IPXE_ENCAPSULATED),
    hostname: getString(o, DhcpOption.HOSTNAME),
  };
}

/** A reply with what it copies from the request (RFC 2131 table 3) and every address zero; callers set the rest. */
function replyTo(packet: DhcpPacket, messageType: DhcpMessageType, options: DhcpOptions): DhcpPacket {
  return {
    op: BootOp.REPLY,
    htype: packet.htype,
    hlen: packet.hlen,
    hops: 0,
    xid: packet.xid,
    secs: 0,
    broadcast: packet.broadcast,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: packet.giaddr,
    chaddr: packet.chaddr,
    sname: '',
    file: '',
    messageType,
    options,
  };
}
