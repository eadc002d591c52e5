/**
 * Evaluating one placeholder (pure): follow its path through plain data, then
 * apply its filters. Only own data properties of plain objects and elements of
 * arrays are ever read, so no getter, prototype or function can be reached.
 */
import { TemplateError } from './errors.js';
import { type Expression, type Filter, formatPath, type PathStep } from './parse.js';

/** What placeholders can read. */
export interface RenderContext {
  /** Where every path starts, e.g. { spec, info, urls, meta }; plain JSON data. */
  readonly root: Readonly<Record<string, unknown>>;
  /**
   * Objects whose keys are data rather than structure (labels, metadata): a key
   * missing there is "no value", which `default` can fill, while a key missing
   * anywhere else is an unknown path, an error even with `default`.
   */
  readonly openMaps: ReadonlySet<object>;
}

/** A value, or the reason there is none (a missing label, an index past the end). */
type Lookup = { found: true; value: unknown; subject: string } | { found: false; why: string; subject: string };

/** The text a placeholder stands for; throws TemplateError naming the field (`where()`) and the expression. */
export function evaluate(expression: Expression, source: string, context: RenderContext, where: () => string): string {
  const fail = (detail: string): never => {
    throw new TemplateError(where(), source, detail);
  };
  let current: Lookup =
    expression.primary.kind === 'literal'
      ? { found: true, value: expression.primary.value, subject: 'the string' }
      : lookup(expression.primary.steps, context, fail);
  for (const filter of expression.filters) current = applyFilter(filter, current, fail);
  return scalarText(current, fail, 'output');
}

function lookup(steps: readonly PathStep[], context: RenderContext, fail: (detail: string) => never): Lookup {
  let value: unknown = context.root;
  for (const [i, step] of steps.entries()) {
    const here = i === 0 ? 'the context' : formatPath(steps.slice(0, i));
    const path = formatPath(steps.slice(0, i + 1));
    if (Array.isArray(value)) {
      if (step.kind !== 'index') fail(`${here} is a list of ${value.length}: index it, e.g. ${here}[0]`);
      if (step.index >= value.length) {
        return { found: false, subject: path, why: `${here} has ${value.length} entries, so ${path} does not exist` };
      }
      value = value[step.index];
    } else if (isPlainObject(value)) {
      if (step.kind !== 'key')
        fail(`${here} is an object, not a list: name a key, e.g. ${here}.${Object.keys(value)[0] ?? 'key'}`);
      const property = Object.getOwnPropertyDescriptor(value, step.name);
      if (!property || !('value' in property)) {
        if (context.openMaps.has(value))
          return { found: false, subject: path, why: `${here} has no ${JSON.stringify(step.name)}` };
        const known = Object.keys(value);
        fail(`unknown path ${path}: ${here} has ${known.length > 0 ? known.join(', ') : 'no keys'}`);
      }
      value = property!.value;
    } else {
      fail(`${here} is ${kindOf(value)}, so ${path} does not exist`);
    }
  }
  return { found: true, value, subject: formatPath(steps) };
}

function applyFilter(filter: Filter, input: Lookup, fail: (detail: string) => never): Lookup {
  if (filter.name === 'default') {
    const empty = !input.found || input.value === null || input.value === '';
    return empty ? { found: true, value: filter.value, subject: 'the default' } : input;
  }
  if (filter.name === 'json') {
    if (!input.found) return noValue(input, fail);
    return { found: true, value: JSON.stringify(input.value), subject: `${input.subject} as JSON` };
  }
  const text = scalarText(input, fail, filter.name);
  const value =
    filter.name === 'base64'
      ? Buffer.from(text, 'utf8').toString('base64')
      : filter.name === 'dataurl'
        ? `data:,${percentEncode(text)}`
        : filter.name === 'upper'
          ? text.toUpperCase()
          : text.toLowerCase();
  return { found: true, value, subject: `${input.subject} | ${filter.name}` };
}

/** A string, number or boolean as text, for a filter or the output; anything else is an error that says what to do. */
function scalarText(input: Lookup, fail: (detail: string) => never, use: 'output' | Filter['name']): string {
  if (!input.found) return noValue(input, fail);
  const { value, subject } = input;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return fail(`${subject} is null: use | default "…" or | json`);
  const shape = Array.isArray(value) ? `a list of ${value.length}` : 'an object';
  return fail(
    use === 'output'
      ? `${subject} is ${shape}, not text: pick one value (e.g. ${subject}${Array.isArray(value) ? '[0]' : '.key'}) or write | json`
      : `${subject} is ${shape}: ${use} needs text; write | json | ${use}`,
  );
}

function noValue(input: Lookup & { found: false }, fail: (detail: string) => never): never {
  return fail(`no value: ${input.why}; write | default "…" to allow that`);
}

/** RFC 2397 data: URL text: the UTF-8 bytes, all but RFC 3986's unreserved characters percent-encoded. */
function percentEncode(text: string): string {
  let encoded = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`;
  return `a ${typeof value}`;
}
