/**
 * The inventory's data, wire-compatible with sabakan's REST API v1: JSON field
 * names, value formats and limits. zod schemas validate every input; strict
 * objects refuse unknown fields.
 */
import { z } from 'zod';

export const MACHINE_STATES = [
  'uninitialized',
  'healthy',
  'unhealthy',
  'unreachable',
  'updating',
  'retiring',
  'retired',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/** Kubernetes-style label names (optional DNS-subdomain prefix) and values. */
const LABEL_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
export const SERIAL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const labelName = z
  .string()
  .max(253)
  .regex(LABEL_NAME, 'must be a label name: alphanumerics, "-", "_", "." (optional DNS prefix and "/")');
export const labelValue = z.string().max(63).regex(LABEL_VALUE, 'must be empty or alphanumerics with "-", "_", "." inside');
export const serial = z
  .string()
  .regex(SERIAL, 'must be 1–64 characters: alphanumerics, ".", "_", "-", starting with an alphanumeric');
export const role = z
  .string()
  .min(1, 'must not be empty')
  .max(63)
  .regex(LABEL_VALUE, 'must be alphanumerics with "-", "_", "." inside');
export const machineState = z.enum(MACHINE_STATES);
export const rfc3339 = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time, e.g. 2030-01-31T00:00:00Z' });

/**
 * What an operator registers. sabakan clients send the computed fields too
 * (zero-valued); they are accepted only while empty, since the server assigns them.
 */
export const machineSpecInput = z.strictObject({
  serial,
  labels: z.record(labelName, labelValue).optional(),
  rack: z.number().int().min(0).max(65535).default(0),
  role,
  bmc: z.strictObject({
    type: z.string().regex(/^[a-zA-Z0-9-_/.]+$/, 'must match [a-zA-Z0-9-_/.]+ (e.g. IPMI-2.0, iDRAC-9)'),
    ipv4: z.literal('', { message: 'is assigned by the server' }).optional(),
    ipv6: z.literal('', { message: 'is assigned by the server' }).optional(),
  }),
  'retire-date': rfc3339.optional(),
  'index-in-rack': z.literal(0, { message: 'is assigned by the server' }).optional(),
  ipv4: z.array(z.string()).max(0, 'is assigned by the server').nullable().optional(),
  ipv6: z.array(z.string()).max(0, 'is assigned by the server').nullable().optional(),
  'register-date': z.string().optional(),
});
export type MachineSpecInput = z.infer<typeof machineSpecInput>;

export interface MachineSpec {
  serial: string;
  labels: Record<string, string>;
  rack: number;
  'index-in-rack': number;
  role: string;
  ipv4: string[];
  ipv6: string[];
  'register-date': string;
  'retire-date': string;
  bmc: { type: string; ipv4: string; ipv6: string };
}

export interface NicConfig {
  address: string;
  netmask: string;
  maskbits: number;
  gateway: string;
}

export interface MachineStatus {
  state: MachineState;
  /** When the state last changed. */
  timestamp: string;
  /** Seconds since `timestamp`, computed when read. */
  duration?: number;
}

export interface Machine {
  spec: MachineSpec;
  status: MachineStatus;
  info: { network: { ipv4: NicConfig[] }; bmc: { ipv4: NicConfig } };
}

const dottedOffset = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be a dotted IPv4 offset, e.g. 0.0.1.0');
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR, e.g. 10.69.0.0/16');
const positive = z.number().int().positive();

export const ipamConfig = z.strictObject({
  'max-nodes-in-rack': positive.max(65535),
  'node-ipv4-pool': cidr,
  'node-ipv4-offset': dottedOffset,
  'node-ipv4-range-size': positive.max(24),
  'node-ipv4-range-mask': positive,
  'node-ip-per-node': positive.max(64),
  'node-index-offset': positive,
  'node-gateway-offset': positive,
  'bmc-ipv4-pool': cidr,
  'bmc-ipv4-offset': dottedOffset,
  'bmc-ipv4-range-size': positive.max(24),
  'bmc-ipv4-range-mask': positive,
  'bmc-ipv4-gateway-offset': positive,
});
export type IpamConfig = z.infer<typeof ipamConfig>;

export const dhcpConfig = z.strictObject({
  'lease-minutes': positive.max(60 * 24 * 365).default(60),
  'dns-servers': z
    .array(z.ipv4({ message: 'must be an IPv4 address' }))
    .max(16)
    .default([]),
  /** Obsolete since sabakan 1.2 (moved to IPAM); accepted and ignored for old clients. */
  'gateway-offset': z.number().int().optional(),
});
export type DhcpConfig = z.infer<typeof dhcpConfig>;

/** The allowed next states; the same state is always a no-op (sabakan's table, §2.2). */
export const TRANSITIONS: Record<MachineState, readonly MachineState[]> = {
  uninitialized: ['healthy', 'retiring'],
  healthy: ['unhealthy', 'unreachable', 'updating', 'retiring'],
  unhealthy: ['healthy', 'unreachable', 'updating', 'retiring'],
  unreachable: ['healthy', 'unhealthy', 'updating', 'retiring'],
  updating: ['uninitialized'],
  retiring: ['retired'],
  retired: ['uninitialized'],
};
