/**
 * Machine search with sabakan's query parameters and semantics (pure):
 * comma-separated values of one parameter are OR'ed, different parameters are
 * AND'ed, `labels=k=v,k2=v2` needs every pair, and each parameter has a
 * `without-` form that excludes what it would match (`without-labels` only
 * when every pair matches).
 */
import { MACHINE_STATES, type Machine } from './model.js';

const FIELDS = ['serial', 'rack', 'role', 'ipv4', 'ipv6', 'bmc-type', 'state'] as const;
type Field = (typeof FIELDS)[number] | 'labels';

interface Filter {
  values: Partial<Record<(typeof FIELDS)[number], Set<string>>>;
  labels?: [string, string][];
}

export interface MachineQuery {
  having: Filter;
  notHaving: Filter;
}

export type QueryParse = { query: MachineQuery } | { error: string; field: string };

export function parseMachineQuery(params: Record<string, string | string[] | undefined>): QueryParse {
  const query: MachineQuery = { having: { values: {} }, notHaving: { values: {} } };
  for (const [name, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    const without = name.startsWith('without-');
    const field = (without ? name.slice('without-'.length) : name) as Field;
    if (field !== 'labels' && !FIELDS.includes(field)) {
      return {
        error: `unknown query parameter ${name}; use ${[...FIELDS, 'labels'].join(', ')} or their without- forms`,
        field: name,
      };
    }
    if (params[without ? field : `without-${field}`] !== undefined) {
      return { error: `${field} and without-${field} cannot be combined`, field: name };
    }
    const target = without ? query.notHaving : query.having;
    if (field === 'labels') {
      const pairs: [string, string][] = [];
      for (const pair of value.split(',')) {
        const eq = pair.indexOf('=');
        if (eq <= 0)
          return { error: `labels must be name=value pairs separated by commas, got ${JSON.stringify(pair)}`, field: name };
        pairs.push([pair.slice(0, eq), pair.slice(eq + 1)]);
      }
      target.labels = pairs;
      continue;
    }
    const values = value.split(',').map((v) => v.trim());
    if (values.some((v) => v === '')) return { error: `${name} has an empty value`, field: name };
    if (field === 'rack' && values.some((v) => !/^\d+$/.test(v)))
      return { error: `rack must be whole numbers, got ${value}`, field: name };
    if (field === 'state') {
      const bad = values.find((v) => !(MACHINE_STATES as readonly string[]).includes(v));
      if (bad) return { error: `unknown state ${bad}; states are ${MACHINE_STATES.join(', ')}`, field: name };
    }
    target.values[field] = new Set(field === 'rack' ? values.map((v) => String(Number(v))) : values);
  }
  return { query };
}

export function matchesQuery(machine: Machine, query: MachineQuery): boolean {
  if (!matchesAll(machine, query.having)) return false;
  return !matchesAny(machine, query.notHaving);
}

/** Every given parameter matches (for inclusion). */
function matchesAll(machine: Machine, filter: Filter): boolean {
  for (const [field, values] of Object.entries(filter.values) as [(typeof FIELDS)[number], Set<string>][]) {
    if (!fieldMatches(machine, field, values)) return false;
  }
  return !filter.labels || labelsMatch(machine, filter.labels);
}

/** Any given parameter matches (for exclusion: each without- parameter excludes on its own). */
function matchesAny(machine: Machine, filter: Filter): boolean {
  for (const [field, values] of Object.entries(filter.values) as [(typeof FIELDS)[number], Set<string>][]) {
    if (fieldMatches(machine, field, values)) return true;
  }
  return filter.labels !== undefined && labelsMatch(machine, filter.labels);
}

function fieldMatches(machine: Machine, field: (typeof FIELDS)[number], values: Set<string>): boolean {
  const spec = machine.spec;
  switch (field) {
    case 'serial':
      return values.has(spec.serial);
    case 'rack':
      return values.has(String(spec.rack));
    case 'role':
      return values.has(spec.role);
    case 'ipv4':
      return spec.ipv4.some((a) => values.has(a));
    case 'ipv6':
      return spec.ipv6.some((a) => values.has(a));
    case 'bmc-type':
      return values.has(spec.bmc.type);
    case 'state':
      return values.has(machine.status.state);
  }
}

function labelsMatch(machine: Machine, pairs: [string, string][]): boolean {
  return pairs.every(([name, value]) => machine.spec.labels[name] === value);
}
