/** decideRange: which bytes, which status and which Content-Range a download answers with. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentRange, decideRange, etagOf, type RangeDecision } from '../../src/boot/byte-range.js';

const SIZE = 1000;
const ETAG = etagOf('ab'.repeat(32));

/** [what the client sends, Range, If-Range, decision, Content-Range]; the status follows from the decision: 200, 206 or 416. */
const cases: [string, string | undefined, string | undefined, RangeDecision, string | undefined][] = [
  ['no Range: the whole file (200)', undefined, undefined, { kind: 'full' }, undefined],
  ['a closed range (206)', 'bytes=0-99', undefined, { kind: 'partial', start: 0, end: 99 }, 'bytes 0-99/1000'],
  ['an open range to the end', 'bytes=900-', undefined, { kind: 'partial', start: 900, end: 999 }, 'bytes 900-999/1000'],
  [
    'a range past the end is cut at the last byte',
    'bytes=990-5000',
    undefined,
    { kind: 'partial', start: 990, end: 999 },
    'bytes 990-999/1000',
  ],
  ['the last byte alone', 'bytes=999-999', undefined, { kind: 'partial', start: 999, end: 999 }, 'bytes 999-999/1000'],
  ['a suffix: the last N bytes', 'bytes=-100', undefined, { kind: 'partial', start: 900, end: 999 }, 'bytes 900-999/1000'],
  [
    'a suffix longer than the file: all of it, still 206',
    'bytes=-5000',
    undefined,
    { kind: 'partial', start: 0, end: 999 },
    'bytes 0-999/1000',
  ],
  [
    'spaces around the range are tolerated',
    'bytes= 10-19 ',
    undefined,
    { kind: 'partial', start: 10, end: 19 },
    'bytes 10-19/1000',
  ],
  ['a start at or past the end: 416 with the size', 'bytes=1000-', undefined, { kind: 'unsatisfiable' }, 'bytes */1000'],
  ['an empty suffix: 416', 'bytes=-0', undefined, { kind: 'unsatisfiable' }, 'bytes */1000'],
  ['several ranges: the whole file', 'bytes=0-9,20-29', undefined, { kind: 'full' }, undefined],
  ['another unit: the whole file', 'items=0-9', undefined, { kind: 'full' }, undefined],
  ['nonsense: the whole file', 'bytes=a-b', undefined, { kind: 'full' }, undefined],
  ['no numbers at all: the whole file', 'bytes=-', undefined, { kind: 'full' }, undefined],
  ['an end before the start: the whole file', 'bytes=50-10', undefined, { kind: 'full' }, undefined],
  ['If-Range naming this version: the range', 'bytes=0-9', ETAG, { kind: 'partial', start: 0, end: 9 }, 'bytes 0-9/1000'],
  ['If-Range naming another version: the whole file', 'bytes=0-9', '"older"', { kind: 'full' }, undefined],
  [
    'If-Range with a date (no strong tag): the whole file',
    'bytes=0-9',
    'Wed, 21 Oct 2015 07:28:00 GMT',
    { kind: 'full' },
    undefined,
  ],
];

describe('decideRange', () => {
  for (const [name, range, ifRange, decision, header] of cases)
    it(name, () => {
      const decided = decideRange(range, SIZE, ifRange, ETAG);
      assert.deepEqual(decided, decision);
      assert.equal(contentRange(decided, SIZE), header);
    });

  it('an empty file has no byte to send: any range is 416, none is the (empty) whole file', () => {
    assert.deepEqual(decideRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(decideRange('bytes=-10', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(decideRange(undefined, 0), { kind: 'full' });
    assert.equal(contentRange({ kind: 'unsatisfiable' }, 0), 'bytes */0');
  });

  it('an ETag is the content hash, quoted (a strong tag)', () => {
    assert.equal(etagOf('00ff'), '"00ff"');
  });
});
