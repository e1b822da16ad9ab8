/** A step (a job, or a generator's step) faster than this counts as tiny. */
const tinyMs = 0.02;
/** Steps seen before the work can be proven tiny. */
const provenAfter = 64;
const slowWeight = 1 / 32;
/** More slow steps than this (a moving rate) and the work is not tiny: 4 slow steps in a row do it. */
const slowLimit = 0.1;

/**
 * Tells whether some work (a task's jobs, a generator's steps) is proven tiny: many steps, hardly
 * any slow. Only then may a finished value wait for the next step to share its message. A rate
 * rather than a streak: on a busy machine a tiny step now and then looks slow (the thread was
 * descheduled, a GC ran), and one such step must not turn every later value into a message of
 * its own, as a streak that resets did (100,000 tiny values crossed in ~1,800 messages, not ~500).
 */
export class TinyWork {
  private steps = 0;
  private slowRate = 0;

  get proven(): boolean {
    return this.steps >= provenAfter && this.slowRate < slowLimit;
  }

  /**
   * `steps` steps took `ms` together; of several that took long together, one counts as slow (as
   * the thread's histograms count them).
   */
  record(ms: number, steps = 1): void {
    this.steps += steps;
    if (steps > 1 && this.slowRate !== 0) this.slowRate *= (1 - slowWeight) ** (steps - 1);
    this.slowRate = this.slowRate * (1 - slowWeight) + (ms < tinyMs ? 0 : slowWeight);
  }
}
