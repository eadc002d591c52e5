/**
 * The site spec: one short YAML file that says how many racks and spines a
 * data center has, which servers stand in each rack, the address plan and the
 * AS numbers (docs/site-spec.md). Parsed and checked as a whole; every
 * problem is reported with its file, line and column, as the topology parser
 * does. Pure: the caller reads the file.
 */
import { z } from 'zod';
import { ipamProblems, REFERENCE_IPAM } from '../inventory/ipam.js';
import { ipamConfig, role as roleName, type IpamConfig } from '../inventory/model.js';
import { UserError } from '../lib/errors.js';
import { nameFromFileName } from '../lib/file-name.js';
import { cidrSize, parseCidrV4 } from '../lib/ipv4.js';
import { describe, genericMessage, isRecord } from '../lib/problem-messages.js';
import {
  formatPath,
  formatProblem,
  loadDocuments,
  positionOf,
  type FieldPath,
  type SourceFile,
  type SourceProblem,
} from '../lib/yaml-source.js';

export type ServerKind = 'vm' | 'netns';
/** How a VM server netboots: UEFI HTTP Boot (OVMF, Neco's way) or SeaBIOS with QEMU's iPXE ROM. */
export type Firmware = 'uefi' | 'bios';

export interface ServerGroup {
  role: string;
  count: number;
  kind: ServerKind;
  /** VM only. */
  cpu: number;
  /** VM only: a size with a binary unit, as dc YAML takes it ("2G"). */
  memory: string;
  /** VM only. */
  firmware: Firmware;
}

export interface RackSpec {
  rack: number;
  /** The rack's boot server (index node-index-offset), or undefined when it has none. */
  bootServer?: { kind: ServerKind };
  servers: ServerGroup[];
}

export interface SiteSpec {
  /** The data center's name: `yagura dc up --name`, the prefix of nothing else. */
  name: string;
  spines: number;
  racks: RackSpec[];
  /** Rack N is asnBase + N; the spines share asnBase - 1 (Neco's menu). */
  asnBase: number;
  ipam: IpamConfig;
  /** The pool the ToR–spine /31 links are cut from, in order. */
  spineTorPool: string;
  /**
   * How many netns boot servers, the first ones by rack, form the etcd
   * cluster (the core); the others run `yagura serve` on it. Fixed when the
   * site grows, so adding a rack changes nothing on the running ones.
   */
  etcdMembers: number;
  /** Extra `yagura serve` flags for every boot server (the state setter's grace, the repair queue's timings, …). */
  serveFlags: string[];
}

/** Neco's dctest address plan (reference neco.md §A2): /26 ranges, 3 addresses a node, boot server at index 3. */
export const DCTEST_IPAM: IpamConfig = { ...REFERENCE_IPAM, 'node-ipv4-pool': '10.69.0.0/20' };
/** A /20 holds 21 racks of 3 × /26; beyond that the default pool is the /16 that contains it. */
const WIDE_NODE_POOL = '10.69.0.0/16';
export const DEFAULT_ASN_BASE = 64600;
export const DEFAULT_SPINE_TOR_POOL = '10.0.1.0/24';
/** Neco's boot servers: an etcd cluster of three, so one may fail. */
export const DEFAULT_ETCD_MEMBERS = 3;
/** The DC name rules of `yagura dc` (lower case, digits, "-", at most 32). */
const SITE_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** Node and NetworkNamespace names in dc YAML. */
const MAX_NODE_NAME = 63;

const kind = z.enum(['vm', 'netns']);
const serverGroup = z.strictObject({
  role: roleName.refine((value) => value !== 'boot', 'boot is the boot server\'s role: use "boot-server"'),
  count: z.number().int().min(1).max(1000),
  kind: kind.default('vm'),
  cpu: z.number().int().min(1).max(1024).optional(),
  memory: z
    .string()
    .regex(/^[1-9]\d*[KMGT](i)?$/, 'must be a size with a binary unit, e.g. 2G or 1536M')
    .optional(),
  firmware: z.enum(['uefi', 'bios']).optional(),
});
const bootServer = z.union([z.boolean(), z.strictObject({ kind: kind.default('netns') })]);
const servers = z.array(serverGroup);

const siteSchema = z.strictObject({
  name: z
    .string()
    .regex(SITE_NAME, 'must be 1–32 lower-case letters, digits and "-", starting with a letter or digit')
    .optional(),
  racks: z.number().int().min(1).max(1000),
  spines: z.number().int().min(1).max(16).default(2),
  'boot-server': bootServer.default(true),
  servers: servers.default([]),
  overrides: z
    .array(z.strictObject({ rack: z.number().int().min(0), 'boot-server': bootServer.optional(), servers: servers.optional() }))
    .default([]),
  'asn-base': z.number().int().min(2).max(4294967294).default(DEFAULT_ASN_BASE),
  ipam: ipamConfig.partial().optional(),
  'spine-tor-pool': z.string().default(DEFAULT_SPINE_TOR_POOL),
  'etcd-members': z.number().int().min(1).max(7).optional(),
  'serve-flags': z
    .array(z.string().regex(/^--[a-z][a-z0-9-]*(=.*)?$/, 'must be one flag of yagura serve, as --name=value'))
    .default([]),
});
type RawSite = z.infer<typeof siteSchema>;

/** Thrown by parseSiteSpec with every problem found, in file order. */
export class SiteSpecError extends UserError {
  override name = 'SiteSpecError';
  constructor(readonly problems: readonly SourceProblem[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the site spec:\n${problems
        .map((problem) => `  ${formatProblem(problem)}`)
        .join('\n')}`,
    );
  }
}

/** Parses and checks a site spec; the name defaults to the file's ("sites/dc-4.yml" → "dc-4"). */
export function parseSiteSpec(file: SourceFile): SiteSpec {
  const problems: SourceProblem[] = [];
  const documents = loadDocuments([file], problems).filter((document) => document.value !== undefined && document.value !== null);
  if (problems.length > 0) throw new SiteSpecError(problems);
  const source = documents[0];
  if (!source || documents.length > 1) {
    const at = source ? positionOf(documents[1]!, []) : { file: file.path, line: 1, column: 1 };
    throw new SiteSpecError([{ ...at, message: 'a site spec is exactly one YAML document (a mapping with racks, servers, …)' }]);
  }
  const report = (path: FieldPath, message: string, part: 'value' | 'key' = 'value') =>
    problems.push({ ...positionOf(source, path, part), field: formatPath(path), message });
  if (!isRecord(source.value)) {
    report([], `a site spec must be a mapping, found ${describe(source.value)}`);
    throw new SiteSpecError(problems);
  }
  const result = siteSchema.safeParse(source.value, { error: genericMessage });
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
      if (issue.code === 'unrecognized_keys') for (const key of issue.keys) report([...path, key], 'unknown field', 'key');
      else report(path, issue.message);
    }
    throw new SiteSpecError(sorted(problems));
  }
  const spec = assemble(result.data, file.path, report);
  if (problems.length > 0) throw new SiteSpecError(sorted(problems));
  return spec;
}

type Report = (path: FieldPath, message: string) => void;

function assemble(raw: RawSite, path: string, report: Report): SiteSpec {
  const name = raw.name ?? nameFromFile(path);
  if (raw.name === undefined && !SITE_NAME.test(name))
    report([], `the file name gives no valid site name ("${name}"): add name: with lower-case letters, digits and "-"`);

  const overrides = new Map<number, RawSite['overrides'][number]>();
  for (const [i, override] of raw.overrides.entries()) {
    if (override.rack >= raw.racks)
      report(['overrides', i, 'rack'], `there is no rack ${override.rack}: racks are 0–${raw.racks - 1}`);
    else if (overrides.has(override.rack)) report(['overrides', i, 'rack'], `rack ${override.rack} is overridden twice`);
    else overrides.set(override.rack, override);
  }

  checkGroups(raw.servers, ['servers'], raw.racks - 1, report);
  for (const [i, override] of raw.overrides.entries())
    if (override.servers) checkGroups(override.servers, ['overrides', i, 'servers'], override.rack, report);
  const racks: RackSpec[] = [];
  for (let rack = 0; rack < raw.racks; rack++) {
    const override = overrides.get(rack);
    const boot = override?.['boot-server'] ?? raw['boot-server'];
    const groups = override?.servers ?? raw.servers;
    racks.push({
      rack,
      ...(boot === false ? {} : { bootServer: { kind: boot === true ? 'netns' : boot.kind } }),
      servers: groups.map((group) => ({
        ...group,
        cpu: group.cpu ?? 1,
        memory: group.memory ?? '2G',
        firmware: group.firmware ?? 'uefi',
      })),
    });
  }

  const ipam = addressPlan(raw, racks, report);
  checkAsns(raw, report);
  checkSpineTorPool(raw, report);
  const netnsBootServers = racks.filter((rack) => rack.bootServer?.kind === 'netns').length;
  const etcdMembers = raw['etcd-members'] ?? Math.min(DEFAULT_ETCD_MEMBERS, netnsBootServers);
  if (raw['etcd-members'] !== undefined && etcdMembers > netnsBootServers)
    report(['etcd-members'], `${etcdMembers} etcd members need as many netns boot servers; the site has ${netnsBootServers}`);
  return {
    name,
    spines: raw.spines,
    racks,
    asnBase: raw['asn-base'],
    ipam,
    spineTorPool: raw['spine-tor-pool'],
    etcdMembers,
    serveFlags: raw['serve-flags'],
  };
}

/** Checks a list of server groups once, however many racks take it. */
function checkGroups(groups: RawSite['servers'], path: FieldPath, lastRack: number, report: Report): void {
  const roles = new Set<string>();
  for (const [i, group] of groups.entries()) {
    if (roles.has(group.role)) report([...path, i, 'role'], `role ${group.role} appears twice: give one group a larger count`);
    roles.add(group.role);
    if (group.kind === 'netns') {
      for (const field of ['cpu', 'memory', 'firmware'] as const)
        if (group[field] !== undefined) report([...path, i, field], 'is only for kind: vm servers');
    }
    const longest = `rack${lastRack}-${group.role}${group.count}`;
    if (longest.length > MAX_NODE_NAME)
      report([...path, i, 'role'], `node names like ${longest} are longer than ${MAX_NODE_NAME} characters`);
  }
}

/** The IPAM config: the spec's fields over Neco's dctest plan (with a /16 pool when a /20 is too small), checked as sabakan checks it. */
function addressPlan(raw: RawSite, racks: RackSpec[], report: Report): IpamConfig {
  const perRack = 2 ** DCTEST_IPAM['node-ipv4-range-size'] * DCTEST_IPAM['node-ip-per-node'];
  const defaults: IpamConfig =
    raw.racks * perRack > cidrSize(parseCidrV4(DCTEST_IPAM['node-ipv4-pool'])!)
      ? { ...DCTEST_IPAM, 'node-ipv4-pool': WIDE_NODE_POOL }
      : DCTEST_IPAM;
  const ipam: IpamConfig = { ...defaults, ...raw.ipam };
  const given = (field: string): FieldPath => (raw.ipam && field in raw.ipam ? ['ipam', field] : raw.ipam ? ['ipam'] : ['racks']);
  const problems = ipamProblems(ipam);
  for (const problem of problems) report(given(problem.field), problem.message);
  if (problems.length > 0) return ipam;
  if (ipam['node-ip-per-node'] !== 3)
    report(given('node-ip-per-node'), 'must be 3 in a rack-standard site: node0 (announced) and one address toward each ToR');
  if (ipam['node-gateway-offset'] >= ipam['node-index-offset'])
    report(
      given('node-gateway-offset'),
      `the ToR's address (offset ${ipam['node-gateway-offset']}) would collide with node indices from ${ipam['node-index-offset']}`,
    );
  const pool = parseCidrV4(ipam['node-ipv4-pool'])!;
  const needed = raw.racks * 2 ** ipam['node-ipv4-range-size'] * ipam['node-ip-per-node'];
  if (needed > cidrSize(pool))
    report(
      given('node-ipv4-pool'),
      `${raw.racks} racks need ${needed} node addresses; ${ipam['node-ipv4-pool']} has ${cidrSize(pool)}`,
    );
  const bmcPool = parseCidrV4(ipam['bmc-ipv4-pool'])!;
  const bmcNeeded = raw.racks * 2 ** ipam['bmc-ipv4-range-size'];
  if (bmcNeeded > cidrSize(bmcPool))
    report(
      given('bmc-ipv4-pool'),
      `${raw.racks} racks need ${bmcNeeded} BMC addresses; ${ipam['bmc-ipv4-pool']} has ${cidrSize(bmcPool)}`,
    );
  const limit = ipam['max-nodes-in-rack'];
  const tooMany = (groups: RawSite['servers']) => groups.reduce((sum, group) => sum + group.count, 0);
  if (tooMany(raw.servers) > limit && racks.some((rack) => !raw.overrides.some((o) => o.rack === rack.rack && o.servers)))
    report(['servers'], `${tooMany(raw.servers)} servers in a rack; max-nodes-in-rack is ${limit}`);
  for (const [i, override] of raw.overrides.entries())
    if (override.servers && tooMany(override.servers) > limit)
      report(
        ['overrides', i, 'servers'],
        `${tooMany(override.servers)} servers in rack ${override.rack}; max-nodes-in-rack is ${limit}`,
      );
  return ipam;
}

function checkAsns(raw: RawSite, report: Report): void {
  const last = raw['asn-base'] + raw.racks - 1;
  if (last > 4294967295) report(['asn-base'], `rack ${raw.racks - 1} would get AS ${last}, beyond 4294967295`);
}

function checkSpineTorPool(raw: RawSite, report: Report): void {
  const pool = parseCidrV4(raw['spine-tor-pool']);
  if (!pool)
    return report(
      ['spine-tor-pool'],
      `must be an IPv4 CIDR with zero host bits, e.g. ${DEFAULT_SPINE_TOR_POOL}, found ${describe(raw['spine-tor-pool'])}`,
    );
  const needed = 2 * 2 * raw.spines * raw.racks;
  if (needed > cidrSize(pool))
    report(
      ['spine-tor-pool'],
      `${raw.racks} racks × 2 ToRs × ${raw.spines} spines need ${needed / 2} /31 links (${needed} addresses); ${raw['spine-tor-pool']} has ${cidrSize(pool)}`,
    );
}

/** "sites/Dc 4.yml" → "dc-4" (the rule `yagura dc up` uses for a topology file's name). */
export function nameFromFile(path: string): string {
  return nameFromFileName(path, 'site');
}

function sorted(problems: SourceProblem[]): SourceProblem[] {
  return problems
    .map((problem, i) => ({ problem, i }))
    .sort((a, b) => a.problem.line - b.problem.line || a.problem.column - b.problem.column || a.i - b.i)
    .map(({ problem }) => problem);
}
