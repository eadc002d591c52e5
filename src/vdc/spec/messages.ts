/** Human messages: zod issues in the format's words, unknown-field suggestions, "known:" lists, edit distance. */
import type { FieldPath } from '../../lib/yaml-source.js';
import { NETNS_ONLY, SCHEMAS, shorthand, VM_ONLY, type SchemaName } from './schema.js';
import { isRecord } from './values.js';

export { genericMessage } from '../../lib/problem-messages.js';

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
