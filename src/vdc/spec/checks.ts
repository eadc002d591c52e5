/** The checks: each document against its schema and field rules, then names, references and addresses across documents. */
import { parseIPv4 } from '../../lib/ipv4.js';
import { networkContains, parseInterfaceAddress, type InterfaceAddress } from '../addresses.js';
import type { TopologyProblem } from '../topology-error.js';
import { formatPath, positionOf, type FieldPath, type SourceDocument } from '../../lib/yaml-source.js';
import { genericMessage, knownList, unknownFieldMessage } from './messages.js';
import { PLACEMAT_V1_KINDS, SCHEMAS, type SchemaName } from './schema.js';
import { DEFAULT_BMC_CREDENTIALS, defaultSerial, KINDS, type Kind, YAGURA_WORD } from './types.js';
import { arrayOf, describe, isRecord } from './values.js';

// ---------------------------------------------------------------------------
// One document at a time
// ---------------------------------------------------------------------------

/** A document with a known kind: its raw data (for cross-document checks) and, when valid, its parsed form. */
export interface Entry {
  source: SourceDocument;
  kind: Kind;
  schema?: SchemaName;
  /** "Node rack0-cs1" */
  label: string;
  raw: Record<string, unknown>;
  parsed?: unknown;
}

export function checkDocument(source: SourceDocument, problems: TopologyProblem[]): Entry | undefined {
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
  for (const [i, app] of arrayOf(raw.apps).entries()) {
    if (!isRecord(app)) continue;
    for (const [j, word] of arrayOf(app.command).entries())
      if (typeof word === 'string' && word !== YAGURA_WORD && word.includes(YAGURA_WORD))
        at(
          ['apps', i, 'command', j],
          `${YAGURA_WORD} must be a word of its own: it stands for the Yagura CLI (node and its entry), e.g. ['${YAGURA_WORD}', serve]`,
        );
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
export function smpCpus(raw: Record<string, unknown>): number | undefined {
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

export function checkAcrossDocuments(entries: readonly Entry[], problems: TopologyProblem[]): void {
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
