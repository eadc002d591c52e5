/**
 * Planning a batch registration (pure): assign each machine its index in its
 * rack, compute its addresses, and refuse the whole batch on any conflict.
 */
import { formatIPv4 } from '../lib/ipv4.js';
import { addressProblem, bmcAddress, chooseIndex, nicConfig, nodeAddresses } from './ipam.js';
import type { IpamConfig, Machine, MachineSpecInput } from './model.js';

export type RegistrationPlan =
  | { kind: 'ok'; machines: Machine[]; racks: Map<number, number[]> }
  | { kind: 'conflict'; message: string; field?: string }
  | { kind: 'invalid'; message: string; field?: string };

/** `used`: the indices already taken in each rack the batch touches. */
export function planRegistration(
  ipam: IpamConfig,
  inputs: MachineSpecInput[],
  used: ReadonlyMap<number, ReadonlySet<number>>,
  now: Date,
): RegistrationPlan {
  const racks = new Map<number, Set<number>>();
  const serials = new Set<string>();
  const machines: Machine[] = [];
  for (const [i, input] of inputs.entries()) {
    if (serials.has(input.serial))
      return { kind: 'conflict', message: `serial ${input.serial} appears twice in the batch`, field: `[${i}].serial` };
    serials.add(input.serial);
    const taken = racks.get(input.rack) ?? new Set(used.get(input.rack) ?? []);
    racks.set(input.rack, taken);
    const choice = chooseIndex(ipam, input.rack, input.role, taken);
    if ('conflict' in choice) return { kind: 'conflict', message: choice.conflict, field: `[${i}].rack` };
    const problem = addressProblem(ipam, input.rack, choice.index);
    if (problem) return { kind: 'invalid', message: problem, field: `[${i}].rack` };
    taken.add(choice.index);
    machines.push(buildMachine(ipam, input, choice.index, now));
  }
  return { kind: 'ok', machines, racks: new Map([...racks].map(([rack, set]) => [rack, [...set].sort((a, b) => a - b)])) };
}

export function buildMachine(ipam: IpamConfig, input: MachineSpecInput, index: number, now: Date): Machine {
  const nodes = nodeAddresses(ipam, input.rack, index);
  const bmc = bmcAddress(ipam, input.rack, index);
  const registered = now.toISOString();
  return {
    spec: {
      serial: input.serial,
      labels: input.labels ?? {},
      rack: input.rack,
      'index-in-rack': index,
      role: input.role,
      ipv4: nodes.map(formatIPv4),
      ipv6: [],
      'register-date': registered,
      // sabakan defaults the retire date to the registration time.
      'retire-date': input['retire-date'] ? new Date(input['retire-date']).toISOString() : registered,
      bmc: { type: input.bmc.type, ipv4: formatIPv4(bmc), ipv6: '' },
    },
    status: { state: 'uninitialized', timestamp: registered },
    info: {
      network: { ipv4: nodes.map((a) => nicConfig(a, ipam['node-ipv4-range-mask'], ipam['node-gateway-offset'])) },
      bmc: { ipv4: nicConfig(bmc, ipam['bmc-ipv4-range-mask'], ipam['bmc-ipv4-gateway-offset']) },
    },
  };
}
