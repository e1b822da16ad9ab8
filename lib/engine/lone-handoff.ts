import { Kind, type ResultsMessage } from '../wire/thread';
import { Handoff, type HandoffAt, handoffAt, isSharedMemory } from '../wire/words';

/**
 * How long (ms) the main thread waits awake, after posting a lone value to a pool thread that runs
 * on another core, for its outcome in shared memory: a tiny task's whole round trip there takes a
 * few µs; a longer task's outcome comes by message as before.
 */
const defaultWaitMs = 0.015;
/** Lone posts a hand-off skips after waiting in vain, doubled at each miss in a row up to this many. */
const maxSkip = 64;

/** A thread's Int32 and Float64 words in shared memory, where its hand-off words are (among the thread-wide ones, after the slots'). */
export interface HandoffWords {
  readonly ints: Int32Array;
  readonly times: Float64Array;
}

/**
 * The main thread's side of the lone hand-off with one pool thread (the thread's is
 * `ThreadHandoff`). After a lone value's post, a main thread that goes back to its event loop
 * sleeps, and the outcome's message must wake it: on a VM whose idle cores halt, that wake is most
 * of a lone round trip. If the pool thread is running on another core right now (its spin count
 * moved while the value was posted), the main thread instead waits awake a moment, and the thread
 * hands a number outcome over in shared memory; it then reaches the engine as the results message
 * it stands for, in a microtask of this turn. A thread that is not running (asleep, or waiting for
 * this very core) is not waited for: waiting would keep it from the core it needs. The word then
 * says `Unwaited`, which tells a thread that was spinning all the same that it shares this core.
 */
export class LoneHandoff {
  private readonly at: HandoffAt;
  /** The thread's spin count when the hand-off was armed. */
  private spinsBefore = 0;
  private misses = 0;
  private skip = 0;
  /** Lone outcomes handed over so far. */
  given = 0;

  constructor(
    private readonly words: HandoffWords,
    private readonly waitMs = defaultWaitMs,
  ) {
    this.at = handoffAt(words.ints, words.times);
  }

  /** A hand-off over `words` if they are shared memory; none where they are copies (a page that is not cross-origin isolated). */
  static of(words: HandoffWords): LoneHandoff | undefined {
    return isSharedMemory(words.ints.buffer) ? new LoneHandoff(words) : undefined;
  }

  /**
   * Called before a lone value is posted to the thread (the only job it holds): returns whether the
   * outcome is awaited, in which case `take` or `withdraw` must follow the post.
   */
  arm(): boolean {
    if (this.skip > 0) {
      this.skip--;
      return false;
    }
    const ints = this.words.ints;
    // Set before the post: the thread may finish the value before the post has even returned.
    Atomics.store(ints, this.at.state, Handoff.Awaited);
    this.spinsBefore = Atomics.load(ints, this.at.spins);
    return true;
  }

  /**
   * Called after the post: waits awake for the outcome if the thread runs now, and returns it as
   * the results message it stands for; undefined if it comes by message instead.
   */
  take(): ResultsMessage | undefined {
    const { ints, times } = this.words;
    const { state: stateAt, spins: spinsAt } = this.at;
    // The count moved during the post only if the thread was spinning on another core meanwhile.
    const waits = Atomics.load(ints, stateAt) === Handoff.Awaited && Atomics.load(ints, spinsAt) !== this.spinsBefore;
    if (waits) {
      const end = performance.now() + this.waitMs;
      while (Atomics.load(ints, stateAt) === Handoff.Awaited && performance.now() < end);
    }
    // From here the thread posts: it finds the state moved on, or it handed the outcome over just now.
    const state = Atomics.compareExchange(ints, stateAt, Handoff.Awaited, waits ? Handoff.Off : Handoff.Unwaited);
    if (state === Handoff.Awaited) {
      if (waits) this.missed();
      return undefined;
    }
    Atomics.store(ints, stateAt, Handoff.Off);
    if (state !== Handoff.Given) return undefined;
    this.misses = 0;
    this.given++;
    const at = this.at;
    return [Kind.Results, times[at.busyMs]!, Atomics.load(ints, at.code), times[at.value]!];
  }

  /** Called instead of `take` when the value could not be posted: nothing is awaited any more. */
  withdraw(): void {
    Atomics.store(this.words.ints, this.at.state, Handoff.Off);
  }

  /** Waited in vain (a task that is not tiny, or a thread that stopped spinning): skip the next lone posts, more after each miss in a row. */
  private missed(): void {
    this.misses++;
    this.skip = Math.min(maxSkip, 2 ** this.misses);
  }
}
