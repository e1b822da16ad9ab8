/**
 * Runs `run` once, later (`defer`: `queueMicrotask` for the end of this turn, `setImmediate` for
 * the next), however many times it is asked for before then: the work of a burst is done once.
 */
export class Coalesced {
  private pending = false;

  constructor(
    private readonly run: () => void,
    private readonly defer: (callback: () => void) => unknown,
  ) {}

  request(): void {
    if (this.pending) return;
    this.pending = true;
    // Called on its own, not as a method: a browser's queueMicrotask refuses any other `this`.
    const defer = this.defer;
    defer(this.fire);
  }

  private readonly fire = (): void => {
    this.pending = false;
    this.run();
  };
}
