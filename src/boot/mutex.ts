/**
 * One critical section at a time, in arrival order. It guards this server's
 * own disk (a rename and the index write that must agree with it), which no
 * other server touches; state shared between servers is guarded by CAS in the
 * Store, never by this.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => {});
    return result;
  }
}
