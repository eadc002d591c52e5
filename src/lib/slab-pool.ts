/**
 * Reusable memory for large answers. A search answer of a few hundred
 * machines is hundreds of KB, built fresh for every request; allocating it
 * anew each time counts as external memory to V8, which then runs a full
 * mark-compact every few dozen requests ("external memory pressure") and
 * stalls whichever request arrives during it. A pool hands out slabs that are
 * returned once the answer has been handed to the kernel, so a steady stream
 * of searches allocates nothing large.
 *
 * Slabs come in power-of-two sizes from MIN_SLAB; an answer smaller than
 * SMALL is not worth a slab and gets an ordinary buffer.
 */
export const SMALL = 4 << 10;
export const MIN_SLAB = 64 << 10;

/** Bytes for one answer: `bytes(size)`, called once, gives the view to fill; `release()` gives its memory back. */
export interface SlabLoan {
  bytes(size: number): Buffer;
  /** Only after nothing reads the view any more (for a response: after 'finish'). */
  release(): void;
}

export class SlabPool {
  /** Free slabs, smallest first. */
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  /** @param keepBytes at most this many bytes of free slabs are kept; the rest are left to the GC. */
  constructor(private readonly keepBytes = 64 << 20) {}

  borrow(): SlabLoan {
    let slab: Buffer | undefined;
    let used = false;
    return {
      bytes: (size) => {
        if (used) throw new Error('a loan gives bytes once');
        used = true;
        slab = size < SMALL ? undefined : this.take(size);
        return slab ? slab.subarray(0, size) : Buffer.allocUnsafe(size);
      },
      release: () => {
        if (slab) this.give(slab);
        slab = undefined;
      },
    };
  }

  /** Free bytes kept now (for tests). */
  get kept(): number {
    return this.freeBytes;
  }

  private take(size: number): Buffer {
    const i = this.free.findIndex((slab) => slab.length >= size);
    if (i < 0) return Buffer.allocUnsafeSlow(slabSize(size));
    const [slab] = this.free.splice(i, 1);
    this.freeBytes -= slab!.length;
    return slab!;
  }

  private give(slab: Buffer): void {
    if (this.freeBytes + slab.length > this.keepBytes) return;
    const at = this.free.findIndex((other) => other.length >= slab.length);
    this.free.splice(at < 0 ? this.free.length : at, 0, slab);
    this.freeBytes += slab.length;
  }
}

/** The slab for `size` bytes: the next power of two, at least MIN_SLAB. */
export function slabSize(size: number): number {
  let slab = MIN_SLAB;
  while (slab < size) slab *= 2;
  return slab;
}
