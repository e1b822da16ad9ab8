/** Most ms a timer can wait: beyond, Node fires it after 1 ms. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * True if `work` fulfils within `ms`; false if it rejects or takes longer (it is not stopped). With
 * `hold` false, the wait does not keep the process alive.
 */
export function within(work: Promise<unknown>, ms: number, hold = true): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.min(ms, maxTimerMs));
    if (!hold) timer.unref();
    const settle = (fulfilled: boolean) => () => {
      clearTimeout(timer);
      resolve(fulfilled);
    };
    work.then(settle(true), settle(false));
  });
}

/** A connection to Redis as `watchRedis` checks it. */
export interface Answering {
  /** True if Redis answers a PING within `ms`. */
  answers(ms: number): Promise<boolean>;
}

/**
 * While `watching()` holds, checks that Redis still answers the connection `current()` returns: a
 * PING at least every `graceMs / 2`. Once one has gone unanswered for `graceMs` (Redis down, or
 * hung, or out of reach), calls `giveUp` with that connection and stops; it stops without calling
 * it once `watching()` no longer holds. Used by closes, which must not wait for Redis forever.
 */
export async function watchRedis<T extends Answering>(
  graceMs: number,
  watching: () => boolean,
  current: () => T | undefined,
  giveUp: (unanswered: T) => void,
): Promise<void> {
  // Between checks; a timer waits at most 2^31 - 1 ms.
  const pauseMs = Math.max(10, Math.min(graceMs / 2, 2 ** 30));
  while (watching()) {
    const redis = current();
    if (redis === undefined || (await redis.answers(graceMs))) {
      await new Promise((resolve) => setTimeout(resolve, pauseMs).unref());
    } else if (watching() && current() === redis) {
      // Checked again after the wait: what it watched for may have happened meanwhile, or the
      // connection was replaced (then the next turn watches the new one).
      giveUp(redis);
      return;
    }
  }
}
