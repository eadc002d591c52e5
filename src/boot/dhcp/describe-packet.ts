/** One line per packet for logs. Every value in it is a number or hex we format, so nothing a client sends can forge a log line. */
import { formatIPv4 } from '../../lib/ipv4.js';
import { DhcpOption, messageTypeName } from './options.js';
import type { DhcpPacket } from './packet.js';

/** "DISCOVER xid=0x1a2b3c4d chaddr=52:54:00:12:34:56 giaddr=10.69.0.65 requested=10.69.0.100"; zero addresses are left out. */
export function describePacket(packet: DhcpPacket): string {
  const parts = [
    messageTypeName(packet.messageType),
    `xid=0x${packet.xid.toString(16).padStart(8, '0')}`,
    `chaddr=${packet.chaddr || '-'}`,
  ];
  for (const name of ['ciaddr', 'yiaddr', 'giaddr'] as const) {
    if (packet[name] !== 0) parts.push(`${name}=${formatIPv4(packet[name])}`);
  }
  const requested = packet.options.get(DhcpOption.REQUESTED_IP);
  if (requested !== undefined) {
    parts.push(`requested=${requested.length === 4 ? formatIPv4(requested.readUInt32BE(0)) : 'malformed'}`);
  }
  return parts.join(' ');
}
