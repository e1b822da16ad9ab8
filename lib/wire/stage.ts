import type { MessagePort } from 'node:worker_threads';
import type { TaskDefinition } from '../task/definition';
import type { WireError } from './errors';
import type { ThreadInit } from './thread';

// ---- inThread: a whole stage running in a thread of its own ----
//
// A stage thread has a MessageChannel of its own (not the worker's port) and a few Int32 counters
// in shared memory. Messages are flat arrays, as above, discriminated by a `StageKind`.

export const StageKind = {
  /** `[Next, value, value, …]` either way: source values in, stage outputs out. */
  Next: 0,
  /** `[Complete]` either way: the source completed / the stage completed. */
  Complete: 1,
  /** `[Error, wire]` either way: the source errored / the stage errored (`[Error, wire, 1]`: with the source's error). */
  Error: 2,
  /** `[Stop]` in: unsubscribe the stage (its teardown runs in the thread). `[Stop]` out: done so. */
  Stop: 3,
  /** `[Unclonable, wire]` out: an output could not be cloned to the caller. */
  Unclonable: 4,
  /** `[CloseError, wire]` out: an `onThreadClose` callback threw, after the thread's last outcome. */
  CloseError: 5,
} as const;

// ---- main thread → stage thread ----

/** `[Next, value, …]`: source values for `input$`, in order. */
export type StageNextMessage = [kind: typeof StageKind.Next, ...values: unknown[]];

export type StageToThread =
  | StageNextMessage
  /** The source completed: complete `input$`. */
  | [kind: typeof StageKind.Complete]
  /** The source errored: error `input$` with the rebuilt error. */
  | [kind: typeof StageKind.Error, error: WireError]
  /** The caller unsubscribed: unsubscribe the stage here, then end the thread. */
  | [kind: typeof StageKind.Stop];

// ---- stage thread → main thread ----
// `Complete`, `Error`, `Stop` and `Unclonable` carry the stage's outcome: it is sent once, after
// every output. The thread then runs its `onThreadClose` callbacks (a `CloseError` for each one
// that throws), closes its port and exits by itself once its event loop has drained.

export type StageFromThread =
  /** What the stage emitted, in order. */
  | StageNextMessage
  /** The stage completed (its teardown has run). */
  | [kind: typeof StageKind.Complete]
  /**
   * The stage errored, failed to load, or completed but its teardown threw; `passedThrough` is 1
   * when the error is the source's own.
   */
  | [kind: typeof StageKind.Error, error: WireError, passedThrough?: 1]
  /** The stage was unsubscribed, as asked, and its teardown has run; `[Stop, wire]`: it threw. */
  | [kind: typeof StageKind.Stop, teardownError?: WireError]
  /** An output could not be cloned: the values before it were sent, the stage is unsubscribed. */
  | [kind: typeof StageKind.Unclonable, error: WireError]
  /** An `onThreadClose` callback threw. */
  | [kind: typeof StageKind.CloseError, error: WireError];

/** Shared Int32 counters of a stage thread. */
export const StageCounter = {
  /** Source values the thread has handed to the stage: the sender's credit. Notified on change. */
  Consumed: 0,
  /** 1 once the caller unsubscribed (or the stream failed on the caller's side): `ctx.aborted`. */
  Aborted: 1,
  /** 1 once the thread is exiting (also on process.exit or an uncaught error); `Consumed` is notified. */
  Exited: 2,
  /** 1 once the stage has subscribed to `input$`'s values (`overflow: 'block'` waits only then). */
  Started: 3,
} as const;

/** Int32 counters in a stage thread's shared buffer. */
export const stageCounters = 4;

/** What `workerData` carries to a stage thread. */
export interface StageInit {
  readonly def: TaskDefinition;
  readonly counters: SharedArrayBuffer;
  /** The port the stage's messages travel on, both ways. */
  readonly port: MessagePort;
  readonly tsNode: ThreadInit['tsNode'];
}
