/**
 * HTTP range requests (RFC 9110 §14), pure: which bytes of a file of a given
 * size a GET answers with. One range per request: a multi-range request gets
 * the whole file, which the RFC allows and every boot client handles.
 */

export type RangeDecision =
  | { kind: 'full' }
  /** Bytes start..end, both inclusive. */
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * `range` is the Range header, `ifRange` the If-Range header and `etag` the
 * file's current (strong) entity tag: a range is honoured only while If-Range,
 * when sent, still names this version of the file.
 */
export function decideRange(range: string | undefined, size: number, ifRange?: string, etag?: string): RangeDecision {
  if (range === undefined) return { kind: 'full' };
  if (ifRange !== undefined && ifRange !== etag) return { kind: 'full' };
  const match = /^bytes=\s*(\d*)-(\d*)\s*$/.exec(range);
  // Another unit, several ranges or nonsense: ignore the header and send everything.
  if (!match) return { kind: 'full' };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'partial', start, end };
}

export function contentRange(decision: RangeDecision, size: number): string | undefined {
  if (decision.kind === 'partial') return `bytes ${decision.start}-${decision.end}/${size}`;
  if (decision.kind === 'unsatisfiable') return `bytes */${size}`;
  return undefined;
}

/** A strong entity tag from a content hash. */
export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}
