/**
 * The virtual data center's topology: placemat v2 YAML (Network,
 * NetworkNamespace, Node, Image, DeviceClass) plus Yagura's extensions
 * (netns nodes, per-interface netem impairments, BMC credentials), parsed and
 * checked as a whole before anything is created. docs/dc-yaml.md is the
 * user-facing description of every rule here.
 *
 * Pure: no file or network access. The caller reads the files.
 */
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { SERIAL } from '../inventory/model.js';
import { parseIPv4 } from '../lib/ipv4.js';
import { networkContains, parseInterfaceAddress, type InterfaceAddress } from './addresses.js';
import { TopologyError, type TopologyProblem } from './topology-error.js';
import { parseDelay, parsePercent, parseRate, parseSize, type Parsed } from './units.js';
import { formatPath, loadDocuments, positionOf, type FieldPath, type SourceDocument, type SourceFile } from './yaml-source.js';

export { TopologyError, formatProblem, type TopologyProblem } from './topology-error.js';
export type { InterfaceAddress } from './addresses.js';
export type { SourceFile } from './yaml-source.js';

// ---------------------------------------------------------------------------
// The normalized topology
// ---------------------------------------------------------------------------

/** Where a resource is defined, for messages from later stages (planning, building). */
export interface Origin {
  file: string;
  line: number;
  column: number;
}

export type NetworkType = 'internal' | 'external' | 'bmc';

export interface Network {
  name: string;
  type: NetworkType;
  useNat: boolean;
  /** The bridge's own address; its network is the range interface addresses must fall in. Absent on internal networks. */
  address?: InterfaceAddress;
  origin: Origin;
}

export interface Image {
  name: string;
  /** A local image file (relative paths are resolved against the YAML file's directory). Exactly one of file and url. */
  file?: string;
  /** An http(s) URL to download the image from. */
  url?: string;
  compression?: 'gzip' | 'bzip2';
  origin: Origin;
}

export interface DeviceClass {
  name: string;
  /** An absolute directory that holds the volume files of volumes in this class. */
  path: string;
  origin: Origin;
}

/** Link impairments applied by tc netem to what the node sends on the interface. */
export interface Netem {
  delayUs?: number;
  jitterUs?: number;
  lossPercent?: number;
  rateBitsPerSecond?: number;
}

export interface Interface {
  /** 0-based position: NIC order in a VM, ethN in a network namespace. */
  index: number;
  network: string;
  /** Addresses configured on the interface (network namespaces only; a VM sets its own). */
  addresses: InterfaceAddress[];
  netem?: Netem;
}

export interface App {
  name: string;
  command: string[];
}

/** A router, switch stand-in or service host: a network namespace with processes, no VM. */
export interface NetworkNamespace {
  kind: 'NetworkNamespace';
  name: string;
  interfaces: Interface[];
  apps: App[];
  /** Script paths run in order inside the namespace before the apps start. */
  initScripts: string[];
  origin: Origin;
}

/** A lightweight server (Yagura extension): a network namespace with its interfaces and processes. */
export interface NetnsNode {
  kind: 'Node';
  type: 'netns';
  name: string;
  interfaces: Interface[];
  apps: App[];
  initScripts: string[];
  origin: Origin;
}

export interface Smp {
  /** Always set: given, or derived from maxcpus or the topology as QEMU does. */
  cpus: number;
  cores?: number;
  threads?: number;
  dies?: number;
  sockets?: number;
  maxcpus?: number;
}

export type VolumeCache = 'none' | 'writeback' | 'writethrough' | 'directsync' | 'unsafe';

export type Volume =
  | { kind: 'image'; name: string; image: string; copyOnWrite: boolean; cache: VolumeCache; deviceClass?: string }
  | { kind: 'localds'; name: string; userData: string; networkConfig?: string; cache: VolumeCache; deviceClass?: string }
  | { kind: 'raw'; name: string; sizeBytes: number; format: 'qcow2' | 'raw'; cache: VolumeCache; deviceClass?: string }
  | { kind: 'hostPath'; name: string; path: string; writable: boolean };

export interface BmcCredentials {
  username: string;
  password: string;
}

/** A node's virtual BMC: its credentials and, when the topology fixes it, its IPv4 address on a bmc network. */
export interface Bmc extends BmcCredentials {
  /** Without it the BMC waits for the guest to announce its address on the `placemat` virtio-serial port. */
  address?: string;
}

export interface VmNode {
  kind: 'Node';
  type: 'vm';
  name: string;
  interfaces: Interface[];
  volumes: Volume[];
  ignition?: string;
  /** Direct kernel boot (Yagura extension): QEMU loads this kernel instead of booting from firmware. */
  kernel?: string;
  /** Only with kernel. */
  initrd?: string;
  /** The kernel command line; only with kernel. */
  append?: string;
  smp: Smp;
  memoryMiB: number;
  numaNodes?: number;
  networkDeviceQueue?: number;
  uefi: boolean;
  tpm: boolean;
  smbios: { manufacturer?: string; product?: string; serial: string };
  /** Present exactly when the topology has a bmc network: the node then gets a virtual BMC with these credentials. */
  bmc?: Bmc;
  origin: Origin;
}

export type Node = VmNode | NetnsNode;

export interface Topology {
  networks: Network[];
  images: Image[];
  deviceClasses: DeviceClass[];
  networkNamespaces: NetworkNamespace[];
  nodes: Node[];
}

export const KINDS = ['Network', 'NetworkNamespace', 'Node', 'Image', 'DeviceClass'] as const;
export type Kind = (typeof KINDS)[number];

/** A VM's memory when `memory` is left out (1G). */
export const DEFAULT_MEMORY_MIB = 1024;
/** placemat's fixed BMC credentials, so neco's tools (setup-hw, ipmitool scripts) work unchanged. */
export const DEFAULT_BMC_CREDENTIALS: BmcCredentials = { username: 'cybozu', password: 'cybozu' };

/**
 * Parses and checks a topology written in one or more files of multi-document
 * YAML, merged in order. Returns the normalized topology with defaults filled
 * in, or throws a TopologyError listing every problem found.
 */
export function parseTopology(files: readonly SourceFile[]): Topology {
  const problems: TopologyProblem[] = [];
  const documents = loadDocuments(files, problems);
  const entries = documents.flatMap((source) => checkDocument(source, problems) ?? []);
  checkAcrossDocuments(entries, problems);
  if (entries.length === 0 && problems.length === 0) {
    problems.push({
      file: files[0]?.path ?? '(no files)',
      line: 1,
      column: 1,
      message: `the topology defines nothing: give documents with a kind (${KINDS.join(', ')})`,
    });
  }
  if (problems.length > 0) throw new TopologyError(sortProblems(problems, files));
  return assemble(entries);
}

/** Node SMBIOS serial when none is given: the SHA-1 of the node name in hex, as placemat does. */
export function defaultSerial(nodeName: string): string {
  return createHash('sha1').update(nodeName).digest('hex');
}

// ---------------------------------------------------------------------------
// Schemas (field names as written in YAML)
// ---------------------------------------------------------------------------

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

const netem = z.strictObject({
  delay: withUnit(parseDelay, 'must be a duration with a unit, e.g. 10ms').optional(),
  jitter: withUnit(parseDelay, 'must be a duration with a unit, e.g. 2ms').optional(),
  loss: withUnit(parsePercent, 'must be a percentage, e.g. 1%').optional(),
  rate: withUnit(parseRate, 'must be a rate with a unit, e.g. 100mbit').optional(),
});

/** A plain network name is shorthand for {network: name}. */
const shorthand = (value: unknown) => (typeof value === 'string' ? { network: value } : value);
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
const volume = z.discriminatedUnion('kind', [
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

const SCHEMAS = {
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

type SchemaName = keyof typeof SCHEMAS;
type Output<S extends SchemaName> = z.output<(typeof SCHEMAS)[S]>;

/** Fields that belong to the other node type, for a better "unknown field" message. */
const VM_ONLY = [
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
const NETNS_ONLY = ['apps', 'init-scripts'];
/** Kinds of placemat v1 and earlier that v2 (and Yagura) dropped. */
const PLACEMAT_V1_KINDS = ['DataFolder', 'Pod', 'NodeSet'];

// ---------------------------------------------------------------------------
// One document at a time
// ---------------------------------------------------------------------------

/** A document with a known kind: its raw data (for cross-document checks) and, when valid, its parsed form. */
interface Entry {
  source: SourceDocument;
  kind: Kind;
  schema?: SchemaName;
  /** "Node rack0-cs1" */
  label: string;
  raw: Record<string, unknown>;
  parsed?: unknown;
}

function checkDocument(source: SourceDocument, problems: TopologyProblem[]): Entry | undefined {
  const value = source.value;
  if (value === undefined || value === null) return undefined; // an empty document ("---" at the end, comments only)
  const report = reporter(source, `document ${source.index}`, problems);
  if (!isRecord(value)) {
    if (!source.broken) report([], `a document must be a mapping with kind and name, found ${describe(value)}`);
    return undefined;
  }
  const kind = value.kind;
  if (!KINDS.includes(kind as Kind)) {
    if (!source.broken) {
      if (kind === undefined) report([], `kind: is required (one of ${KINDS.join(', ')})`);
      else if (PLACEMAT_V1_KINDS.includes(kind as string))
        report(['kind'], `${kind} is a placemat v1 kind and is not supported (known: ${KINDS.join(', ')})`, 'value', 'kind');
      else report(['kind'], `unknown kind ${describe(kind)} (known: ${KINDS.join(', ')})`, 'value', 'kind');
    }
    return undefined;
  }
  const name = value.name;
  const label = typeof name === 'string' && name !== '' ? `${kind} ${name}` : `${kind} (document ${source.index})`;
  const entry: Entry = { source, kind: kind as Kind, label, raw: value };
  if (source.broken) return entry;

  const at = reporter(source, label, problems);
  let schema: SchemaName = kind as Exclude<Kind, 'Node'>;
  if (kind === 'Node') {
    if (value.type === undefined || value.type === 'vm') schema = 'VmNode';
    else if (value.type === 'netns') schema = 'NetnsNode';
    else {
      at(['type'], `must be vm or netns, found ${describe(value.type)}`);
      return entry;
    }
  }
  entry.schema = schema;
  const result = SCHEMAS[schema].safeParse(value, { error: genericMessage });
  if (result.success) entry.parsed = result.data;
  else {
    for (const issue of result.error.issues) {
      const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) at([...path, key], unknownFieldMessage(schema, path, key, value), 'key');
      } else {
        at(path, issue.message);
      }
    }
  }
  checkFieldCombinations(entry, at);
  return entry;
}

type Report = (path: FieldPath, message: string, part?: 'value' | 'key', field?: string) => void;

function reporter(source: SourceDocument, resource: string, problems: TopologyProblem[]): Report {
  return (path, message, part = 'value', field) => {
    problems.push({ ...positionOf(source, path, part), resource, field: field ?? formatPath(path), message });
  };
}

/** Rules that involve two fields or more. They read the raw document so they run even when other fields are invalid. */
function checkFieldCombinations(entry: Entry, at: Report): void {
  const raw = entry.raw;
  if (entry.kind === 'Network') {
    const type = raw.type ?? 'internal';
    const hasAddress = raw.address !== undefined;
    if (type === 'internal') {
      if (hasAddress)
        at(['address'], 'an internal network has no address (it is a plain L2 segment): remove it or use type: external');
      if (raw['use-nat'] === true) at(['use-nat'], 'only an external network can use NAT');
    } else if (type === 'external' || type === 'bmc') {
      if (!hasAddress)
        at(
          raw.type === undefined ? [] : ['type'],
          `is required for ${type === 'bmc' ? 'a bmc' : 'an external'} network: the bridge's address, e.g. 10.0.0.1/24`,
          'value',
          'address',
        );
      if (type === 'bmc' && raw['use-nat'] === true) at(['use-nat'], 'only an external network can use NAT');
    }
  }
  if (entry.kind === 'Image') {
    if (raw.file !== undefined && raw.url !== undefined) at(['url'], 'give either file or url, not both');
    if (raw.file === undefined && raw.url === undefined) at([], 'is required: give file (a local image) or url', 'value', 'file');
  }
  if (entry.kind === 'NetworkNamespace' || entry.kind === 'Node') {
    for (const [i, item] of arrayOf(raw.interfaces).entries()) {
      if (!isRecord(item) || !isRecord(item.netem)) continue;
      const path = ['interfaces', i, 'netem'];
      if (Object.keys(item.netem).length === 0) at(path, 'give at least one of delay, jitter, loss, rate (or remove netem)');
      if (item.netem.jitter !== undefined && item.netem.delay === undefined)
        at([...path, 'jitter'], 'needs delay: jitter varies the delay around its value');
    }
  }
  // App names name log and pid files, volume names name disk files: unique within their node or namespace.
  for (const field of ['apps', 'volumes']) {
    const seen = new Set<string>();
    for (const [i, item] of arrayOf(raw[field]).entries()) {
      if (!isRecord(item) || typeof item.name !== 'string') continue;
      if (seen.has(item.name)) at([field, i, 'name'], `duplicate ${field === 'apps' ? 'app' : 'volume'} name "${item.name}"`);
      seen.add(item.name);
    }
  }
  if (entry.schema === 'VmNode') {
    checkCpus(raw, at);
    for (const field of ['initrd', 'append'])
      if (raw[field] !== undefined && raw.kernel === undefined)
        at([field], `needs kernel: ${field} is only used with direct kernel boot`);
    if (isRecord(raw.bmc) && (raw.bmc.username === undefined) !== (raw.bmc.password === undefined))
      at(
        ['bmc'],
        `give both username and password, or neither (the default is ${DEFAULT_BMC_CREDENTIALS.username} / ${DEFAULT_BMC_CREDENTIALS.password})`,
        'value',
        raw.bmc.username === undefined ? 'bmc.username' : 'bmc.password',
      );
  }
}

/** placemat's rule (exactly one of cpu and smp) and QEMU's (the topology must multiply out to maxcpus). */
function checkCpus(raw: Record<string, unknown>, at: Report): void {
  if (raw.cpu !== undefined && raw.smp !== undefined) {
    at(['smp'], 'give either cpu or smp, not both');
    return;
  }
  if (raw.cpu === undefined && raw.smp === undefined) {
    at([], 'is required: give cpu: N or smp: {cpus: N, …} (exactly one of them)', 'value', 'smp');
    return;
  }
  const cpus = smpCpus(raw);
  if (isRecord(raw.smp)) {
    const smp = raw.smp;
    const int = (key: string) => (Number.isInteger(smp[key]) && (smp[key] as number) > 0 ? (smp[key] as number) : undefined);
    const fields = ['cpus', 'maxcpus', 'sockets', 'dies', 'cores', 'threads'];
    if (fields.every((key) => smp[key] === undefined)) at(['smp'], `give at least cpus (fields: ${fields.join(', ')})`);
    const [given, max] = [int('cpus'), int('maxcpus')];
    if (given !== undefined && max !== undefined && given > max) at(['smp', 'cpus'], `must be at most maxcpus (${max})`);
    const total = max ?? given;
    const parts = ['sockets', 'dies', 'cores', 'threads'].map(int);
    const product = parts.reduce<number>((acc, part) => acc * (part ?? 1), 1);
    const allGiven = int('sockets') !== undefined && int('cores') !== undefined && int('threads') !== undefined;
    if (total !== undefined && parts.some((part) => part !== undefined)) {
      if (allGiven && product !== total)
        at(
          ['smp'],
          `sockets × dies × cores × threads is ${product}, but must equal ${max !== undefined ? 'maxcpus' : 'cpus'} (${total})`,
        );
      else if (!allGiven && total % product !== 0)
        at(['smp'], `${max !== undefined ? 'maxcpus' : 'cpus'} (${total}) is not a multiple of the given topology (${product})`);
    }
  }
  const nodes = isRecord(raw.numa) ? raw.numa.nodes : undefined;
  if (cpus !== undefined && Number.isInteger(nodes) && (nodes as number) > 0 && cpus % (nodes as number) !== 0)
    at(['numa', 'nodes'], `must divide the ${cpus} CPUs evenly: every NUMA node gets the same number of CPUs`);
}

/** The vCPU count of a raw VM node, when it can be told. */
function smpCpus(raw: Record<string, unknown>): number | undefined {
  const positive = (value: unknown) => (Number.isInteger(value) && (value as number) > 0 ? (value as number) : undefined);
  if (raw.cpu !== undefined) return positive(raw.cpu);
  if (!isRecord(raw.smp)) return undefined;
  const smp = raw.smp;
  return (
    positive(smp.cpus) ??
    positive(smp.maxcpus) ??
    ['sockets', 'dies', 'cores', 'threads'].reduce((acc, key) => acc * (positive(smp[key]) ?? 1), 1)
  );
}

// ---------------------------------------------------------------------------
// Across documents: names, references, addresses
// ---------------------------------------------------------------------------

interface Declared {
  entry: Entry;
  where: string;
}

function checkAcrossDocuments(entries: readonly Entry[], problems: TopologyProblem[]): void {
  const at = (entry: Entry, path: FieldPath, message: string) => reporter(entry.source, entry.label, problems)(path, message);
  const where = (entry: Entry, path: FieldPath) => {
    const position = positionOf(entry.source, path);
    return `${position.file}:${position.line}:${position.column}`;
  };

  // Names. Nodes and NetworkNamespaces share one namespace: both are things you enter or act on by name.
  const namespaces: Record<string, Map<string, Declared>> = {
    network: new Map(),
    image: new Map(),
    deviceClass: new Map(),
    machine: new Map(),
  };
  const namespaceOf: Record<Kind, string> = {
    Network: 'network',
    Image: 'image',
    DeviceClass: 'deviceClass',
    Node: 'machine',
    NetworkNamespace: 'machine',
  };
  for (const entry of entries) {
    const name = entry.raw.name;
    if (typeof name !== 'string' || name === '') continue;
    const names = namespaces[namespaceOf[entry.kind]]!;
    const earlier = names.get(name);
    if (earlier === undefined) names.set(name, { entry, where: where(entry, ['name']) });
    else if (earlier.entry.kind === entry.kind)
      at(entry, ['name'], `duplicate ${entry.kind} name "${name}" (first defined at ${earlier.where})`);
    else
      at(
        entry,
        ['name'],
        `"${name}" is already the name of ${earlier.entry.kind} at ${earlier.where}: Nodes and NetworkNamespaces share one set of names`,
      );
  }

  const networks = new Map<string, { type: unknown; address?: InterfaceAddress }>();
  for (const entry of entries) {
    if (entry.kind !== 'Network' || typeof entry.raw.name !== 'string' || networks.has(entry.raw.name)) continue;
    const parsed = typeof entry.raw.address === 'string' ? parseInterfaceAddress(entry.raw.address) : undefined;
    networks.set(entry.raw.name, {
      type: entry.raw.type ?? 'internal',
      address: parsed && !('problem' in parsed) ? parsed : undefined,
    });
  }
  const hasBmcNetwork = [...networks.values()].some((network) => network.type === 'bmc');
  const known = (names: Iterable<string>, wanted: string, what: string) => knownList([...names], wanted, what);

  // Addresses in use per network: the bridge's own first, then the interfaces'.
  const used = new Map<string, string>();
  for (const entry of entries) {
    if (entry.kind !== 'Network' || typeof entry.raw.name !== 'string') continue;
    const network = networks.get(entry.raw.name);
    if (network?.address) used.set(`${entry.raw.name}|${network.address.address}`, `the bridge of Network ${entry.raw.name}`);
  }

  for (const entry of entries) {
    if (entry.source.broken || (entry.kind !== 'Node' && entry.kind !== 'NetworkNamespace')) continue;
    for (const [i, item] of arrayOf(entry.raw.interfaces).entries()) {
      const networkPath = typeof item === 'string' ? ['interfaces', i] : ['interfaces', i, 'network'];
      const name = typeof item === 'string' ? item : isRecord(item) ? item.network : undefined;
      if (typeof name !== 'string' || name === '') continue;
      const network = networks.get(name);
      if (!network) {
        at(entry, networkPath, `unknown network "${name}" ${known(networks.keys(), name, 'Network')}`);
        continue;
      }
      if (!isRecord(item)) continue;
      for (const [j, text] of arrayOf(item.addresses).entries()) {
        if (typeof text !== 'string') continue;
        const address = parseInterfaceAddress(text);
        if ('problem' in address) continue;
        const path = ['interfaces', i, 'addresses', j];
        if (network.address && !networkContains(network.address, address)) {
          at(entry, path, `${address.cidr} is outside network ${name}'s range ${network.address.network}`);
          continue;
        }
        const key = `${name}|${address.address}`;
        const holder = used.get(key);
        if (holder !== undefined) at(entry, path, `${address.address} is already used on network ${name} by ${holder}`);
        else used.set(key, `${entry.label} (${where(entry, path)})`);
      }
    }
  }

  // Volumes' images and device classes, and the VM nodes' serials and BMCs.
  const serials = new Map<string, string>();
  for (const entry of entries) {
    if (entry.source.broken || entry.schema !== 'VmNode') continue;
    for (const [i, item] of arrayOf(entry.raw.volumes).entries()) {
      if (!isRecord(item)) continue;
      if (item.kind === 'image' && typeof item.image === 'string' && item.image !== '' && !namespaces.image!.has(item.image))
        at(
          entry,
          ['volumes', i, 'image'],
          `unknown image "${item.image}" ${known(namespaces.image!.keys(), item.image, 'Image')}`,
        );
      const deviceClass = item['device-class'];
      if (typeof deviceClass === 'string' && deviceClass !== '' && !namespaces.deviceClass!.has(deviceClass))
        at(
          entry,
          ['volumes', i, 'device-class'],
          `unknown device class "${deviceClass}" ${known(namespaces.deviceClass!.keys(), deviceClass, 'DeviceClass')}`,
        );
    }
    const smbios = isRecord(entry.raw.smbios) ? entry.raw.smbios : {};
    const serial =
      typeof smbios.serial === 'string'
        ? smbios.serial
        : typeof entry.raw.name === 'string'
          ? defaultSerial(entry.raw.name)
          : undefined;
    if (serial !== undefined) {
      const holder = serials.get(serial);
      const path = smbios.serial !== undefined ? ['smbios', 'serial'] : ['name'];
      if (holder !== undefined)
        at(entry, path, `SMBIOS serial ${serial} is already used by ${holder}; serials identify machines and BMCs`);
      else serials.set(serial, `${entry.label} (${where(entry, path)})`);
    }
    if (entry.raw.bmc !== undefined && !hasBmcNetwork)
      at(entry, ['bmc'], 'there is no Network of type bmc, so the node gets no BMC: add one or remove bmc');
    else if (isRecord(entry.raw.bmc) && typeof entry.raw.bmc.address === 'string') checkBmcAddress(entry, entry.raw.bmc.address);
  }

  /** A fixed BMC address: a host address of a bmc network (the one the BMC joins), used by nothing else on it. */
  function checkBmcAddress(entry: Entry, text: string): void {
    if (parseIPv4(text) === undefined) return; // the schema reported it
    const path = ['bmc', 'address'];
    const ranges = [...networks].filter(([, network]) => network.type === 'bmc' && network.address?.family === 4);
    const single = parseInterfaceAddress(`${text}/32`) as InterfaceAddress;
    const joined = ranges.find(([, network]) => networkContains(network.address!, single));
    if (!joined) {
      const shown = ranges.map(([name, network]) => `${name} ${network.address!.network}`).join(', ');
      at(entry, path, `${text} is outside every bmc network's range (${shown || 'no bmc network has an IPv4 address'})`);
      return;
    }
    const [name, network] = joined;
    if ('problem' in parseInterfaceAddress(`${text}/${network.address!.prefixLength}`)) {
      at(entry, path, `${text} is the network or broadcast address of network ${name} (${network.address!.network})`);
      return;
    }
    const key = `${name}|${text}`;
    const holder = used.get(key);
    if (holder !== undefined) at(entry, path, `${text} is already used on network ${name} by ${holder}`);
    else used.set(key, `the BMC of ${entry.label} (${where(entry, path)})`);
  }
}

/** "(known: a, b)" listing the names closest to `wanted` first, at most eight of them. */
function knownList(names: string[], wanted: string, kind: string): string {
  if (names.length === 0) return `(no ${kind} is defined)`;
  const LIMIT = 8;
  const ordered =
    names.length <= LIMIT
      ? names
      : [...names].sort((a, b) => editDistance(a, wanted) - editDistance(b, wanted) || a.localeCompare(b));
  const shown = ordered.slice(0, LIMIT).join(', ');
  return names.length <= LIMIT ? `(known: ${shown})` : `(closest known: ${shown}, and ${names.length - LIMIT} more)`;
}

// ---------------------------------------------------------------------------
// Assembling the normalized topology (only when every check passed)
// ---------------------------------------------------------------------------

function assemble(entries: readonly Entry[]): Topology {
  const topology: Topology = { networks: [], images: [], deviceClasses: [], networkNamespaces: [], nodes: [] };
  const hasBmcNetwork = entries.some((entry) => entry.kind === 'Network' && (entry.parsed as Output<'Network'>).type === 'bmc');
  for (const entry of entries) {
    const position = positionOf(entry.source, []);
    const origin: Origin = { file: position.file, line: position.line, column: position.column };
    const resolve = (path: string) => (isAbsolute(path) ? path : join(dirname(entry.source.file), path));
    switch (entry.schema) {
      case 'Network': {
        const spec = entry.parsed as Output<'Network'>;
        topology.networks.push({
          name: spec.name,
          type: spec.type,
          useNat: spec['use-nat'],
          ...optional('address', spec.address),
          origin,
        });
        break;
      }
      case 'Image': {
        const spec = entry.parsed as Output<'Image'>;
        topology.images.push({
          name: spec.name,
          ...optional('file', spec.file === undefined ? undefined : resolve(spec.file)),
          ...optional('url', spec.url),
          ...optional('compression', spec.compression),
          origin,
        });
        break;
      }
      case 'DeviceClass': {
        const spec = entry.parsed as Output<'DeviceClass'>;
        topology.deviceClasses.push({ name: spec.name, path: spec.path, origin });
        break;
      }
      case 'NetworkNamespace':
      case 'NetnsNode': {
        const spec = entry.parsed as Output<'NetworkNamespace'>;
        const common = {
          name: spec.name,
          interfaces: spec.interfaces.map((item, index) => ({
            index,
            network: item.network,
            addresses: item.addresses,
            ...optional('netem', netemOf(item.netem)),
          })),
          apps: spec.apps,
          initScripts: spec['init-scripts'].map(resolve),
          origin,
        };
        if (entry.schema === 'NetworkNamespace') topology.networkNamespaces.push({ kind: 'NetworkNamespace', ...common });
        else topology.nodes.push({ kind: 'Node', type: 'netns', ...common });
        break;
      }
      case 'VmNode': {
        const spec = entry.parsed as Output<'VmNode'>;
        const smp = spec.smp ?? { cpus: spec.cpu! };
        topology.nodes.push({
          kind: 'Node',
          type: 'vm',
          name: spec.name,
          interfaces: spec.interfaces.map((item, index) => ({
            index,
            network: item.network,
            addresses: [],
            ...optional('netem', netemOf(item.netem)),
          })),
          volumes: spec.volumes.map((item) => volumeOf(item, resolve)),
          ...optional('ignition', spec.ignition === undefined ? undefined : resolve(spec.ignition)),
          ...optional('kernel', spec.kernel === undefined ? undefined : resolve(spec.kernel)),
          ...optional('initrd', spec.initrd === undefined ? undefined : resolve(spec.initrd)),
          ...optional('append', spec.append),
          smp: { ...dropUndefined(smp), cpus: smpCpus({ smp })! },
          memoryMiB: spec.memory / 2 ** 20,
          ...optional('numaNodes', spec.numa?.nodes),
          ...optional('networkDeviceQueue', spec['network-device-queue']),
          uefi: spec.uefi,
          tpm: spec.tpm,
          smbios: { ...dropUndefined(spec.smbios), serial: spec.smbios.serial ?? defaultSerial(spec.name) },
          ...optional('bmc', hasBmcNetwork ? bmcOf(spec.bmc) : undefined),
          origin,
        });
        break;
      }
    }
  }
  return topology;
}

function bmcOf(spec: Output<'VmNode'>['bmc']): Bmc {
  return {
    username: spec?.username ?? DEFAULT_BMC_CREDENTIALS.username,
    password: spec?.password ?? DEFAULT_BMC_CREDENTIALS.password,
    ...optional('address', spec?.address),
  };
}

function netemOf(spec: z.output<typeof netem> | undefined): Netem | undefined {
  if (spec === undefined) return undefined;
  return {
    ...optional('delayUs', spec.delay),
    ...optional('jitterUs', spec.jitter),
    ...optional('lossPercent', spec.loss),
    ...optional('rateBitsPerSecond', spec.rate),
  };
}

function volumeOf(spec: z.output<typeof volume>, resolve: (path: string) => string): Volume {
  switch (spec.kind) {
    case 'image':
      return {
        kind: 'image',
        name: spec.name,
        image: spec.image,
        copyOnWrite: spec['copy-on-write'],
        cache: spec.cache,
        ...optional('deviceClass', spec['device-class']),
      };
    case 'localds':
      return {
        kind: 'localds',
        name: spec.name,
        userData: resolve(spec['user-data']),
        ...optional('networkConfig', spec['network-config'] === undefined ? undefined : resolve(spec['network-config'])),
        cache: spec.cache,
        ...optional('deviceClass', spec['device-class']),
      };
    case 'raw':
      return {
        kind: 'raw',
        name: spec.name,
        sizeBytes: spec.size,
        format: spec.format,
        cache: spec.cache,
        ...optional('deviceClass', spec['device-class']),
      };
    case 'hostPath':
      return { kind: 'hostPath', name: spec.name, path: spec.path, writable: spec.writable };
  }
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/** Messages for zod's generic issues; schemas give their own for format rules. */
function genericMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const found = issue.input === undefined ? '' : `, found ${describe(issue.input)}`;
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const expected: Record<string, string> = {
        string: 'must be a string',
        number: 'must be a number',
        int: 'must be a whole number',
        boolean: 'must be true or false',
        array: 'must be a list',
        object: 'must be a mapping',
      };
      return `${expected[issue.expected] ?? `must be ${issue.expected}`}${found}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}${found}`
        : `must be one of ${issue.values.map((value) => String(value)).join(', ')}${found}`;
    case 'invalid_union': {
      if (!('discriminator' in issue)) return undefined;
      const options = (issue as { options?: unknown[] }).options ?? [];
      const input = isRecord(issue.input) ? issue.input : undefined;
      const given = input?.[String(issue.discriminator)];
      return given === undefined
        ? `is required (one of ${options.map(String).join(', ')})`
        : `must be one of ${options.map(String).join(', ')}, found ${describe(given)}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${issue.minimum} item${Number(issue.minimum) === 1 ? '' : 's'}`;
      if (issue.origin === 'string')
        return Number(issue.minimum) === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      return `must be at least ${issue.minimum}${found}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      return `must be at most ${issue.maximum}${found}`;
    default:
      return undefined;
  }
}

/** Every field name of the format, for suggestions where the schema at a path cannot be told. */
const ALL_FIELDS = new Set<string>(
  `kind name type use-nat address addresses file url compression path interfaces network netem delay jitter loss rate apps command init-scripts volumes image copy-on-write cache device-class user-data network-config size format writable ignition kernel initrd append cpu smp cpus cores threads dies sockets maxcpus memory numa nodes network-device-queue uefi tpm smbios manufacturer product serial bmc username password`.split(
    /\s+/,
  ),
);

function unknownFieldMessage(schema: SchemaName, path: FieldPath, key: string, document: Record<string, unknown>): string {
  const unknown = `unknown field`;
  if (path.length === 0 && key === 'spec')
    return `${unknown}: the pre-1.0 placemat "spec:" wrapper is not supported; put its fields at the top level`;
  if (schema === 'VmNode' && path.length === 0 && NETNS_ONLY.includes(key))
    return `${unknown} for a VM node: "${key}" is only for type: netns nodes and NetworkNamespaces`;
  if (schema === 'NetnsNode' && path.length === 0 && VM_ONLY.includes(key))
    return `${unknown} for a netns node: "${key}" is only for type: vm nodes`;
  if (schema === 'VmNode' && path[0] === 'interfaces' && path.length === 2 && key === 'addresses')
    return `${unknown} for a VM node: a VM configures its own addresses; addresses are for netns nodes and NetworkNamespaces`;
  if (path[0] === 'volumes' && key === 'vg')
    return `${unknown}: "vg" is a leftover of placemat v1's LVM volumes and is not supported`;
  const allowed = allowedKeys(SCHEMAS[schema], document, path);
  const candidates = allowed ?? [...ALL_FIELDS];
  const close = candidates
    .map((field) => ({ field, distance: editDistance(field, key.toLowerCase().replaceAll('_', '-')) }))
    .filter(({ distance, field }) => distance <= Math.max(1, Math.floor(field.length / 3)))
    .sort((a, b) => a.distance - b.distance)[0];
  if (close) return `${unknown} (did you mean "${close.field}"?)`;
  return allowed ? `${unknown} (known here: ${allowed.join(', ')})` : unknown;
}

interface LooseDef {
  type: string;
  shape?: Record<string, { _zod: { def: LooseDef } }>;
  element?: { _zod: { def: LooseDef } };
  innerType?: { _zod: { def: LooseDef } };
  in?: { _zod: { def: LooseDef } };
  out?: { _zod: { def: LooseDef } };
  options?: { _zod: { def: LooseDef } }[];
  discriminator?: string;
  values?: unknown[];
}

/** The field names the schema allows for the mapping at `path` (the matching option of a discriminated union). */
function allowedKeys(schema: { _zod: { def: unknown } }, document: unknown, path: FieldPath): string[] | undefined {
  let def = schema._zod.def as LooseDef;
  let value: unknown = document;
  const unwrap = () => {
    for (;;) {
      if (def.innerType) def = def.innerType._zod.def;
      else if (def.type === 'pipe' && def.in && def.out) {
        if (def.in._zod.def.type === 'transform') {
          // z.preprocess: the value the object schema sees is the transformed one (string shorthand → {network}).
          value = shorthand(value);
          def = def.out._zod.def;
        } else def = def.in._zod.def;
      } else if (def.type === 'union' && def.options && def.discriminator) {
        const wanted = isRecord(value) ? value[def.discriminator] : undefined;
        const option = def.options.find((candidate) =>
          candidate._zod.def.shape?.[def.discriminator!]?._zod.def.values?.includes(wanted),
        );
        if (!option) return false;
        def = option._zod.def;
      } else return true;
    }
  };
  for (const segment of path) {
    if (!unwrap()) return undefined;
    if (def.type === 'object' && typeof segment === 'string' && def.shape?.[segment]) def = def.shape[segment]._zod.def;
    else if (def.type === 'array' && typeof segment === 'number' && def.element) def = def.element._zod.def;
    else return undefined;
    value = isRecord(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[segment] : undefined;
  }
  if (!unwrap() || def.type !== 'object' || !def.shape) return undefined;
  return Object.keys(def.shape);
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function sortProblems(problems: TopologyProblem[], files: readonly SourceFile[]): TopologyProblem[] {
  const order = new Map(files.map((file, i) => [file.path, i]));
  return problems
    .map((problem, i) => ({ problem, i }))
    .sort(
      (a, b) =>
        (order.get(a.problem.file) ?? 0) - (order.get(b.problem.file) ?? 0) ||
        a.problem.line - b.problem.line ||
        a.problem.column - b.problem.column ||
        a.i - b.i,
    )
    .map(({ problem }) => problem);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function describe(value: unknown): string {
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

/** `{ key: value }` when value is defined, `{}` otherwise: keeps optional fields absent rather than undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
