/**
 * /etc/yagura/network.conf (pure): the node's addresses as its Ignition
 * config gives them, in the format the node OS's /init reads
 * (docs/node-os.md): one item per line, `#` starts a comment.
 *
 *   hostname rack0-cs1
 *   node0 10.69.0.4/32
 *   uplink eth0 10.69.0.68/26
 *   uplink eth1 10.69.0.132/26
 *
 * Unknown items are reported and skipped, as /init does, so that an older
 * node can read a newer file.
 */
import { parseIPv4 } from '../lib/ipv4.js';

export interface NetworkConf {
  hostname?: string;
  /** The announced address (without /32). */
  node0: string;
  /** In file order: eth0 faces ToR1, eth1 ToR2. */
  uplinks: InterfaceAddress[];
  /** One line per skipped unknown item, e.g. "line 5: unknown item "mtu" skipped". */
  warnings: string[];
}

export interface InterfaceAddress {
  device: string;
  address: string;
  prefixLength: number;
}

export class NetworkConfError extends Error {
  override name = 'NetworkConfError';
}

const DEVICE = /^[A-Za-z0-9_.-]{1,15}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses the file; the first problem is thrown as one line naming `source` and the line. */
export function parseNetworkConf(text: string, source = 'network.conf'): NetworkConf {
  let hostname: string | undefined;
  let node0: string | undefined;
  const uplinks: InterfaceAddress[] = [];
  const warnings: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const fail = (why: string): never => {
      throw new NetworkConfError(`${source}:${i + 1}: ${why}: ${JSON.stringify(raw.trim())}`);
    };
    const [item, ...args] = line.split(/\s+/);
    switch (item) {
      case 'hostname':
        if (args.length !== 1 || !HOSTNAME.test(args[0]!)) fail('hostname takes one host name');
        hostname = args[0];
        break;
      case 'node0': {
        if (args.length !== 1) fail('node0 takes one address, e.g. node0 10.69.0.4/32');
        const cidr = interfaceCidr(args[0]!) ?? fail('node0 is not an IPv4 address with a prefix length');
        if (cidr.prefixLength !== 32) fail('node0 must be a /32');
        if (node0 !== undefined) fail('node0 is given twice');
        node0 = cidr.address;
        break;
      }
      case 'uplink': {
        if (args.length !== 2) fail('uplink takes an interface and an address, e.g. uplink eth0 10.69.0.68/26');
        const device = args[0]!;
        if (!DEVICE.test(device)) fail(`${JSON.stringify(device)} is not an interface name`);
        if (uplinks.some((uplink) => uplink.device === device)) fail(`uplink ${device} is given twice`);
        const cidr = interfaceCidr(args[1]!) ?? fail('the uplink address is not an IPv4 address with a prefix length');
        uplinks.push({ device, ...cidr });
        break;
      }
      default:
        warnings.push(`${source}:${i + 1}: unknown item ${JSON.stringify(item)} skipped`);
    }
  });
  if (node0 === undefined) throw new NetworkConfError(`${source}: names no node0 address (a line "node0 A.B.C.D/32")`);
  return { ...(hostname === undefined ? {} : { hostname }), node0, uplinks, warnings };
}

/** "10.69.0.68/26" → its address and prefix length (host bits allowed: it is an interface address). */
function interfaceCidr(text: string): { address: string; prefixLength: number } | undefined {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!match || parseIPv4(match[1]!) === undefined) return undefined;
  const prefixLength = Number(match[2]);
  if (prefixLength < 1 || prefixLength > 32) return undefined;
  return { address: match[1]!, prefixLength };
}
