/**
 * The DHCPv4 server of `yagura serve`: relay-aware (the relay's giaddr picks
 * the rack segment; replies go back to the relay on port 67) and able to serve
 * one directly attached segment (the local address inside the node pool).
 * Leases live in the store (LeaseStore). Bad packets are dropped and counted,
 * never fatal.
 *
 * Sending limited broadcasts (255.255.255.255) out of the right interface
 * needs no SO_BINDTODEVICE: a socket bound to the interface's own address
 * sends them out of that interface (Linux picks the device from the source).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import { counterIn } from '../../lib/metrics.js';
import type { DhcpConfig, IpamConfig } from '../../inventory/model.js';
import { formatIPv4, parseIPv4 } from '../../lib/ipv4.js';
import { DhcpParseError } from './codec-errors.js';
import { describePacket } from './describe-packet.js';
import type { Lease, LeaseStore } from './leases.js';
import {
  DhcpMessageType,
  DhcpOption,
  getIPv4,
  getString,
  getUint16,
  getUint16List,
  messageTypeName,
  setIPv4,
  setIPv4List,
  setString,
  setUint32,
} from './options.js';
import { BootOp, type DhcpPacket, encodeDhcpPacketDetailed, parseDhcpPacket } from './packet.js';
import { type BootUrls, bootFile, classify, destination, type RequestView, segmentFor } from './policy.js';

export interface DhcpServerOptions {
  leases: LeaseStore;
  /** Current IPAM and DHCP config (cached by the caller). */
  config: () => Promise<{ ipam?: IpamConfig; dhcp: DhcpConfig }>;
  listen: { host: string; port: number };
  /** This server's address on the directly attached node segment, if it has one (may change with IPAM). */
  localAddress: (ipam: IpamConfig) => number | undefined;
  /** Server identifier (option 54); by default the local address, or the address that routes to the relay. */
  serverId?: number;
  /** Boot URLs for a client that reaches this server at `serverId`. */
  bootUrls: (serverId: number) => BootUrls;
  logger: Logger;
  metrics: Registry;
  /** How long an offered address is held for the client's REQUEST. */
  offerHoldMs?: number;
  /** Requests in progress beyond which new packets are dropped (counted as "overloaded"), so a flood cannot make every answer late. */
  maxInFlight?: number;
}

export class DhcpServer {
  private socket: Socket | undefined;
  /** Sockets bound to local addresses: limited broadcasts leave through them. */
  private readonly localSockets = new Map<number, Promise<Socket>>();
  private readonly routeSources = new Map<number, Promise<number>>();
  private readonly received: Counter;
  private readonly dropped: Counter;
  private readonly replied: Counter;
  private inFlight = 0;

  constructor(private readonly options: DhcpServerOptions) {
    this.received = counterIn(options.metrics, 'yagura_dhcp_received_total', 'DHCP packets received, by message type.', ['type']);
    this.dropped = counterIn(options.metrics, 'yagura_dhcp_dropped_total', 'DHCP packets dropped, by reason.', ['reason']);
    this.replied = counterIn(options.metrics, 'yagura_dhcp_replies_total', 'DHCP replies sent, by message type.', ['type']);
  }

  async start(): Promise<void> {
    this.socket = await bindSocket(this.options.listen.host, this.options.listen.port);
    this.socket.on('message', (message, remote) => void this.receive(message, remote));
  }

  async stop(): Promise<void> {
    const sockets = [this.socket, ...(await Promise.all([...this.localSockets.values()].map((s) => s.catch(() => undefined))))];
    for (const socket of sockets) if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
    this.socket = undefined;
    this.localSockets.clear();
  }

  /** Handles one datagram; exposed for tests that feed packets directly. */
  async receive(message: Buffer, remote: Pick<RemoteInfo, 'address' | 'port'>): Promise<void> {
    let packet: DhcpPacket;
    try {
      packet = parseDhcpPacket(message);
    } catch (error) {
      if (error instanceof DhcpParseError) return this.drop(error.reason, `from ${remote.address}: ${error.message}`);
      throw error;
    }
    this.received.inc({ type: typeName(packet.messageType) });
    if (packet.op !== BootOp.REQUEST) return this.drop('not-bootrequest');
    // Shed load rather than queue it: a client retries a lost DISCOVER in seconds, an answer that late is useless anyway.
    if (this.inFlight >= (this.options.maxInFlight ?? 64)) return this.drop('overloaded');
    this.inFlight++;
    try {
      await this.answer(packet);
    } catch (error) {
      if (error instanceof DhcpParseError) return this.drop(error.reason, `${describePacket(packet)}: ${error.message}`);
      this.dropped.inc({ reason: 'internal-error' });
      this.options.logger.error({ err: error, packet: describePacket(packet) }, 'DHCP request failed');
    } finally {
      this.inFlight--;
    }
  }

  private async answer(packet: DhcpPacket): Promise<void> {
    const { ipam, dhcp } = await this.options.config();
    if (!ipam) return this.drop('no-ipam');
    const request = view(packet);
    const local = this.options.localAddress(ipam);
    const serverId =
      this.options.serverId ?? local ?? (request.giaddr !== 0 ? await this.routeSource(request.giaddr) : undefined);
    if (serverId === undefined) return this.drop('no-local-segment');
    const exchange = classify(request, serverId);
    if (exchange.kind === 'drop') return this.drop(exchange.reason);
    if (exchange.kind === 'not-for-us') return this.drop('for-another-server');

    const leases = this.options.leases;
    const leaseMs = dhcp['lease-minutes'] * 60_000;
    if (exchange.kind === 'release') {
      await leases.release(exchange.address, request.mac);
      return;
    }
    if (exchange.kind === 'decline') {
      await leases.decline(exchange.address, request.mac, leaseMs);
      this.options.logger.warn(
        { address: formatIPv4(exchange.address), mac: request.mac },
        'client declined an address (in use?)',
      );
      return;
    }
    // Renewals come straight from the client's own address; everything else is anchored by relay or interface.
    const anchorless = exchange.kind === 'renew' || exchange.kind === 'inform';
    const segment = segmentFor(
      ipam,
      anchorless && request.giaddr === 0 ? { ...request, giaddr: exchange.address } : request,
      local,
    );
    if ('drop' in segment) return this.drop(segment.drop);
    const inSegment = (address: number) => address >= segment.range.first && address <= segment.range.last;

    switch (exchange.kind) {
      case 'discover': {
        const claim = await leases.offer(segment.range, request.mac, exchange.requested, this.options.offerHoldMs ?? 60_000);
        if (claim.kind !== 'ok') return this.drop('pool-exhausted');
        return this.send(packet, request, DhcpMessageType.OFFER, claim.lease, { ...segment, serverId, local }, dhcp);
      }
      case 'select':
      case 'confirm':
      case 'renew': {
        const context = { ...segment, serverId, local };
        if (!inSegment(exchange.address)) {
          return this.nak(packet, request, `${formatIPv4(exchange.address)} is not in this segment`, context);
        }
        const claim = await leases.bind(exchange.address, request.mac, leaseMs, request.hostname);
        if (claim.kind === 'taken') {
          return this.nak(packet, request, `${formatIPv4(exchange.address)} is leased to another client`, context);
        }
        if (claim.kind !== 'ok') return this.drop('lease-contention');
        return this.send(packet, request, DhcpMessageType.ACK, claim.lease, context, dhcp);
      }
      case 'inform':
        return this.send(packet, request, DhcpMessageType.ACK, undefined, { ...segment, serverId, local }, dhcp);
    }
  }

  private async send(
    packet: DhcpPacket,
    request: RequestView,
    type: DhcpMessageType,
    lease: Lease | undefined,
    context: ReplyContext,
    dhcp: DhcpConfig,
  ): Promise<void> {
    const segment = context;
    const options = new Map<number, Buffer>();
    setIPv4(options, DhcpOption.SERVER_IDENTIFIER, context.serverId);
    setIPv4(options, DhcpOption.SUBNET_MASK, segment.maskBits === 0 ? 0 : (0xffffffff << (32 - segment.maskBits)) >>> 0);
    setIPv4List(options, DhcpOption.ROUTER, [segment.gateway]);
    if (dhcp['dns-servers'].length > 0)
      setIPv4List(
        options,
        DhcpOption.DNS_SERVERS,
        dhcp['dns-servers'].map((a) => parseIPv4(a)!),
      );
    if (lease) {
      const seconds = Math.max(1, Math.round((lease.expires - Date.now()) / 1000));
      const full = dhcp['lease-minutes'] * 60;
      setUint32(options, DhcpOption.LEASE_TIME, type === DhcpMessageType.OFFER ? full : seconds);
      setUint32(options, DhcpOption.RENEWAL_TIME, Math.floor(full / 2));
      setUint32(options, DhcpOption.REBINDING_TIME, Math.floor((full * 7) / 8));
    }
    const boot = bootFile(request, this.options.bootUrls(context.serverId));
    if (boot?.vendorClass) setString(options, DhcpOption.VENDOR_CLASS_IDENTIFIER, boot.vendorClass);
    if (boot && boot.file.length > 127) setString(options, DhcpOption.BOOTFILE_NAME, boot.file);
    const reply: DhcpPacket = {
      ...replyTo(packet, type, options),
      ciaddr: type === DhcpMessageType.ACK ? packet.ciaddr : 0,
      yiaddr: lease?.address ?? 0,
      siaddr: context.serverId,
      file: boot && boot.file.length <= 127 ? boot.file : '',
    };
    await this.transmit(reply, request, context, getUint16(packet.options, DhcpOption.MAX_MESSAGE_SIZE));
  }

  private async nak(packet: DhcpPacket, request: RequestView, why: string, context: ReplyContext): Promise<void> {
    const options = new Map<number, Buffer>();
    setIPv4(options, DhcpOption.SERVER_IDENTIFIER, context.serverId);
    setString(options, DhcpOption.MESSAGE, why);
    const reply: DhcpPacket = {
      ...replyTo(packet, DhcpMessageType.NAK, options),
      // A relay must broadcast a NAK to the client (RFC 2131 §4.3.2).
      broadcast: packet.giaddr !== 0 ? true : packet.broadcast,
    };
    this.options.logger.info({ mac: request.mac, why }, 'DHCP NAK');
    await this.transmit(reply, request, context);
  }

  private async transmit(reply: DhcpPacket, request: RequestView, context: ReplyContext, maxMessageSize?: number): Promise<void> {
    const { bytes, dropped } = encodeDhcpPacketDetailed(reply, { maxMessageSize });
    if (dropped.length > 0)
      this.options.logger.warn({ dropped }, 'DHCP options left out to fit the client’s maximum message size');
    const to = destination(request, reply.messageType, formatIPv4);
    // Limited broadcasts leave through a socket bound to the local interface's address; everything else is routed.
    const socket =
      to.address === '255.255.255.255' && context.local !== undefined ? await this.localSocket(context.local) : this.socket;
    if (!socket) return;
    await new Promise<void>((resolve) => socket.send(bytes, to.port, to.address, () => resolve()));
    this.replied.inc({ type: typeName(reply.messageType) });
  }

  private localSocket(address: number): Promise<Socket> {
    let socket = this.localSockets.get(address);
    if (!socket) {
      // Bound to port 67 too, so unicast renewals to this address are served by it as well.
      socket = bindSocket(formatIPv4(address), this.options.listen.port).then((s) => {
        s.on('message', (message, remote) => void this.receive(message, remote));
        return s;
      });
      socket.catch(() => this.localSockets.delete(address));
      this.localSockets.set(address, socket);
    }
    return socket;
  }

  /** The local address the kernel uses to reach `destination` (a relay): the server identifier relayed clients see. */
  private routeSource(destination: number): Promise<number> {
    let source = this.routeSources.get(destination);
    if (!source) {
      source = new Promise<number>((resolve, reject) => {
        const probe = createSocket('udp4');
        probe.on('error', reject);
        probe.connect(67, formatIPv4(destination), () => {
          const address = parseIPv4(probe.address().address)!;
          probe.close();
          resolve(address);
        });
      });
      source.catch(() => this.routeSources.delete(destination));
      this.routeSources.set(destination, source);
    }
    return source;
  }

  private drop(reason: string, detail?: string): void {
    this.dropped.inc({ reason });
    if (detail) this.options.logger.debug({ reason, detail }, 'DHCP packet dropped');
  }
}

/** What a reply needs besides the request: the segment, our identity, and the local address if the client is directly attached. */
interface ReplyContext {
  gateway: number;
  maskBits: number;
  serverId: number;
  local: number | undefined;
}

/** A reply with what it copies from the request (RFC 2131 table 3) and every address zero; callers set the rest. */
function replyTo(packet: DhcpPacket, messageType: DhcpMessageType, options: Map<number, Buffer>): DhcpPacket {
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

function view(packet: DhcpPacket): RequestView {
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

async function bindSocket(host: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.setBroadcast(true);
  socket.on('error', () => {}); // send errors are per packet; the server goes on
  return socket;
}

function typeName(type: number): string {
  return messageTypeName(type).toLowerCase();
}
