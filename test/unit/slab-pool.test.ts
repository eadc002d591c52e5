import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_SLAB, SMALL, SlabPool, slabSize } from '../../src/lib/slab-pool.js';

describe('slab pool for large answers', () => {
  it('gives a released slab to the next answer that fits, and never one still lent', () => {
    const pool = new SlabPool();
    const first = pool.borrow();
    const a = first.bytes(200_000);
    const second = pool.borrow();
    const b = second.bytes(100_000);
    assert.notEqual(a.buffer, b.buffer, 'two live loans share no memory');
    first.release();
    assert.equal(pool.kept, slabSize(200_000));
    const third = pool.borrow();
    const c = third.bytes(150_000);
    assert.equal(c.buffer, a.buffer, 'the released slab is reused');
    assert.equal(c.length, 150_000);
    assert.equal(pool.kept, 0);
  });

  it('picks the smallest free slab that fits and allocates when none does', () => {
    const pool = new SlabPool();
    const loans = [300_000, 100_000, 2_000_000].map((size) => {
      const loan = pool.borrow();
      return { loan, view: loan.bytes(size) };
    });
    for (const { loan } of loans) loan.release();
    const small = pool.borrow().bytes(90_000);
    assert.equal(small.buffer, loans[1]!.view.buffer);
    const big = pool.borrow().bytes(5_000_000);
    assert.ok(!loans.some(({ view }) => view.buffer === big.buffer));
    assert.equal(big.length, 5_000_000);
  });

  it('keeps small answers out of the pool and at most keepBytes of free slabs', () => {
    const pool = new SlabPool(3 * MIN_SLAB);
    const tiny = pool.borrow();
    assert.equal(tiny.bytes(SMALL - 1).length, SMALL - 1);
    tiny.release();
    assert.equal(pool.kept, 0);
    const loans = [1, 2, 3].map(() => pool.borrow());
    for (const loan of loans) loan.bytes(MIN_SLAB);
    for (const loan of loans) loan.release();
    assert.equal(pool.kept, 3 * MIN_SLAB);
    const huge = pool.borrow();
    huge.bytes(4 * MIN_SLAB);
    huge.release();
    assert.equal(pool.kept, 3 * MIN_SLAB, 'a slab over the limit is left to the GC');
  });

  it('gives bytes once a loan, and a second release is harmless', () => {
    const pool = new SlabPool();
    const loan = pool.borrow();
    loan.bytes(SMALL);
    assert.throws(() => loan.bytes(SMALL), /once/);
    loan.release();
    loan.release();
    assert.equal(pool.kept, MIN_SLAB);
  });

  it('sizes slabs in powers of two from MIN_SLAB', () => {
    assert.equal(slabSize(1), MIN_SLAB);
    assert.equal(slabSize(MIN_SLAB), MIN_SLAB);
    assert.equal(slabSize(MIN_SLAB + 1), 2 * MIN_SLAB);
    assert.equal(slabSize(5_900_000), 8 << 20);
  });
});
