/**
 * IPAM: every address of a machine follows from its rack number and its index
 * in the rack, by sabakan's formulas (facts in shared/reference/sabakan.md §2.3):
 *
 *   R          = 2^node-ipv4-range-size
 *   node_ip[i] = pool + offset + R * node-ip-per-node * rack + index + i * R
 *   bmc_ip     = bmcpool + bmcoffset + 2^bmc-ipv4-range-size * rack + index
 *   gateway    = (ip & range-mask) + gateway-offset
 *
 * Pure functions only; validation returns field-named problems.
 */
import { cidrContains, formatIPv4, maskOf, parseCidrV4, parseIPv4 } from '../lib/ipv4.js';
import type { IpamConfig, NicConfig } from './model.js';

/** sabakan's worked example (reference §2.3): a /16 node pool, 3 addresses per node, 28 nodes a rack. */
export const REFERENCE_IPAM: IpamConfig = {
  'max-nodes-in-rack': 28,
  'node-ipv4-pool': '10.69.0.0/16',
  'node-ipv4-offset': '0.0.0.0',
  'node-ipv4-range-size': 6,
  'node-ipv4-range-mask': 26,
  'node-ip-per-node': 3,
  'node-index-offset': 3,
  'node-gateway-offset': 1,
  'bmc-ipv4-pool': '10.72.16.0/20',
  'bmc-ipv4-offset': '0.0.1.0',
  'bmc-ipv4-range-size': 5,
  'bmc-ipv4-range-mask': 20,
  'bmc-ipv4-gateway-offset': 1,
};

export interface FieldProblem {
  field: string;
  message: string;
}

/** Everything wrong with an IPAM config beyond its JSON shape (empty = valid). */
export function ipamProblems(config: IpamConfig): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const problem = (field: keyof IpamConfig, message: string) => problems.push({ field, message });
  for (const [pool, offset, size, mask] of [
    ['node-ipv4-pool', 'node-ipv4-offset', 'node-ipv4-range-size', 'node-ipv4-range-mask'],
    ['bmc-ipv4-pool', 'bmc-ipv4-offset', 'bmc-ipv4-range-size', 'bmc-ipv4-range-mask'],
  ] as const) {
    if (!parseCidrV4(config[pool])) problem(pool, `${config[pool]} is not an IPv4 CIDR with zero host bits (e.g. 10.69.0.0/16)`);
    if (parseIPv4(config[offset]) === undefined) problem(offset, `${config[offset]} is not a dotted IPv4 offset (e.g. 0.0.1.0)`);
    if (config[mask] < 8 || config[mask] > 32) problem(mask, 'must be between 8 and 32');
    else if (config[mask] > 32 - config[size]) {
      problem(
        mask,
        `a /${config[mask]} subnet is smaller than a range of 2^${config[size]} addresses: use at most ${32 - config[size]}`,
      );
    }
  }
  const rangeSize = 2 ** config['node-ipv4-range-size'];
  const lastIndex = config['node-index-offset'] + config['max-nodes-in-rack'];
  if (lastIndex + 2 >= rangeSize - 1) {
    problem(
      'max-nodes-in-rack',
      `node-index-offset (${config['node-index-offset']}) + max-nodes-in-rack (${config['max-nodes-in-rack']}) leaves no DHCP lease range in a range of ${rangeSize} addresses: raise node-ipv4-range-size or lower them`,
    );
  }
  if (config['node-gateway-offset'] >= 2 ** (32 - config['node-ipv4-range-mask'])) {
    problem('node-gateway-offset', `is outside a /${config['node-ipv4-range-mask']} subnet`);
  }
  if (config['bmc-ipv4-gateway-offset'] >= 2 ** (32 - config['bmc-ipv4-range-mask'])) {
    problem('bmc-ipv4-gateway-offset', `is outside a /${config['bmc-ipv4-range-mask']} subnet`);
  }
  if (lastIndex >= 2 ** config['bmc-ipv4-range-size']) {
    problem('bmc-ipv4-range-size', `a BMC range of 2^${config['bmc-ipv4-range-size']} addresses cannot hold index ${lastIndex}`);
  }
  return problems;
}

/** The node's addresses, one per NIC (node-ip-per-node of them). */
export function nodeAddresses(config: IpamConfig, rack: number, index: number): number[] {
  const range = 2 ** config['node-ipv4-range-size'];
  const base = parseCidrV4(config['node-ipv4-pool'])!.network + parseIPv4(config['node-ipv4-offset'])!;
  const first = base + range * config['node-ip-per-node'] * rack + index;
  return Array.from({ length: config['node-ip-per-node'] }, (_, i) => first + i * range);
}

export function bmcAddress(config: IpamConfig, rack: number, index: number): number {
  const base = parseCidrV4(config['bmc-ipv4-pool'])!.network + parseIPv4(config['bmc-ipv4-offset'])!;
  return base + 2 ** config['bmc-ipv4-range-size'] * rack + index;
}

export function nicConfig(address: number, maskBits: number, gatewayOffset: number): NicConfig {
  const mask = maskOf(maskBits);
  return {
    address: formatIPv4(address),
    netmask: formatIPv4(mask),
    maskbits: maskBits,
    gateway: formatIPv4(((address & mask) >>> 0) + gatewayOffset),
  };
}

/** Why a machine at (rack, index) does not fit in the pools, if it does not. */
export function addressProblem(config: IpamConfig, rack: number, index: number): string | undefined {
  const nodePool = parseCidrV4(config['node-ipv4-pool'])!;
  const bmcPool = parseCidrV4(config['bmc-ipv4-pool'])!;
  const last = nodeAddresses(config, rack, index).at(-1)!;
  if (last > 0xffffffff || !cidrContains(nodePool, last))
    return `rack ${rack} is beyond node-ipv4-pool ${config['node-ipv4-pool']}`;
  const bmc = bmcAddress(config, rack, index);
  if (bmc > 0xffffffff || !cidrContains(bmcPool, bmc)) return `rack ${rack} is beyond bmc-ipv4-pool ${config['bmc-ipv4-pool']}`;
  return undefined;
}

export type IndexChoice = { index: number } | { conflict: string };

/**
 * The index in the rack for a new machine, as sabakan assigns it: a boot
 * server gets node-index-offset; any other machine the first free index in
 * [offset + 1, offset + max-nodes-in-rack].
 */
export function chooseIndex(config: IpamConfig, rack: number, role: string, used: ReadonlySet<number>): IndexChoice {
  const offset = config['node-index-offset'];
  if (role === 'boot') {
    return used.has(offset) ? { conflict: `rack ${rack} already has a boot server` } : { index: offset };
  }
  for (let index = offset + 1; index <= offset + config['max-nodes-in-rack']; index++) {
    if (!used.has(index)) return { index };
  }
  return { conflict: `rack ${rack} is full (max-nodes-in-rack is ${config['max-nodes-in-rack']})` };
}

/**
 * The DHCP lease range of the rack segment that contains `address` (a relay's
 * giaddr or the receiving interface): from index-offset + max-nodes + 1 to the
 * second-to-last address of the range.
 */
export function leaseRange(config: IpamConfig, address: number): { first: number; last: number } {
  const range = 2 ** config['node-ipv4-range-size'];
  const base = parseCidrV4(config['node-ipv4-pool'])!.network + parseIPv4(config['node-ipv4-offset'])!;
  const start = base + Math.floor((address - base) / range) * range;
  return {
    first: start + config['node-index-offset'] + config['max-nodes-in-rack'] + 1,
    last: start + range - 2,
  };
}
