import { awakeCount } from '../wire/words';
import { coreCount, nextTurn } from './local/platform';

/** How long (ms) after a post the main thread's event loop turns rather than sleeps, while outcomes are due. */
const defaultSpinMs = 0.1;
/** Turns one post may keep the loop awake, whatever the clock says (a test may have frozen it). */
const maxTurns = 1_000;
/** Spins in a row that ended with outcomes still due, after which the main thread sleeps over lone values. */
const maxMisses = 2;

/** What a spin asks of the platform and the engine: its turns, the cores, the awake threads, and whether outcomes are due. */
export interface ResultSpinHost {
  /** Runs a callback in the next turn of the event loop, after its poll; `undefined`: never spin. */
  readonly nextTurn: ((turn: () => void) => void) | undefined;
  readonly cores: number;
  /** The clock, in ms (`performance.now`). */
  now(): number;
  /** Pool threads of the process that are awake now (running jobs or spinning for work). */
  awake(): number;
  /** True while jobs this engine posted have not all come back. */
  due(): boolean;
}

/**
 * The main thread's short wait for a lone value's outcome, awake rather than asleep: the
 * counterpart of the pool thread's `IdleSpin`. On a VM whose idle CPU halts, an event loop asleep
 * in its poll took 10-15 µs to wake for the thread's message, more than half a lone value's round
 * trip. For up to `spinMs` after a post that left a pool thread one value to run, and while
 * outcomes are due, the loop is kept turning (`setImmediate`): each turn polls without sleeping and
 * takes the message as soon as it is there, and runs timers, I/O and every other callback as
 * usual, so the caller's code never waits on it. Not after the posts of a stream or a burst, which
 * leave the threads work enough to sleep over (turning then took CPU the threads needed); and only
 * while a core is free for it: fewer pool threads of the process are awake than there are cores
 * (never on one core). Adaptive, as the pool thread's spin is: after `maxMisses` spins that ended
 * with the outcome still due (a task longer than the moment, a thread that slept), lone values are
 * slept over, until an outcome comes within `spinMs` of its post again.
 */
export class ResultSpin {
  private until = 0;
  private turns = 0;
  private spinning = false;
  private misses = 0;
  /** When the last lone value was posted. */
  private postedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly host: ResultSpinHost,
    private readonly spinMs = defaultSpinMs,
  ) {}

  /** A lone value was just posted to a pool thread: turn until outcomes are no longer due, for up to `spinMs`. */
  posted(): void {
    const { nextTurn, cores } = this.host;
    if (nextTurn === undefined || cores < 2) return;
    this.postedAt = this.host.now();
    if (this.misses >= maxMisses) return;
    this.until = this.postedAt + this.spinMs;
    this.turns = maxTurns;
    if (this.spinning) return;
    this.spinning = true;
    nextTurn(this.turn);
  }

  /** A pool thread's outcomes arrived: one that came within `spinMs` of its post would have been caught by a spin. */
  heard(): void {
    if (this.misses >= maxMisses && this.host.now() - this.postedAt < this.spinMs) this.misses = 0;
  }

  private readonly turn = (): void => {
    const { host } = this;
    const due = host.due();
    const inTime = --this.turns > 0 && host.now() < this.until;
    this.spinning = inTime && due && host.awake() < host.cores;
    if (this.spinning) host.nextTurn!(this.turn);
    else if (!due) this.misses = 0;
    else if (!inTime) this.misses++;
  };
}

/** A spin on this platform's turns and cores, over the process's awake words and an engine's threads. */
export function resultSpin(poolWords: Int32Array, threads: readonly { readonly inFlight: number }[]): ResultSpin {
  return new ResultSpin({
    nextTurn,
    cores: coreCount(),
    now: () => performance.now(),
    awake: () => awakeCount(poolWords),
    due: () => threads.some((thread) => thread.inFlight > 0),
  });
}
