/**
 * The template language's tokenizer and parser (pure). A template is text with
 * placeholders; a placeholder is a path into the render context or a string
 * literal, piped through a fixed set of filters:
 *
 *   template   := ( text | "{{" expression "}}" )*
 *   expression := primary ( "|" filter )*
 *   primary    := path | string
 *   path       := name ( "." name | "[" digits "]" | "[" string "]" )*
 *   filter     := "json" | "base64" | "dataurl" | "upper" | "lower" | "default" string
 *   name       := [A-Za-z_][A-Za-z0-9_-]*
 *   string     := '"' … '"' | "'" … "'"     (escapes \\ \" \' \n \t)
 *
 * Whitespace between tokens is ignored. Nothing here can name a prototype:
 * `__proto__`, `constructor` and `prototype` are refused as path steps.
 */
import { TemplateError } from './errors.js';

export type Segment =
  | { kind: 'text'; text: string; offset: number }
  | { kind: 'placeholder'; expression: Expression; source: string; offset: number };

export interface Expression {
  primary: Primary;
  filters: Filter[];
}

export type Primary = { kind: 'path'; steps: PathStep[] } | { kind: 'literal'; value: string };
export type PathStep = { kind: 'key'; name: string } | { kind: 'index'; index: number };
export type Filter = { name: 'json' | 'base64' | 'dataurl' | 'upper' | 'lower' } | { name: 'default'; value: string };

export const FILTER_NAMES = ['json', 'base64', 'dataurl', 'default', 'upper', 'lower'] as const;
/** Path steps that would reach an object's prototype machinery; never valid. */
export const FORBIDDEN_STEPS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const OPEN = '{{';
const CLOSE = '}}';
const NAME = /[A-Za-z_][A-Za-z0-9_-]*/y;
const DIGITS = /[0-9]+/y;
const MAX_INDEX = 1_000_000;
const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\\', '\\'],
  ['"', '"'],
  ["'", "'"],
  ['n', '\n'],
  ['t', '\t'],
]);

/**
 * Splits `text` into literal text and parsed placeholders. `where(offset)` names
 * the template field for errors (a JSON pointer, or a line of a text template);
 * it is called only when there is an error.
 */
export function parseTemplate(text: string, where: (offset: number) => string): Segment[] {
  const segments: Segment[] = [];
  let position = 0;
  for (;;) {
    const open = text.indexOf(OPEN, position);
    if (open < 0) {
      if (position < text.length) segments.push({ kind: 'text', text: text.slice(position), offset: position });
      return segments;
    }
    if (open > position) segments.push({ kind: 'text', text: text.slice(position, open), offset: position });
    const start = open + OPEN.length;
    const { tokens, end } = lex(text, start, () => where(open));
    const source = text.slice(start, end - CLOSE.length).trim();
    const expression = new Parser(tokens, source, () => where(open)).expression();
    segments.push({ kind: 'placeholder', expression, source, offset: open });
    position = end;
  }
}

/** True when `text` has no placeholder: it renders as itself. */
export function isPlainText(text: string): boolean {
  return !text.includes(OPEN);
}

/** How a path reads in messages: spec.labels["a/b"], info.network.ipv4[1].gateway. */
export function formatPath(steps: readonly PathStep[]): string {
  return steps
    .map((step, i) => {
      if (step.kind === 'index') return `[${step.index}]`;
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(step.name)) return i === 0 ? step.name : `.${step.name}`;
      return `[${JSON.stringify(step.name)}]`;
    })
    .join('');
}

type Token =
  | { kind: 'name'; text: string }
  | { kind: 'int'; text: string }
  | { kind: 'string'; value: string }
  | { kind: '.' | '[' | ']' | '|' };

/** Tokens from `start` up to the closing braces; `end` is just past them. */
function lex(text: string, start: number, where: () => string): { tokens: Token[]; end: number } {
  const tokens: Token[] = [];
  let i = start;
  const fail = (detail: string): never => {
    throw new TemplateError(where(), excerpt(text, start), detail);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (text.startsWith(CLOSE, i)) {
      return { tokens, end: i + CLOSE.length };
    } else if (c === '.' || c === '[' || c === ']' || c === '|') {
      tokens.push({ kind: c });
      i++;
    } else if (c === '"' || c === "'") {
      const { value, next } = lexString(text, i, fail);
      tokens.push({ kind: 'string', value });
      i = next;
    } else if (matchAt(DIGITS, text, i)) {
      const digits = matchAt(DIGITS, text, i)!;
      tokens.push({ kind: 'int', text: digits });
      i += digits.length;
    } else if (matchAt(NAME, text, i)) {
      const name = matchAt(NAME, text, i)!;
      tokens.push({ kind: 'name', text: name });
      i += name.length;
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  return fail('the placeholder is not closed: "{{" without "}}"');
}

function lexString(text: string, quoteAt: number, fail: (detail: string) => never): { value: string; next: number } {
  const quote = text[quoteAt]!;
  let value = '';
  let i = quoteAt + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === quote) return { value, next: i + 1 };
    if (c === '\\') {
      const e = text[i + 1] ?? '';
      const escaped = ESCAPES.get(e);
      if (escaped === undefined) fail(`unknown escape \\${e} in a string (known: \\\\ \\" \\' \\n \\t)`);
      value += escaped;
      i += 2;
    } else {
      value += c;
      i++;
    }
  }
  return fail(`the string is not closed: no ${quote} after ${quote}`);
}

function matchAt(pattern: RegExp, text: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0];
}

function excerpt(text: string, start: number): string {
  const rest = text.slice(start);
  const close = rest.indexOf(CLOSE);
  const inner = close >= 0 ? rest.slice(0, close) : rest;
  return inner.length > 60 ? `${inner.slice(0, 60).trim()}…` : inner.trim();
}

class Parser {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
    private readonly where: () => string,
  ) {}

  expression(): Expression {
    const primary = this.primary();
    const filters: Filter[] = [];
    while (this.i < this.tokens.length) {
      this.expect('|', 'expected "|" and a filter after the value');
      filters.push(this.filter());
    }
    return { primary, filters };
  }

  private primary(): Primary {
    const first = this.next();
    if (!first) this.fail('the placeholder is empty: write a path such as spec.serial');
    if (first.kind === 'string') return { kind: 'literal', value: first.value };
    if (first.kind !== 'name') this.fail(`expected a path such as spec.serial, got ${describe(first)}`);
    const steps: PathStep[] = [this.key(first.text)];
    for (;;) {
      const token = this.tokens[this.i];
      if (token?.kind === '.') {
        this.i++;
        const name = this.next();
        if (name?.kind === 'int') this.fail(`write list indexes in brackets: [${name.text}], not .${name.text}`);
        if (name?.kind !== 'name') this.fail(`expected a name after ".", got ${describe(name)}`);
        steps.push(this.key(name.text));
      } else if (token?.kind === '[') {
        this.i++;
        const inside = this.next();
        if (inside?.kind === 'int') steps.push(this.index(inside.text));
        else if (inside?.kind === 'string') steps.push(this.key(inside.value));
        else this.fail(`expected a list index or a quoted key inside [ ], got ${describe(inside)}`);
        this.expect(']', 'expected "]"');
      } else {
        return { kind: 'path', steps };
      }
    }
  }

  private filter(): Filter {
    const name = this.next();
    if (name?.kind !== 'name') this.fail(`expected a filter name after "|", got ${describe(name)}`);
    switch (name.text) {
      case 'json':
      case 'base64':
      case 'dataurl':
      case 'upper':
      case 'lower':
        return { name: name.text };
      case 'default': {
        const value = this.next();
        if (value?.kind !== 'string') this.fail(`default needs a quoted string, e.g. default "none"; got ${describe(value)}`);
        return { name: 'default', value: value.value };
      }
      default:
        return this.fail(`unknown filter ${JSON.stringify(name.text)} (known: ${FILTER_NAMES.join(', ')})`);
    }
  }

  private key(name: string): PathStep {
    if (FORBIDDEN_STEPS.has(name)) this.fail(`${JSON.stringify(name)} is not allowed in a path`);
    return { kind: 'key', name };
  }

  private index(digits: string): PathStep {
    const index = Number(digits);
    if (index > MAX_INDEX) this.fail(`list index ${digits} is too large`);
    return { kind: 'index', index };
  }

  private next(): Token | undefined {
    return this.tokens[this.i++];
  }

  private expect(kind: Token['kind'], detail: string): void {
    const token = this.next();
    if (token?.kind !== kind) this.fail(`${detail}, got ${describe(token)}`);
  }

  private fail(detail: string): never {
    throw new TemplateError(this.where(), this.source, detail);
  }
}

function describe(token: Token | undefined): string {
  if (!token) return 'the end of the placeholder';
  if (token.kind === 'name' || token.kind === 'int') return JSON.stringify(token.text);
  if (token.kind === 'string') return `the string ${JSON.stringify(token.value)}`;
  return JSON.stringify(token.kind);
}
