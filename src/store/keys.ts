/**
 * Key ranges as etcd defines them: keys are byte strings compared bytewise, a
 * range is the half-open interval [start, end), and a prefix's range ends at the
 * prefix with its last byte incremented.
 */
import { InvalidRequestError } from './errors.js';
import type { KeySelector, RangeRequest } from './interface.js';

export interface ByteRange {
  start: Buffer;
  /** Exclusive end; undefined = exactly the key `start`; empty buffer = to the end of the keyspace. */
  end?: Buffer;
}

/** The first key after every key that starts with `prefix` (empty = no upper bound). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.alloc(0);
}

export function byteRange(selector: KeySelector): ByteRange {
  if ('prefix' in selector) {
    if (typeof selector.prefix !== 'string') throw new InvalidRequestError('prefix must be a string');
    const start = Buffer.from(selector.prefix);
    return { start, end: prefixEnd(start) };
  }
  checkKey(selector.key);
  const start = Buffer.from(selector.key);
  if (selector.end === undefined) return { start };
  const end = Buffer.from(selector.end);
  return { start, end };
}

/** The range a paginated request still has to cover: keys strictly after `after`. */
export function pageRange(request: RangeRequest): ByteRange {
  const range = byteRange(request);
  if (request.after === undefined) return range;
  const afterNext = Buffer.concat([Buffer.from(request.after), Buffer.from([0])]);
  if (range.end === undefined) {
    // A single key: it is on this page only if it comes after the cursor.
    return Buffer.compare(range.start, afterNext) >= 0 ? range : { start: range.start, end: range.start };
  }
  return { start: Buffer.compare(afterNext, range.start) > 0 ? afterNext : range.start, end: range.end };
}

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidRequestError('key must be a non-empty string');
}

export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new InvalidRequestError(`limit must be a non-negative integer, got ${String(limit)}`);
  }
}

export function checkTtl(ttl: number): void {
  if (!Number.isInteger(ttl) || ttl <= 0)
    throw new InvalidRequestError(`lease TTL must be a positive whole number of seconds, got ${String(ttl)}`);
}

/** True when `key` (bytes) falls in `range`. */
export function inRange(key: Buffer, range: ByteRange): boolean {
  if (range.end === undefined) return key.equals(range.start);
  if (Buffer.compare(key, range.start) < 0) return false;
  return range.end.length === 0 || Buffer.compare(key, range.end) < 0;
}
