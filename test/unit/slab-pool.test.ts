import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_SLAB, SMALL, SlabPool, slabSize } from '../../src/lib/slab-pool.js';

describe('slab pool for large answers', () => {
  it('gives a released slab to the next answer that fits, and never one still leased', () => {
    const pool = new SlabPool();
    const first = pool.lease();
    const a = first.bytes(200_000);
    const second = pool.lease();
    const b = second.bytes(100_000);
    assert.notEqual(a.buffer, b.buffer, 'two live leases share no memory');
    first.release();
    assert.equal(pool.kept, slabSize(200_000));
    const third = pool.lease();
    const c = third.bytes(150_000);
    assert.equal(c.buffer, a.buffer, 'the released slab is reused');
    assert.equal(c.length, 150_000);
    assert.equal(pool.kept, 0);
  });

  it('picks the smallest free slab that fits and allocates when none does', () => {
    const pool = new SlabPool();
    const leases = [300_000, 100_000, 2_000_000].map((size) => {
      const lease = pool.lease();
      return { lease, view: lease.bytes(size) };
    });
    for (const { lease } of leases) lease.release();
    const small = pool.lease().bytes(90_000);
    assert.equal(small.buffer, leases[1]!.view.buffer);
    const big = pool.lease().bytes(5_000_000);
    assert.ok(!leases.some(({ view }) => view.buffer === big.buffer));
    assert.equal(big.length, 5_000_000);
  });

  it('keeps small answers out of the pool and at most keepBytes of free slabs', () => {
    const pool = new SlabPool(3 * MIN_SLAB);
    const tiny = pool.lease();
    assert.equal(tiny.bytes(SMALL - 1).length, SMALL - 1);
    tiny.release();
    assert.equal(pool.kept, 0);
    const leases = [1, 2, 3].map(() => pool.lease());
    for (const lease of leases) lease.bytes(MIN_SLAB);
    for (const lease of leases) lease.release();
    assert.equal(pool.kept, 3 * MIN_SLAB);
    const huge = pool.lease();
    huge.bytes(4 * MIN_SLAB);
    huge.release();
    assert.equal(pool.kept, 3 * MIN_SLAB, 'a slab over the limit is left to the GC');
  });

  it('gives bytes once a lease, and a second release is harmless', () => {
    const pool = new SlabPool();
    const lease = pool.lease();
    lease.bytes(SMALL);
    assert.throws(() => lease.bytes(SMALL), /once/);
    lease.release();
    lease.release();
    assert.equal(pool.kept, MIN_SLAB);
  });

  it('sizes slabs in powers of two from MIN_SLAB', () => {
    assert.equal(slabSize(1), MIN_SLAB);
    assert.equal(slabSize(MIN_SLAB), MIN_SLAB);
    assert.equal(slabSize(MIN_SLAB + 1), 2 * MIN_SLAB);
    assert.equal(slabSize(5_900_000), 8 << 20);
  });
});
