/** Evaluating a transaction's compare against a key's current state, as etcd does. */
import { InvalidRequestError } from './errors.js';
import type { Compare, KeyValue } from './interface.js';

/** A missing key has version, create and mod revision 0, empty value and no lease. */
export function evaluateCompare(compare: Compare, kv: KeyValue | undefined): boolean {
  const actual = targetValue(compare, kv);
  const expected = compare.target === 'value' || compare.target === 'lease' ? String(compare.value) : Number(compare.value);
  if (typeof actual === 'number' && !Number.isFinite(expected as number)) {
    throw new InvalidRequestError(`compare on ${compare.target} needs a number, got ${JSON.stringify(compare.value)}`);
  }
  const order = compare.target === 'lease' ? compareLeases(String(actual), String(expected)) : compareValues(actual, expected);
  switch (compare.result) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '>':
      return order > 0;
    default:
      throw new InvalidRequestError(`unknown compare result ${JSON.stringify(compare.result)}`);
  }
}

function targetValue(compare: Compare, kv: KeyValue | undefined): string | number {
  switch (compare.target) {
    case 'value':
      return kv?.value ?? '';
    case 'version':
      return kv?.version ?? 0;
    case 'createRevision':
      return kv?.createRevision ?? 0;
    case 'modRevision':
      return kv?.modRevision ?? 0;
    case 'lease':
      return kv?.lease ?? '0';
    default:
      throw new InvalidRequestError(`unknown compare target ${JSON.stringify(compare.target)}`);
  }
}

/** Numbers numerically; values bytewise, as etcd compares them. */
function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
}

function compareLeases(a: string, b: string): number {
  if (!/^\d+$/.test(b)) throw new InvalidRequestError(`compare on lease needs a lease ID, got ${JSON.stringify(b)}`);
  const x = BigInt(a);
  const y = BigInt(b);
  return x === y ? 0 : x < y ? -1 : 1;
}
