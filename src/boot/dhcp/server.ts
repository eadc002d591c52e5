/**
 * The DHCPv4 server of `yagura serve`: relay-aware (the relay's giaddr picks
 * the rack segment; replies go back to the relay on port 67) and able to serve
 * one directly attached segment (the local address inside the node pool).
 * Leases live in the store (DhcpLeaseRepository). Bad packets are dropped and counted,
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
import type { DhcpLeaseRepository } from './leases.js';
import { DhcpMessageType, DhcpOption, getUint16, messageTypeName } from './options.js';
import { BootOp, type DhcpPacket, encodeDhcpPacketDetailed, parseDhcpPacket } from './packet.js';
import { type BootUrls, classify, destination, outsideSegment, type RequestView, segmentOf } from './policy.js';
import { addressReply, type LeaseGrant, nakReply, type ReplyContext, requestView } from './reply.js';

export interface DhcpServerOptions {
  leases: DhcpLeaseRepository;
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
    const request = requestView(packet);
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
    const segment = segmentOf(ipam, request, exchange, local);
    if ('drop' in segment) return this.drop(segment.drop);
    const context: ReplyContext = { serverId, gateway: segment.gateway, maskBits: segment.maskBits };
    const sendAddress = (type: typeof DhcpMessageType.OFFER | typeof DhcpMessageType.ACK, lease?: LeaseGrant) => {
      const urls = this.options.bootUrls(serverId);
      const reply = addressReply({ packet, request, type, lease, context, dhcp, urls, now: Date.now() });
      return this.transmit(reply, request, local, getUint16(packet.options, DhcpOption.MAX_MESSAGE_SIZE));
    };
    const sendNak = (why: string) => {
      this.options.logger.info({ mac: request.mac, why }, 'DHCP NAK');
      return this.transmit(nakReply(packet, serverId, why), request, local);
    };

    switch (exchange.kind) {
      case 'discover': {
        const claim = await leases.offer(segment.range, request.mac, exchange.requested, this.options.offerHoldMs ?? 60_000);
        if (claim.kind !== 'ok') return this.drop('pool-exhausted');
        return sendAddress(DhcpMessageType.OFFER, claim.lease);
      }
      case 'select':
      case 'confirm':
      case 'renew': {
        const outside = outsideSegment(exchange.address, segment);
        if (outside) return sendNak(outside);
        const claim = await leases.bind(exchange.address, request.mac, leaseMs, request.hostname);
        if (claim.kind === 'taken') return sendNak(`${formatIPv4(exchange.address)} is leased to another client`);
        if (claim.kind !== 'ok') return this.drop('lease-contention');
        return sendAddress(DhcpMessageType.ACK, claim.lease);
      }
      case 'inform':
        return sendAddress(DhcpMessageType.ACK);
    }
  }

  /** Sends `reply` where RFC 2131 says; `local` is our address on the client's segment when it is directly attached. */
  private async transmit(
    reply: DhcpPacket,
    request: RequestView,
    local: number | undefined,
    maxMessageSize?: number,
  ): Promise<void> {
    const { bytes, dropped } = encodeDhcpPacketDetailed(reply, { maxMessageSize });
    if (dropped.length > 0)
      this.options.logger.warn({ dropped }, 'DHCP options left out to fit the client’s maximum message size');
    const to = destination(request, reply.messageType, formatIPv4);
    // Limited broadcasts leave through a socket bound to the local interface's address; everything else is routed.
    const socket = to.address === '255.255.255.255' && local !== undefined ? await this.localSocket(local) : this.socket;
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
