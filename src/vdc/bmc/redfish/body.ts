/**
 * Request bodies: Redfish requests carry one JSON object. Parsing is strict so
 * that a typo in a script fails with a message naming the problem instead of
 * being ignored.
 */
import { malformedJson } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** The JSON object in a request body; `what` names the request in errors ("ComputerSystem.Reset"). */
export function parseJsonObject(text: string, what: string): JsonObject {
  if (text.trim() === '') throw malformedJson(`${what} needs a JSON object in the request body and got none`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformedJson((error as Error).message);
  }
  if (!isObject(value)) throw malformedJson(`${what} needs a JSON object, not ${describe(value)}`);
  return value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}
