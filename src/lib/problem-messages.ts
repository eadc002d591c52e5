/** Zod's generic issues in plain words ("must be a list, found 3"), for every YAML format that reports positioned problems. */
import type { z } from 'zod';

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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}
