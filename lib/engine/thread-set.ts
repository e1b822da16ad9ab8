import { DoneFuture } from '../util/done-future';
import { WorkerCrashedError } from '../util/errors';
import type { Job, JobThread } from './job';
import type { EngineOptions } from './options';
import { type ThreadEvents, ThreadHandle } from './thread-handle';

/** Where an executor is in its life. */
export type State = 'open' | 'closing' | 'terminating' | 'ended';

/**
 * Back-off before each new attempt to start a thread after threads died before their loop ran
 * (a bad `resourceLimits`, a preload that throws). Past the last, waiting jobs fail.
 */
const startRetryMs = [20, 100, 500];

/**
 * An executor's threads and its life: starts them (with back-off after failed starts), replaces
 * lost ones, closes them once drained, and resolves `done` once every one has exited.
 */
export class ThreadSet {
  readonly threads: JobThread[] = [];
  /** Every thread not yet exited, including those being stopped. */
  readonly living = new Set<JobThread>();
  state: State = 'open';
  /** How long a closing thread may take to exit by itself before it is terminated. */
  closeGraceMs: number;
  readonly done = new DoneFuture();
  /** Called when the first thread has started its loop. */
  onReady: (() => void) | undefined;
  /** Called instead of `onReady` when `close()` or `terminate()` comes before the first thread runs. */
  onClosedBeforeReady: (() => void) | undefined;
  /** Threads in a row that died before their loop ran; reset when one runs. */
  private startFailures = 0;
  /** No thread is started before this time (ms, Date.now()), after start-up failures. */
  private spawnAfter = 0;
  private spawnTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: EngineOptions,
    private readonly events: ThreadEvents<Job>,
    /** Hands out queued jobs: called once the start-up back-off has passed. */
    private readonly dispatch: () => void,
    /** Called on ending, before `done` resolves: the executor's other timers stop. */
    private readonly ending: () => void,
    /** Called when Node refused to start a thread: what waits for one fails with `crash`. */
    private readonly cannotSpawn: (crash: WorkerCrashedError) => void,
  ) {
    this.closeGraceMs = options.closeGraceMs;
  }

  /** A thread's loop runs. */
  ready(): void {
    this.startFailures = 0;
    this.onReady?.();
    this.onReady = undefined;
  }

  closedBeforeReady(): void {
    if (this.onReady === undefined) return;
    this.onReady = undefined;
    this.onClosedBeforeReady?.();
  }

  /** New work arrived. */
  retryIfGivenUp(): void {
    if (this.startFailures > startRetryMs.length) {
      // Threads could not start even after the retries: try once more for this new work.
      this.startFailures = startRetryMs.length;
      this.spawnAfter = 0;
    }
  }

  /** Takes a lost thread out of `threads`. */
  remove(thread: JobThread): void {
    const index = this.threads.indexOf(thread);
    if (index >= 0) this.threads.splice(index, 1);
  }

  /** Stops every thread at once. */
  stopAll(): void {
    for (const thread of this.threads.splice(0)) thread.stop();
  }

  /** A pool replaces a thread it lost at once, work or not, so that it is back to its size. */
  replaceLost(): void {
    if (this.options.replaceCrashed && this.state === 'open' && this.startFailures === 0) this.spawnMissing();
  }

  /**
   * A thread died before its loop ran: retry with back-off, then fail what waits. Returns the error
   * for the waiting jobs once the retries are used up.
   */
  startFailed(crash: WorkerCrashedError): WorkerCrashedError | undefined {
    const failures = ++this.startFailures;
    if (failures <= startRetryMs.length) {
      this.spawnAfter = Date.now() + startRetryMs[failures - 1]!;
      return undefined;
    }
    const why = crash.cause instanceof Error ? crash.cause.message : `exit code ${crash.exitCode}`;
    return new WorkerCrashedError(crash.exitCode, {
      cause: new Error(`no thread could start (${failures} attempts, the last: ${why})`, { cause: crash.cause }),
    });
  }

  spawnMissing(holdUntilReady = false): void {
    if (this.startFailures > startRetryMs.length) return; // given up until new work arrives
    if (this.startFailures > 0) {
      // After a failed start, one thread at a time probes, after the back-off.
      const wait = this.spawnAfter - Date.now();
      if (wait > 0) {
        this.spawnTimer ??= setTimeout(() => {
          this.spawnTimer = undefined;
          this.dispatch();
        }, wait);
        return;
      }
      if (this.threads.length < this.options.size && !this.threads.some((thread) => !thread.started)) {
        this.spawnOne(holdUntilReady);
      }
      return;
    }
    while (this.threads.length < this.options.size) if (!this.spawnOne(holdUntilReady)) return;
  }

  /** Starts a thread; false if Node refused to (then what waits fails, in a microtask). */
  private spawnOne(holdUntilReady: boolean): boolean {
    let thread: JobThread;
    try {
      thread = new ThreadHandle(this.options.slotCount, this.options.mode, this.options, this.events, holdUntilReady);
    } catch (error) {
      // Trying again would fail the same way: give up until new work arrives.
      this.startFailures = startRetryMs.length + 1;
      const crash = new WorkerCrashedError(1, {
        cause: error,
        message: `No thread could be started: ${error instanceof Error ? error.message : String(error)}`,
      });
      queueMicrotask(() => this.cannotSpawn(crash));
      return false;
    }
    this.threads.push(thread);
    this.living.add(thread);
    return true;
  }

  /** Closing, with nothing queued (`queued`) nor on a thread: the threads are closed. */
  checkDrained(queued: number): void {
    if (this.state !== 'closing' || queued > 0) return;
    for (const thread of this.threads) if (thread.inFlight > 0) return;
    this.state = 'terminating';
    for (const thread of this.threads) thread.close(this.closeGraceMs);
    this.threads.length = 0;
    this.checkEnded();
  }

  checkEnded(): void {
    if (this.state === 'terminating' && this.living.size === 0) {
      this.state = 'ended';
      clearTimeout(this.spawnTimer);
      this.ending();
      this.done.resolve();
    }
  }
}
