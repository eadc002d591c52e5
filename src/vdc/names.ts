/**
 * Names of a data center's host objects. Every DC owns one top-level network
 * namespace `yg-<dc>` that holds its bridges, veths and taps; each router and
 * netns node is a namespace `yg-<dc>.<name>` connected to those bridges. DC
 * names cannot contain ".", so the prefix `yg-<dc>.` belongs to one DC only and
 * a crashed DC's leftovers can be found by name.
 */
import { UserError } from '../lib/errors.js';
import { nameFromFileName } from '../lib/file-name.js';

const DC_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** The problem with `name` as a DC name, or undefined when it is fine. */
export function dcNameProblem(name: string): string | undefined {
  if (DC_NAME.test(name)) return undefined;
  return `"${name}" is not a valid data center name: use 1–32 lower-case letters, digits and "-", starting with a letter or digit`;
}

export function checkDcName(name: string): string {
  const problem = dcNameProblem(name);
  if (problem) throw new UserError(problem, 2);
  return name;
}

/** A DC name from a topology file name: "clusters/Rack 0.yml" → "rack-0". */
export function dcNameFromFile(path: string): string {
  return nameFromFileName(path, 'dc');
}

export const NAMESPACE_PREFIX = 'yg-';

/** The DC's own namespace: bridges, veth and tap ends, BMC addresses, the supervisor. */
export function dcNamespace(dc: string): string {
  return `${NAMESPACE_PREFIX}${dc}`;
}

/** The namespace of a NetworkNamespace or netns node. */
export function memberNamespace(dc: string, name: string): string {
  return `${dcNamespace(dc)}.${name}`;
}

/** Whether a namespace name (from `ip netns list`) belongs to the DC. */
export function belongsToDc(dc: string, namespace: string): boolean {
  return namespace === dcNamespace(dc) || namespace.startsWith(`${dcNamespace(dc)}.`);
}

/** The DC a namespace belongs to, if it is one of ours. */
export function dcOfNamespace(namespace: string): string | undefined {
  if (!namespace.startsWith(NAMESPACE_PREFIX)) return undefined;
  const dc = namespace.slice(NAMESPACE_PREFIX.length).split('.')[0]!;
  return dcNameProblem(dc) ? undefined : dc;
}

/** The interface name of interface `index` inside a namespace (placemat's ethN). */
export function interfaceName(index: number): string {
  return `eth${index}`;
}
