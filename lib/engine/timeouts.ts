import { epochNow } from '../util/clock';
import { unrefTimer } from '../util/timers';
import { Slot } from '../wire/words';
import type { Job } from './job';

/**
 * Calls `expire` once a job assigned to a thread has run there for `job.timeout` ms (not counting
 * the time a streaming job waited for credit), unless it has settled or left that slot first. Only the thread knows when a job starts: it writes the start
 * time to shared memory and, for a watched slot, notifies; the main thread waits for that with
 * `Atomics.waitAsync`, then arms a timer for the time left. The timer runs on the main thread, so
 * it fires even while a task blocks its own thread's event loop.
 */
export function watchTimeout(job: Job, expire: (job: Job) => void): void {
  const thread = job.thread!;
  const slot = job.slot;
  const held = () => !job.settled && thread.alive && thread.jobs[slot] === job;
  const check = (): void => {
    if (!held()) return;
    const state = Atomics.load(thread.slots.states, slot);
    if (state === Slot.Pending) {
      // Bounded by the timeout itself, so that a waiter for a job that never starts goes away.
      const wait = Atomics.waitAsync(thread.slots.states, slot, Slot.Pending, job.timeout);
      if (wait.async) void wait.value.then(check);
      else check();
      return;
    }
    if (state !== Slot.Started) return; // finished, cancelled or revoked
    arm();
  };
  // Armed for the time left; a streaming job that waited for credit meanwhile has more left.
  const arm = (): void => {
    const left = job.timeout - thread.slots.ranFor(slot, epochNow());
    const timer = setTimeout(
      () => {
        if (!held() || Atomics.load(thread.slots.states, slot) !== Slot.Started) return;
        if (thread.slots.ranFor(slot, epochNow()) >= job.timeout) expire(job);
        else arm();
      },
      Math.max(0, Math.ceil(left)),
    );
    unrefTimer(timer);
  };
  check();
}
