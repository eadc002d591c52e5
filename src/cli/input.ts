/**
 * What commands read from a file or from stdin ("-"): the JSON documents that
 * `-f FILE` commands send to the server, with errors that name the file, line
 * and column, and plain text such as a password file.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../lib/errors.js';

export type JsonShape = 'array' | 'object';

/** The text of a file, or of stdin for "-"; `name` is what errors call it. */
export function readInput(file: string): { name: string; text: string } {
  const name = file === '-' ? 'stdin' : file;
  try {
    return { name, text: readFileSync(file === '-' ? 0 : file, 'utf8') };
  } catch (error) {
    throw new UserError(`${name}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
  }
}

export function readJsonFile(file: string, shape: JsonShape, what: string): unknown {
  const { name, text } = readInput(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${name}${where(text, (error as Error).message)}: not valid JSON: ${oneLine((error as Error).message)}`);
  }
  const isArray = Array.isArray(value);
  const isObject = typeof value === 'object' && value !== null && !isArray;
  if (shape === 'array' ? !isArray : !isObject)
    throw new UserError(`${name}: expected ${shape === 'array' ? 'a JSON array' : 'a JSON object'} of ${what}`);
  return value;
}

/** ":LINE:COLUMN" of the position V8 names in a JSON.parse message, if it names one. */
function where(text: string, message: string): string {
  const match = /position (\d+)/.exec(message);
  if (!match) return '';
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  return `:${line}:${before.length - before.lastIndexOf('\n')}`;
}

/** V8 sometimes quotes the whole document in its message: keep the first line, and at most 120 characters of it. */
function oneLine(message: string): string {
  const first = message.replace(/, "[\s\S]*" is not valid JSON$/, '').split('\n')[0]!;
  return first.length > 120 ? `${first.slice(0, 117)}...` : first;
}
