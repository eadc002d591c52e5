/** The zod schemas of every document kind, with field names as written in YAML. */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { SERIAL } from '../../inventory/model.js';
import { parseIPv4 } from '../../lib/ipv4.js';
import { parseInterfaceAddress } from '../addresses.js';
import { parseDelay, parsePercent, parseRate, parseSize, type Parsed } from '../units.js';
import { DEFAULT_MEMORY_MIB } from './types.js';
import { describe } from './values.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NAME_RULE = 'must start with a letter or digit and contain only letters, digits, ".", "_" and "-"';

const resourceName = z.string().min(1).max(63).regex(NAME, NAME_RULE);
/** A network names a Linux bridge inside the DC's namespace, so it is an interface name: at most 15 bytes. */
const networkName = z
  .string()
  .min(1)
  .max(15, 'must be at most 15 characters: it names the bridge, a Linux interface (IFNAMSIZ)')
  .regex(NAME, NAME_RULE)
  .refine(
    (name) => name !== 'lo' && !name.startsWith('yg-'),
    '"lo" and names starting with "yg-" are reserved for links Yagura creates',
  );
const reference = z.string().min(1);
const filePath = z
  .string()
  .min(1)
  .refine((path) => !path.includes('\0'), 'must not contain NUL');
const absolutePath = filePath.refine((path) => isAbsolute(path), 'must be an absolute path');
const count = (max: number) => z.number().int().min(1).max(max);

/** A quantity written as a string with a unit; `expected` is the message for anything that is not a string. */
function withUnit<T>(parse: (text: string) => Parsed<T>, expected: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? undefined : `${expected}, found ${describe(issue.input)}`) })
    .transform((text, ctx) => {
      const parsed = parse(text);
      if ('problem' in parsed) {
        ctx.issues.push({ code: 'custom', message: parsed.problem, input: text });
        return z.NEVER;
      }
      return parsed.value;
    });
}

const interfaceAddress = z.string().transform((text, ctx) => {
  const parsed = parseInterfaceAddress(text);
  if ('problem' in parsed) {
    ctx.issues.push({ code: 'custom', message: parsed.problem, input: text });
    return z.NEVER;
  }
  return parsed;
});

const httpUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

export const netem = z.strictObject({
  delay: withUnit(parseDelay, 'must be a duration with a unit, e.g. 10ms').optional(),
  jitter: withUnit(parseDelay, 'must be a duration with a unit, e.g. 2ms').optional(),
  loss: withUnit(parsePercent, 'must be a percentage, e.g. 1%').optional(),
  rate: withUnit(parseRate, 'must be a rate with a unit, e.g. 100mbit').optional(),
});

/** A plain network name is shorthand for {network: name}. */
export const shorthand = (value: unknown) => (typeof value === 'string' ? { network: value } : value);
const notAnInterface = {
  error: (issue: z.core.$ZodRawIssue) =>
    issue.code === 'invalid_type' && issue.input !== undefined
      ? `must be a network name or a mapping {network, addresses, netem}, found ${describe(issue.input)}`
      : undefined,
};
const vmInterface = z.preprocess(shorthand, z.strictObject({ network: reference, netem: netem.optional() }, notAnInterface));
const netnsInterface = z.preprocess(
  shorthand,
  z.strictObject(
    { network: reference, addresses: z.array(interfaceAddress).default([]), netem: netem.optional() },
    notAnInterface,
  ),
);

/** YAML reads `[sleep, 10]` as a string and a number; both are command words. */
const commandWord = z.preprocess((value) => (typeof value === 'number' ? String(value) : value), z.string().min(1));
const app = z.strictObject({ name: resourceName, command: z.array(commandWord).min(1) });

const netnsFields = {
  name: resourceName,
  interfaces: z.array(netnsInterface).min(1),
  apps: z.array(app).default([]),
  'init-scripts': z.array(filePath).default([]),
};

const cache = z.enum(['none', 'writeback', 'writethrough', 'directsync', 'unsafe']).default('none');
const diskFields = { name: resourceName, cache, 'device-class': reference.optional() };
export const volume = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('image'), ...diskFields, image: reference, 'copy-on-write': z.boolean().default(false) }),
  z.strictObject({ kind: z.literal('localds'), ...diskFields, 'user-data': filePath, 'network-config': filePath.optional() }),
  z.strictObject({
    kind: z.literal('raw'),
    ...diskFields,
    size: withUnit(parseSize, 'must be a size with a unit, e.g. 30G'),
    format: z.enum(['qcow2', 'raw']).default('qcow2'),
  }),
  z.strictObject({ kind: z.literal('hostPath'), name: resourceName, path: absolutePath, writable: z.boolean().default(false) }),
]);

const smbiosText = z
  .string()
  .max(64)
  .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII');

export const SCHEMAS = {
  Network: z.strictObject({
    kind: z.literal('Network'),
    name: networkName,
    type: z.enum(['internal', 'external', 'bmc']).default('internal'),
    'use-nat': z.boolean().default(false),
    address: interfaceAddress.optional(),
  }),
  Image: z.strictObject({
    kind: z.literal('Image'),
    name: resourceName,
    file: filePath.optional(),
    url: httpUrl.optional(),
    compression: z.enum(['gzip', 'bzip2']).optional(),
  }),
  DeviceClass: z.strictObject({ kind: z.literal('DeviceClass'), name: resourceName, path: absolutePath }),
  NetworkNamespace: z.strictObject({ kind: z.literal('NetworkNamespace'), ...netnsFields }),
  NetnsNode: z.strictObject({ kind: z.literal('Node'), type: z.literal('netns'), ...netnsFields }),
  VmNode: z.strictObject({
    kind: z.literal('Node'),
    name: resourceName,
    type: z.literal('vm').default('vm'),
    interfaces: z.array(vmInterface).default([]),
    volumes: z.array(volume).default([]),
    ignition: filePath.optional(),
    kernel: filePath.optional(),
    initrd: filePath.optional(),
    append: z
      .string()
      .regex(/^[^\0\n\r]*$/, 'must be one line: the kernel command line')
      .optional(),
    cpu: count(1024).optional(),
    smp: z
      .strictObject({
        cpus: count(1024).optional(),
        cores: count(1024).optional(),
        threads: count(1024).optional(),
        dies: count(1024).optional(),
        sockets: count(1024).optional(),
        maxcpus: count(1024).optional(),
      })
      .optional(),
    memory: withUnit(parseSize, 'must be a size with a unit, e.g. 2G (QEMU would read a bare number as MiB)')
      .refine((bytes) => bytes % 2 ** 20 === 0, 'must be a whole number of MiB, e.g. 1536M')
      .default(DEFAULT_MEMORY_MIB * 2 ** 20),
    numa: z.strictObject({ nodes: count(64) }).optional(),
    'network-device-queue': count(256).optional(),
    uefi: z.boolean().default(false),
    tpm: z.boolean().default(false),
    smbios: z
      .strictObject({
        manufacturer: smbiosText.optional(),
        product: smbiosText.optional(),
        serial: z
          .string()
          .regex(SERIAL, 'must be 1–64 characters: letters, digits, ".", "_", "-", starting with a letter or digit')
          .optional(),
      })
      .default({}),
    bmc: z
      .strictObject({
        username: z
          .string()
          .regex(/^[\x21-\x39\x3b-\x7e]{1,16}$/, 'must be 1–16 printable ASCII characters without spaces or ":" (IPMI limit)')
          .optional(),
        password: z
          .string()
          .regex(/^[\x20-\x7e]{1,20}$/, 'must be 1–20 printable ASCII characters (IPMI limit)')
          .optional(),
        address: z
          .string()
          .refine(
            (text) => parseIPv4(text) !== undefined,
            'must be an IPv4 address without a prefix length, e.g. 10.72.16.5 (the bmc network gives the prefix)',
          )
          .optional(),
      })
      .optional(),
  }),
};

export type SchemaName = keyof typeof SCHEMAS;
export type Output<S extends SchemaName> = z.output<(typeof SCHEMAS)[S]>;

/** Fields that belong to the other node type, for a better "unknown field" message. */
export const VM_ONLY = [
  'volumes',
  'ignition',
  'kernel',
  'initrd',
  'append',
  'cpu',
  'smp',
  'memory',
  'numa',
  'network-device-queue',
  'uefi',
  'tpm',
  'smbios',
  'bmc',
];
export const NETNS_ONLY = ['apps', 'init-scripts'];
/** Kinds of placemat v1 and earlier that v2 (and Yagura) dropped. */
export const PLACEMAT_V1_KINDS = ['DataFolder', 'Pod', 'NodeSet'];
