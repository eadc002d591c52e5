/**
 * The inventory's documents in the store: where each lives and the codec that
 * checks it (see docs/store-documents.md). The schemas build on the API's
 * input schemas in model.ts; their keys are in the order Yagura writes them,
 * since a decoded document is what the API answers (zod returns keys in
 * schema order).
 */
import { z } from 'zod';
import { type Codec, CorruptDocumentError, decodedOnce, jsonCodec } from '../store/codec.js';
import type { KeyValue } from '../store/interface.js';
import {
  dhcpConfig,
  type DhcpConfig,
  ipamConfig,
  labelName,
  labelValue,
  type Machine,
  machineSpecInput,
  machineState,
  rfc3339,
  role,
  serial,
} from './model.js';

export const MACHINES_PREFIX = 'machines/';
/** Every machine write touches this key; see MachineCache. */
export const MACHINES_CHANGED = 'inventory/machines-changed';
export const IPAM_KEY = 'config/ipam';
export const DHCP_KEY = 'config/dhcp';
export const machineKey = (serial: string) => `${MACHINES_PREFIX}${serial}`;
/** The indices taken in a rack, ascending. */
export const rackKey = (rack: number) => `node-indices/${rack}`;
export const cryptPrefix = (serial: string) => `crypts/${serial}/`;
export const cryptKey = (serial: string, path: string) => `${cryptPrefix(serial)}${path}`;

const ipv4 = z.ipv4({ message: 'must be an IPv4 address' });
const nic = z.strictObject({ address: ipv4, netmask: ipv4, maskbits: z.number().int().min(0).max(32), gateway: ipv4 });

const machineDocument = z.strictObject({
  spec: z.strictObject({
    serial,
    labels: z.record(labelName, labelValue),
    rack: machineSpecInput.shape.rack.unwrap(),
    'index-in-rack': z.number().int().nonnegative(),
    role,
    ipv4: z.array(ipv4),
    ipv6: z.array(z.string()),
    'register-date': rfc3339,
    'retire-date': rfc3339,
    bmc: z.strictObject({ type: machineSpecInput.shape.bmc.shape.type, ipv4: z.string(), ipv6: z.string() }),
  }),
  status: z.strictObject({ state: machineState, timestamp: rfc3339 }),
  info: z.strictObject({ network: z.strictObject({ ipv4: z.array(nic) }), bmc: z.strictObject({ ipv4: nic }) }),
}) satisfies z.ZodType<Machine>;

const machineJson = jsonCodec('machine', machineDocument);

/** A machine at machines/<serial>; its spec.serial must be the one its key names. */
export const machineCodec: Codec<Machine> = {
  what: machineJson.what,
  decode(kv: KeyValue): Machine {
    const machine = machineJson.decode(kv);
    if (kv.key !== machineKey(machine.spec.serial)) {
      throw new CorruptDocumentError(kv.key, 'machine', `spec.serial: ${machine.spec.serial} is not the serial its key names`);
    }
    return machine;
  },
  encode: (key, machine) => machineJson.encode(key, machine),
};

/** Read by every registration; its check runs the address-plan rules, so each stored text is decoded once. */
export const ipamCodec = decodedOnce(jsonCodec('IPAM config', ipamConfig));

/** What is stored: the two fields that mean something (gateway-offset is accepted from old clients and dropped). */
export const dhcpCodec: Codec<DhcpConfig> = jsonCodec(
  'DHCP config',
  z.strictObject({
    'lease-minutes': dhcpConfig.shape['lease-minutes'].unwrap(),
    'dns-servers': dhcpConfig.shape['dns-servers'].unwrap(),
  }),
);

export const rackIndicesCodec = jsonCodec('rack index list', z.array(z.number().int().nonnegative()));

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** An escrowed disk key: its bytes in base64 (not JSON, as sabakan keeps them). */
export const cryptCodec: Codec<Buffer> = {
  what: 'disk key',
  decode(kv) {
    if (kv.value.length === 0 || !BASE64.test(kv.value)) throw new CorruptDocumentError(kv.key, 'disk key', 'not base64');
    return Buffer.from(kv.value, 'base64');
  },
  encode: (_key, bytes) => bytes.toString('base64'),
};
