/**
 * Rendering whole templates (pure): an Ignition config (any JSON), whose
 * string values may hold placeholders, or a plain-text template. Output is
 * bounded, so a small template cannot expand into an unbounded document.
 */
import { TemplateError } from './errors.js';
import { evaluate, type RenderContext } from './evaluate.js';
import { type Expression, isPlainText, parseTemplate } from './parse.js';

/** At most this many characters come out of one rendering. */
export const MAX_RENDERED_CHARS = 4 * 1024 * 1024;
/** JSON templates nest at most this deep (Ignition configs need about 6). */
export const MAX_DEPTH = 64;

export interface RenderLimits {
  maxChars?: number;
}

/** Renders a JSON template; errors name the string by its JSON pointer, e.g. /storage/files/0/contents/source. */
export function renderJson(template: unknown, context: RenderContext, limits: RenderLimits = {}): unknown {
  const budget = new Budget(limits.maxChars ?? MAX_RENDERED_CHARS);
  return walk(template, '', 0, (text, pointer) => renderString(text, () => pointer, context, budget), budget);
}

/** Renders a plain-text template (e.g. cloud-init user data); errors name the line. */
export function renderText(template: string, context: RenderContext, limits: RenderLimits = {}): string {
  const budget = new Budget(limits.maxChars ?? MAX_RENDERED_CHARS);
  return renderString(template, (offset) => lineOf(template, offset), context, budget);
}

/** Every placeholder of a JSON template, parsed (throws TemplateError like rendering would). */
export function jsonExpressions(template: unknown): Expression[] {
  const found: Expression[] = [];
  walk(
    template,
    '',
    0,
    (text, pointer) => {
      for (const segment of parseTemplate(text, () => pointer))
        if (segment.kind === 'placeholder') found.push(segment.expression);
      return text;
    },
    new Budget(Number.POSITIVE_INFINITY),
  );
  return found;
}

/** Every placeholder of a text template, parsed. */
export function textExpressions(template: string): Expression[] {
  return parseTemplate(template, (offset) => lineOf(template, offset)).flatMap((s) =>
    s.kind === 'placeholder' ? [s.expression] : [],
  );
}

/** RFC 6901: "~" → "~0", "/" → "~1". */
export function pointerStep(key: string | number): string {
  return `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function walk(
  value: unknown,
  pointer: string,
  depth: number,
  onString: (text: string, pointer: string) => string,
  budget: Budget,
): unknown {
  if (depth > MAX_DEPTH) throw new TemplateError(pointer, '', `the template nests deeper than ${MAX_DEPTH} levels`);
  if (typeof value === 'string') return onString(value, pointer);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    budget.spend(String(value).length, () => pointer);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => walk(item, pointer + pointerStep(i), depth + 1, onString, budget));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    // fromEntries defines own properties, so a "__proto__" key stays a plain key.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        const at = pointer + pointerStep(key);
        if (!isPlainText(key)) throw new TemplateError(at, '', 'placeholders are allowed in string values only, not in keys');
        budget.spend(key.length, () => at);
        return [key, walk(item, at, depth + 1, onString, budget)];
      }),
    );
  }
  throw new TemplateError(pointer, '', `the template holds ${typeof value}, which is not JSON`);
}

function renderString(text: string, where: (offset: number) => string, context: RenderContext, budget: Budget): string {
  if (isPlainText(text)) {
    budget.spend(text.length, () => where(0));
    return text;
  }
  let out = '';
  for (const segment of parseTemplate(text, where)) {
    const here = () => where(segment.offset);
    const piece = segment.kind === 'text' ? segment.text : evaluate(segment.expression, segment.source, context, here);
    budget.spend(piece.length, here);
    out += piece;
  }
  return out;
}

function lineOf(text: string, offset: number): string {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return `line ${line}`;
}

class Budget {
  private used = 0;
  constructor(private readonly max: number) {}

  /** `field` is asked for only when the budget is exceeded. */
  spend(chars: number, field: () => string): void {
    this.used += chars;
    if (this.used > this.max) throw new TemplateError(field(), '', `the rendered output would be over ${this.max} characters`);
  }
}
