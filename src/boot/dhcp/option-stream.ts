/**
 * The byte stream options travel in (RFC 2132 §2): code, length, value, with
 * pad (0) between options and end (255) after the last. It fills the options
 * field and, with option overload, the file and sname fields too. A value over
 * 255 bytes travels as several instances of the same code that the receiver
 * joins back together (RFC 3396).
 */
import { DhcpParseError } from './codec-errors.js';

export const PAD = 0;
export const END = 255;
const MAX_INSTANCE_BYTES = 255;

export type OptionField = 'options' | 'file' | 'sname';

/**
 * Reads the options in one field, appending each instance's value to
 * `instances` under its code, in the order met. Stops at end; a field without
 * one, or an option running past the field, is refused.
 */
export function readOptionStream(field: Buffer, name: OptionField, instances: Map<number, Buffer[]>): void {
  let at = 0;
  while (at < field.length) {
    const code = field[at]!;
    if (code === PAD) {
      at += 1;
      continue;
    }
    if (code === END) return;
    if (at + 1 >= field.length) {
      throw new DhcpParseError('bad-option-length', `option ${code} at byte ${at} of the ${name} field has no length byte`, code);
    }
    const length = field[at + 1]!;
    const start = at + 2;
    if (start + length > field.length) {
      throw new DhcpParseError(
        'bad-option-length',
        `option ${code} at byte ${at} of the ${name} field claims ${length} bytes, but only ${field.length - start} remain`,
        code,
      );
    }
    const list = instances.get(code);
    const value = field.subarray(start, start + length);
    if (list) list.push(value);
    else instances.set(code, [value]);
    at = start + length;
  }
  throw new DhcpParseError('missing-end', `the ${name} field has no end option (255)`);
}

/** Bytes a value of `length` takes on the wire, split into 255-byte instances. An empty value still takes one instance. */
export function optionWireLength(length: number): number {
  return length === 0 ? 2 : length + 2 * Math.ceil(length / MAX_INSTANCE_BYTES);
}

/** Writes `value` under `code` at `offset`, split as needed; returns the offset after it. */
export function writeOption(target: Buffer, offset: number, code: number, value: Uint8Array): number {
  let at = offset;
  let from = 0;
  do {
    const length = Math.min(MAX_INSTANCE_BYTES, value.length - from);
    target[at] = code;
    target[at + 1] = length;
    target.set(value.subarray(from, from + length), at + 2);
    at += 2 + length;
    from += length;
  } while (from < value.length);
  return at;
}
