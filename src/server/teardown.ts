/**
 * What a server started, to be undone in reverse order: on stop, and when
 * start-up fails halfway. Every step runs even if an earlier one failed; the
 * first failure is rethrown at the end.
 */
export class Teardown {
  private readonly steps: { name: string; undo: () => Promise<void> | void }[] = [];
  private done: Promise<void> | undefined;

  /** Registers `undo` to run before everything registered earlier. */
  add(name: string, undo: () => Promise<void> | void): void {
    this.steps.push({ name, undo });
  }

  /** Runs every step once, newest first; later calls wait for the first. */
  run(): Promise<void> {
    this.done ??= this.unwind();
    return this.done;
  }

  private async unwind(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
      } catch (error) {
        failure ??= { error: new Error(`stopping ${step.name} failed: ${(error as Error).message}`, { cause: error }) };
      }
    }
    this.steps.length = 0;
    if (failure) throw failure.error;
  }
}
