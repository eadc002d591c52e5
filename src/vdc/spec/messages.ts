/** Human messages: zod issues in the format's words, unknown-field suggestions, "known:" lists, edit distance. */
import type { z } from 'zod';
import type { FieldPath } from '../yaml-source.js';
import { NETNS_ONLY, SCHEMAS, shorthand, VM_ONLY, type SchemaName } from './schema.js';
import { describe, isRecord } from './values.js';

/** Messages for zod's generic issues; schemas give their own for format rules. */
export function genericMessage(issue: z.core.$ZodRawIssue): string | undefined {
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

export function unknownFieldMessage(schema: SchemaName, path: FieldPath, key: string, document: Record<string, unknown>): string {
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

/** "(known: a, b)" listing the names closest to `wanted` first, at most eight of them. */
export function knownList(names: string[], wanted: string, kind: string): string {
  if (names.length === 0) return `(no ${kind} is defined)`;
  const LIMIT = 8;
  const ordered =
    names.length <= LIMIT
      ? names
      : [...names].sort((a, b) => editDistance(a, wanted) - editDistance(b, wanted) || a.localeCompare(b));
  const shown = ordered.slice(0, LIMIT).join(', ');
  return names.length <= LIMIT ? `(known: ${shown})` : `(closest known: ${shown}, and ${names.length - LIMIT} more)`;
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
