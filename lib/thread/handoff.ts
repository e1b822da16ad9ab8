import type { ThreadInit } from '../wire/thread';
import { Handoff, type HandoffAt, handoffAt, isSharedMemory } from '../wire/words';

/**
 * A pool thread's side of the lone hand-off (the main thread's is `LoneHandoff` in the engine):
 * when the main thread waits awake for a lone value's outcome (`Handoff.Awaited`), a number
 * outcome is written in shared memory instead of posted, and the main thread, still running,
 * takes it from there. A post to a main thread asleep in its event loop must wake it (on a VM
 * that halts idle cores, most of a lone round trip); one that stays awake needs no message.
 */
export class ThreadHandoff {
  private readonly ints: Int32Array;
  private readonly times: Float64Array;
  private readonly at: HandoffAt;
  /**
   * Whether the main thread did not wait for the last outcome sent (`Handoff.Unwaited`): this
   * thread did not run during its post. If it was spinning all the same, it waits for the main
   * thread's own core, and should not spin there again (`IdleSpin`).
   */
  unwaited = false;

  private constructor(init: Pick<ThreadInit, 'ints' | 'times'>) {
    this.ints = new Int32Array(init.ints);
    this.times = new Float64Array(init.times);
    this.at = handoffAt(this.ints, this.times);
  }

  /** The hand-off of a thread whose words are shared memory; none where they are copies (a page that is not cross-origin isolated). */
  static of(init: Pick<ThreadInit, 'ints' | 'times'>): ThreadHandoff | undefined {
    return isSharedMemory(init.ints) ? new ThreadHandoff(init) : undefined;
  }

  /**
   * Hands the outcome of a `[Results, busyMs, code, value]` message to a main thread that waits
   * for it; false if none waits (or it has just stopped), and the message must be posted.
   */
  give(code: number, value: number, busyMs: number): boolean {
    const { ints, at } = this;
    const stateAt = at.state;
    if (Atomics.load(ints, stateAt) !== Handoff.Awaited) return false;
    // Written before the state that publishes them: the main thread reads them once it sees `Given`.
    this.times[at.value] = value;
    this.times[at.busyMs] = busyMs;
    Atomics.store(ints, at.code, code);
    const given = Atomics.compareExchange(ints, stateAt, Handoff.Awaited, Handoff.Given) === Handoff.Awaited;
    if (given) this.unwaited = false;
    return given;
  }

  /** Called before any message goes to the main thread: one that waits for an outcome stops and takes it from its port. */
  posting(): void {
    const ints = this.ints;
    const stateAt = this.at.state;
    const state = Atomics.load(ints, stateAt);
    if (state === Handoff.Awaited) Atomics.compareExchange(ints, stateAt, Handoff.Awaited, Handoff.Posted);
    this.unwaited = state === Handoff.Unwaited;
  }
}
