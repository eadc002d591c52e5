/**
 * What the DHCP server answers, decided without I/O: which rack segment a
 * request comes from, what kind of exchange it is, which boot file a client
 * gets (UEFI HTTP Boot → the iPXE EFI binary; iPXE → the iPXE script), and
 * where the reply goes (RFC 2131 §4.1).
 */
import { cidrContains, formatIPv4, parseCidrV4, parseIPv4 } from '../../lib/ipv4.js';
import { leaseRange } from '../../inventory/ipam.js';
import type { IpamConfig } from '../../inventory/model.js';
import type { AddressRange } from './leases.js';
import { DhcpMessageType as MessageType } from './options.js';

/** The parts of a client request the decisions need. */
export interface RequestView {
  type: number;
  mac: string;
  ciaddr: number;
  giaddr: number;
  broadcast: boolean;
  requestedIp?: number;
  serverId?: number;
  /** Option 60. */
  vendorClass?: string;
  /** Option 77 (first class). */
  userClass?: string;
  /** Option 93. */
  architectures?: number[];
  /** Option 175 present: the client is iPXE. */
  ipxeOptions: boolean;
  hostname?: string;
}

export type Exchange =
  | { kind: 'discover'; requested?: number }
  | { kind: 'select'; address: number }
  | { kind: 'not-for-us' }
  | { kind: 'confirm'; address: number }
  | { kind: 'renew'; address: number }
  | { kind: 'release'; address: number }
  | { kind: 'decline'; address: number }
  | { kind: 'inform'; address: number }
  | { kind: 'drop'; reason: string };

/** Classifies a request by RFC 2131's client states (§4.3.2). `serverId` is ours. */
export function classify(request: RequestView, serverId: number): Exchange {
  // Leases are held by a hardware address: a client that gives none (hlen 0) cannot take, keep or give one back.
  if (request.mac === '' && request.type !== MessageType.INFORM && isClientMessage(request.type))
    return { kind: 'drop', reason: 'no-hardware-address' };
  switch (request.type) {
    case MessageType.DISCOVER:
      return { kind: 'discover', requested: request.requestedIp };
    case MessageType.REQUEST:
      if (request.serverId !== undefined) {
        // SELECTING: the client picked one server's offer.
        if (request.serverId !== serverId) return { kind: 'not-for-us' };
        if (request.requestedIp === undefined) return { kind: 'drop', reason: 'request-without-address' };
        return { kind: 'select', address: request.requestedIp };
      }
      if (request.requestedIp !== undefined && request.ciaddr === 0) return { kind: 'confirm', address: request.requestedIp }; // INIT-REBOOT
      if (request.ciaddr !== 0) return { kind: 'renew', address: request.ciaddr }; // RENEWING / REBINDING
      return { kind: 'drop', reason: 'request-without-address' };
    case MessageType.RELEASE:
      return request.ciaddr !== 0
        ? { kind: 'release', address: request.ciaddr }
        : { kind: 'drop', reason: 'release-without-address' };
    case MessageType.DECLINE:
      return request.requestedIp !== undefined
        ? { kind: 'decline', address: request.requestedIp }
        : { kind: 'drop', reason: 'decline-without-address' };
    case MessageType.INFORM:
      return request.ciaddr !== 0
        ? { kind: 'inform', address: request.ciaddr }
        : { kind: 'drop', reason: 'inform-without-address' };
    default:
      return { kind: 'drop', reason: 'not-a-client-message' };
  }
}

export type Segment = { range: AddressRange; gateway: number; maskBits: number } | { drop: string };

/**
 * The rack segment a request belongs to: the relay's (giaddr) for relayed
 * requests, else the segment of the interface it arrived on (`local`). An
 * address outside the node pool is a bogus relay (or a misconfigured server).
 */
export function segmentFor(ipam: IpamConfig, request: RequestView, local: number | undefined): Segment {
  const anchor = request.giaddr !== 0 ? request.giaddr : local;
  if (anchor === undefined) return { drop: 'no-local-segment' };
  const pool = parseCidrV4(ipam['node-ipv4-pool'])!;
  if (!cidrContains(pool, anchor)) return { drop: request.giaddr !== 0 ? 'bogus-relay' : 'interface-outside-pool' };
  const range = leaseRange(ipam, anchor);
  const maskBits = ipam['node-ipv4-range-mask'];
  const mask = maskBits === 0 ? 0 : (0xffffffff << (32 - maskBits)) >>> 0;
  return { range, gateway: ((anchor & mask) >>> 0) + ipam['node-gateway-offset'], maskBits };
}

/**
 * The segment of an exchange: renewals and INFORMs come straight from the
 * client's own address, which then anchors the segment when no relay does;
 * everything else is anchored by the relay or the interface.
 */
export function segmentOf(ipam: IpamConfig, request: RequestView, exchange: Exchange, local: number | undefined): Segment {
  const anchorless = exchange.kind === 'renew' || exchange.kind === 'inform';
  if (anchorless && request.giaddr === 0) return segmentFor(ipam, { ...request, giaddr: exchange.address }, local);
  return segmentFor(ipam, request, local);
}

/** Why a client cannot have `address` on `segment` (the NAK's message), or undefined when it is in the lease range. */
export function outsideSegment(address: number, segment: { range: AddressRange }): string | undefined {
  if (address >= segment.range.first && address <= segment.range.last) return undefined;
  return `${formatIPv4(address)} is not in this segment`;
}

export interface BootUrls {
  /** URL of the iPXE EFI binary, for UEFI HTTP Boot clients. */
  ipxeEfi: string;
  /** URL of the iPXE chain script, for iPXE clients. */
  ipxeScript: string;
}

/**
 * Where clients fetch boot files from: the advertised URL (--advertise-url)
 * when there is one; else the address the HTTP API listens on, when it
 * listens on one IPv4 address only (a boot server whose API is bound to its
 * node0 would otherwise send clients to the segment address its DHCP answers
 * from, where nothing listens); else the server identifier the client got,
 * which is the address it (or its relay) reached us at.
 */
export function bootBaseUrl(input: { advertiseUrl?: string; listenHost: string; port: number; serverId: number }): string {
  if (input.advertiseUrl !== undefined) return input.advertiseUrl;
  const bound = parseIPv4(input.listenHost);
  const host = bound !== undefined && bound !== 0 ? bound : input.serverId;
  return `http://${formatIPv4(host)}:${input.port}`;
}

/** UEFI HTTP Boot client architectures (RFC 4578 / IANA): x86 and x64 UEFI HTTP. */
const HTTP_BOOT_ARCHES = new Set([0x0f, 0x10]);

/**
 * iPXE's own settings, sent encapsulated in option 175. `no-pxedhcp` (176) = 1
 * tells iPXE not to wait for ProxyDHCP offers: without it, iPXE holds on to
 * our offer for about 2 s more before it sends its REQUEST (measured under
 * TCG: DISCOVER, DISCOVER again, REQUEST 3 s after the first offer).
 */
export const IPXE_NO_PXEDHCP = 176;

export type BootChoice = { file: string; vendorClass?: string; ipxeSettings?: ReadonlyMap<number, Uint8Array> } | undefined;

/** Which boot file the client gets, if any. */
export function bootFile(request: RequestView, urls: BootUrls): BootChoice {
  if (request.userClass?.includes('iPXE') || request.ipxeOptions)
    return { file: urls.ipxeScript, ipxeSettings: new Map([[IPXE_NO_PXEDHCP, Uint8Array.of(1)]]) };
  const httpClient = request.vendorClass?.startsWith('HTTPClient') ?? false;
  if (httpClient && (request.architectures ?? []).some((a) => HTTP_BOOT_ARCHES.has(a))) {
    // UEFI HTTP Boot needs option 60 echoed to accept the URL.
    return { file: urls.ipxeEfi, vendorClass: 'HTTPClient' };
  }
  return undefined;
}

export interface Destination {
  address: string;
  port: number;
}

/** Where a reply goes (RFC 2131 §4.1); unicast to an unconfigured client needs ARP tricks, so it is broadcast. */
export function destination(request: RequestView, replyType: number, formatAddress: (n: number) => string): Destination {
  if (request.giaddr !== 0) return { address: formatAddress(request.giaddr), port: 67 };
  if (replyType === MessageType.NAK) return { address: '255.255.255.255', port: 68 };
  if (request.ciaddr !== 0) return { address: formatAddress(request.ciaddr), port: 68 };
  return { address: '255.255.255.255', port: 68 };
}

function isClientMessage(type: number): boolean {
  return (
    type === MessageType.DISCOVER || type === MessageType.REQUEST || type === MessageType.RELEASE || type === MessageType.DECLINE
  );
}
