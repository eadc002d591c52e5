import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteRange, inRange, pageRange, prefixEnd } from '../../src/store/keys.js';

describe('key ranges', () => {
  it('ends a prefix range at the prefix with its last byte incremented', () => {
    assert.deepEqual(prefixEnd(Buffer.from('machines/')), Buffer.from('machines0'));
    assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
    assert.deepEqual(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.alloc(0), 'all 0xff: no upper bound');
  });

  it('selects one key, a prefix, or an interval', () => {
    const one = byteRange({ key: 'a' });
    assert.equal(inRange(Buffer.from('a'), one), true);
    assert.equal(inRange(Buffer.from('ab'), one), false);
    const prefix = byteRange({ prefix: 'a/' });
    assert.equal(inRange(Buffer.from('a/x'), prefix), true);
    assert.equal(inRange(Buffer.from('a0'), prefix), false);
    const interval = byteRange({ key: 'b', end: 'd' });
    assert.deepEqual(
      ['a', 'b', 'c', 'cz', 'd'].map((k) => inRange(Buffer.from(k), interval)),
      [false, true, true, true, false],
    );
    const everything = byteRange({ prefix: '' });
    assert.equal(inRange(Buffer.from('\u00ff'), everything), true);
  });

  it('continues a page strictly after the cursor key', () => {
    const next = pageRange({ prefix: 'm/', after: 'm/17' });
    assert.equal(inRange(Buffer.from('m/17'), next), false);
    assert.equal(inRange(Buffer.from('m/17\0'), next), true);
    assert.equal(inRange(Buffer.from('m/18'), next), true);
    assert.equal(inRange(Buffer.from('n'), next), false);
    // A cursor before the range start does not widen the range.
    const clamped = pageRange({ prefix: 'm/', after: 'a' });
    assert.equal(inRange(Buffer.from('b'), clamped), false);
  });
});
