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

/** A text that is equal for queries that mean the same (value order does not matter). */
export function queryKey(query: MachineQuery): string {
  const filter = (f: Filter) =>
    JSON.stringify([
      Object.entries(f.values)
        .map(([field, values]) => [field, [...values].sort()])
        .sort(),
      (f.labels ?? []).map((pair) => JSON.stringify(pair)).sort(),
    ]);
  return `${filter(query.having)}|${filter(query.notHaving)}`;
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
  return compileQuery(query)(machine);
}

/** The query as one predicate, with every per-parameter decision made once (searches test it against every machine). */
export function compileQuery(query: MachineQuery): (machine: Machine) => boolean {
  const having = compileFilter(query.having);
  const notHaving = compileFilter(query.notHaving);
  if (notHaving.length === 0) return (m) => having.every((test) => test(m));
  return (m) => having.every((test) => test(m)) && !notHaving.some((test) => test(m));
}

type Test = (machine: Machine) => boolean;

function compileFilter(filter: Filter): Test[] {
  const tests: Test[] = (Object.entries(filter.values) as [(typeof FIELDS)[number], Set<string>][]).map(([field, values]) =>
    fieldTest(field, values),
  );
  const pairs = filter.labels;
  if (pairs) tests.push((m) => pairs.every(([name, value]) => m.spec.labels[name] === value));
  return tests;
}

function fieldTest(field: (typeof FIELDS)[number], values: Set<string>): Test {
  switch (field) {
    case 'serial':
      return (m) => values.has(m.spec.serial);
    case 'rack': {
      const racks = new Set([...values].map(Number));
      return (m) => racks.has(m.spec.rack);
    }
    case 'role':
      return (m) => values.has(m.spec.role);
    case 'ipv4':
      return (m) => m.spec.ipv4.some((a) => values.has(a));
    case 'ipv6':
      return (m) => m.spec.ipv6.some((a) => values.has(a));
    case 'bmc-type':
      return (m) => values.has(m.spec.bmc.type);
    case 'state':
      return (m) => values.has(m.status.state);
  }
}
