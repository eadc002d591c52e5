/**
 * The one link a DC may have outside its own namespace: the uplink of an
 * `external` network with `use-nat: true`. A veth pair joins the DC's
 * namespace (`yg-uplink`) to the uplink namespace — the host's own unless
 * YAGURA_DC_UPLINK_NETNS names another — over a /30 from 100.127.0.0/16
 * chosen by the DC's name. Traffic from the external networks leaves the DC
 * masqueraded to the DC's end, and the uplink side masquerades it again
 * towards wherever its routes lead (placemat masquerades on the host). Tests
 * give a namespace of their own as the uplink: no test reaches the host's uplink.
 *
 * Pure: the commands; host/build.ts and host/teardown.ts run them.
 */
import { createHash } from 'node:crypto';
import type { Topology } from './spec/index.js';

export const DC_UPLINK = 'yg-uplink';
const BASE = (100 << 24) | (127 << 16); // 100.127.0.0/16: shared address space (RFC 6598), unlikely on a lab host

export interface UplinkPlan {
  /** Named uplink namespace, or undefined for the host's own. */
  namespace?: string;
  /** The veth end in the uplink namespace: yg-u<8 hex of the DC name>. */
  uplinkSide: string;
  uplinkAddress: string;
  dcAddress: string;
  /** The /30 of the pair. */
  subnet: string;
  /** Masqueraded networks (the external networks' ranges). */
  natNetworks: string[];
  /** `ip` lines run in the uplink namespace: the veth pair (its DC end straight into the DC's namespace), address, up. */
  uplinkIpCommands: string[];
  /** `ip -n yg-<dc>` lines: address, up, default route. */
  dcIpCommands: string[];
  /** nft scripts: the DC's masquerade and the uplink side's. */
  dcNft: string;
  uplinkNft: string;
  /** The uplink side's nft table, deleted by `down` (the DC's goes with its namespace). */
  uplinkTable: string;
  /** Forwarding in both namespaces (the DC routes between its networks and the uplink). */
  sysctls: [string, string][];
}

export function planUplink(
  dc: string,
  dcNamespace: string,
  topology: Topology,
  uplinkNamespace?: string,
): UplinkPlan | undefined {
  const natNetworks = topology.networks.filter(
    (network) => network.type === 'external' && network.useNat && network.address?.family === 4,
  );
  if (natNetworks.length === 0) return undefined;
  const hash = createHash('sha256').update(dc).digest();
  const base = BASE + (hash.readUInt16BE(0) % 16384) * 4;
  const address = (offset: number) => [24, 16, 8, 0].map((shift) => ((base + offset) >>> shift) & 255).join('.');
  const uplinkSide = `yg-u${hash.toString('hex').slice(0, 8)}`;
  const uplinkAddress = address(1);
  const dcAddress = address(2);
  const subnet = `${address(0)}/30`;
  const ranges = natNetworks.map((network) => network.address!.network);
  const uplinkTable = `yagura_${dc.replaceAll('-', '_')}`;
  return {
    ...(uplinkNamespace ? { namespace: uplinkNamespace } : {}),
    uplinkSide,
    uplinkAddress,
    dcAddress,
    subnet,
    natNetworks: ranges,
    uplinkIpCommands: [
      `link add name ${uplinkSide} type veth peer name ${DC_UPLINK} netns ${dcNamespace}`,
      `addr add ${uplinkAddress}/30 dev ${uplinkSide}`,
      `link set dev ${uplinkSide} up`,
    ],
    dcIpCommands: [
      `addr add ${dcAddress}/30 dev ${DC_UPLINK}`,
      `link set dev ${DC_UPLINK} up`,
      `route add default via ${uplinkAddress}`,
    ],
    dcNft: [
      'table ip yagura {',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat;',
      `    oifname "${DC_UPLINK}" ip saddr { ${ranges.join(', ')} } masquerade`,
      '  }',
      '}',
    ].join('\n'),
    uplinkNft: [
      `table ip ${uplinkTable} {`,
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat;',
      `    ip saddr ${subnet} oifname != "${uplinkSide}" masquerade`,
      '  }',
      '}',
    ].join('\n'),
    uplinkTable,
    sysctls: [['net.ipv4.ip_forward', '1']],
  };
}
