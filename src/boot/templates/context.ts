/**
 * What a template sees when it is rendered for a machine (pure): the machine's
 * spec and info as in the REST API, this server's URLs, and the template's
 * metadata. Status is left out: it changes while the config must not.
 */
import { chooseIndex, REFERENCE_IPAM } from '../../inventory/ipam.js';
import type { IpamConfig, Machine } from '../../inventory/model.js';
import { buildMachine } from '../../inventory/registration.js';
import type { RenderContext } from './evaluate.js';
import type { Expression } from './parse.js';

/** Template metadata: any JSON object, read as meta.NAME. */
export type TemplateMeta = Record<string, unknown>;

/** The serial of the made-up machine that uploads are test-rendered for. */
export const SAMPLE_SERIAL = 'sample-0001';

/** The addressing of the sample machine when no IPAM is configured: sabakan's worked example. */
export const SAMPLE_IPAM: IpamConfig = REFERENCE_IPAM;

/**
 * The context for `machine`: spec, info, urls.api (this server's advertise
 * URL), urls.assets and meta. Labels and metadata are open maps: a missing
 * label is "no value" (see `default`), not an unknown path.
 */
export function machineContext(machine: Machine, apiUrl: string, meta: TemplateMeta): RenderContext {
  // A JSON round trip leaves plain data only: no class instances, getters or shared objects.
  const spec = plainCopy(machine.spec) as Machine['spec'];
  const info = plainCopy(machine.info);
  const metaCopy = plainCopy(meta) as TemplateMeta;
  const api = apiUrl.replace(/\/+$/, '');
  const openMaps = new Set<object>([spec.labels]);
  collectObjects(metaCopy, openMaps);
  return { root: { spec, info, urls: { api, assets: `${api}/api/v1/assets` }, meta: metaCopy }, openMaps };
}

/**
 * A made-up machine of `role` in rack 0, addressed by `ipam` (else by
 * SAMPLE_IPAM), carrying the labels a template refers to, so an upload can be
 * test-rendered before any machine exists.
 */
export function sampleMachine(role: string, labels: readonly string[], ipam: IpamConfig | undefined, now: Date): Machine {
  const config = ipam ?? SAMPLE_IPAM;
  const choice = chooseIndex(config, 0, role, new Set());
  const index = 'index' in choice ? choice.index : config['node-index-offset'] + 1;
  return buildMachine(
    config,
    {
      serial: SAMPLE_SERIAL,
      rack: 0,
      role,
      bmc: { type: 'IPMI-2.0' },
      labels: Object.fromEntries(labels.map((l) => [l, 'sample'])),
    },
    index,
    now,
  );
}

/** The label names that placeholders read (spec.labels.NAME), for the sample machine. */
export function labelsReferenced(expressions: readonly Expression[]): string[] {
  const names = new Set<string>();
  for (const { primary } of expressions) {
    if (primary.kind !== 'path') continue;
    const [root, labels, name] = primary.steps;
    if (
      root?.kind === 'key' &&
      root.name === 'spec' &&
      labels?.kind === 'key' &&
      labels.name === 'labels' &&
      name?.kind === 'key'
    )
      names.add(name.name);
  }
  return [...names].sort();
}

function plainCopy(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? {})) as unknown;
}

function collectObjects(value: unknown, into: Set<object>): void {
  if (typeof value !== 'object' || value === null) return;
  if (!Array.isArray(value)) into.add(value);
  for (const item of Object.values(value)) collectObjects(item, into);
}
