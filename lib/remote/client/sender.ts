import type { JobData } from '../../wire/remote';
import { RemoteConnectionError } from '../errors';
import type { Batch, RemoteGroup } from './group';
import type { Ledger } from './ledger';
import type { Link } from './link';

/** What a `Sender` is told at its start: the engine's id and keys, and the options it sends with. */
export interface SenderOptions {
  /** The engine's id: its batches' ids start with it. */
  readonly id: string;
  readonly queue: string;
  readonly attempts: number;
  /** Most inputs per BullMQ job; `undefined`: sized from the tasks' durations (see `batchSizeFor`). */
  readonly batchSize: number | undefined;
  /** The engine's reply list, live key and the queue's cancel channel. */
  readonly replies: string;
  readonly live: string;
  readonly channel: string;
}

/** What a `Sender` asks of its engine. */
export interface SenderHost {
  /**
   * Ended with no live connection (closed, or given up on Redis): what is left to send is dropped,
   * and no connection is made for it.
   */
  closed(): boolean;
  /** The engine's connection, made anew if none is alive. */
  connect(): Link;
  /** Fails the open inputs of `batches` with `error`: their jobs did not reach Redis. */
  lose(batches: Batch[], error: Error): void;
}

/** The work one BullMQ job should carry when inputs are batched (see `batchSizeFor`). */
const jobWorkMs = 10;

/**
 * The submission path of a remote engine: takes a group's waiting inputs into batches while fewer
 * than its limit are in Redis, and sends the batches and cancels of one turn of the event loop
 * together, each batch as one BullMQ job. A value sent while nothing is in flight goes at the end
 * of the current turn; a batch not yet full whose group has more inputs waiting for room waits for
 * that room (see `holds`).
 */
export class Sender {
  private seq = 0;
  /** Moving average of the logarithm of a worker's time over one input (in ms), by task name. */
  private readonly taskLogMs = new Map<string, number>();
  /** Batches not handed to BullMQ yet: filled this turn, or held until full (see `flush`). */
  private outbox: Batch[] = [];
  private cancels: string[] = [];
  /** A flush is due at the end of this turn (microtask), and one in the next turn (setImmediate). */
  private soon = false;
  private later = false;
  /** Adds not yet answered by Redis: a cancel waits for them, so that it never overtakes its job. */
  private readonly adds = new Set<Promise<void>>();
  /** Adds and cancels not yet answered: a close waits for them. */
  private readonly requests = new Set<Promise<void>>();

  constructor(
    private readonly options: SenderOptions,
    private readonly ledger: Ledger,
    private readonly host: SenderHost,
  ) {}

  /**
   * Takes a worker's time over one input of task `name`, in ms, into that task's average. The
   * average is geometric (of the logarithms): on a loaded machine a worker's times for one tiny
   * task spread over two orders of magnitude (a thread waiting for a core, a message waiting for
   * the event loop), and an arithmetic average followed the slowest of them, so batches shrank
   * (and BullMQ's work per input grew) just when the machine had the least to spare.
   */
  observe(name: string, ms: number): void {
    const log = Math.log(Math.max(ms, 1e-3));
    const average = this.taskLogMs.get(name);
    this.taskLogMs.set(name, average === undefined ? log : average * 0.9 + log * 0.1);
  }

  /** A flush is due: the last requests of a close go out after it. */
  get scheduled(): boolean {
    return this.soon || this.later;
  }

  /** Removes or aborts the BullMQ job of a sealed batch that no input needs any more, with the next flush. */
  cancel(batch: Batch): void {
    this.cancels.push(batch.id);
    this.schedule(false);
  }

  /** Resolves once the adds and cancels sent so far are answered or failed. */
  answered(): Promise<unknown> {
    return Promise.all(this.requests);
  }

  /** Sends the group's next inputs, in batches, while it has fewer than `limit` in Redis. */
  pump(group: RemoteGroup): void {
    const batchSize = this.batchSizeFor(group.name, group.limit);
    // Nothing in flight: whatever this turn sends goes at its end rather than a turn later.
    const idle = this.ledger.sent === 0;
    while (group.sent < group.limit) {
      const job = group.waiting.shift();
      if (job === undefined) break;
      if (job.settled) continue;
      let batch = group.filling;
      // A batch all of whose inputs were cancelled before it was sent is out of the books: not reused.
      if (batch === undefined || batch.sealed || batch.jobs.length >= batchSize || batch.open === 0) {
        batch = { id: `${this.options.id}-${this.seq++}`, jobs: [], open: 0, sealed: false };
        group.filling = batch;
        group.batches.add(batch);
        this.ledger.inFlight.set(batch.id, batch);
        this.outbox.push(batch);
      }
      this.ledger.queued--;
      job.batch = batch;
      batch.jobs.push(job);
      batch.open++;
      group.sent++;
      this.ledger.sent++;
    }
    if (group.idle) this.ledger.groups.delete(group);
    if (this.outbox.length > 0) this.schedule(idle);
  }

  /**
   * Inputs per BullMQ job: enough for a job to carry about `jobWorkMs` of work, so that BullMQ's
   * cost per job (a few Redis round trips) is small beside it, but at most an eighth of the
   * subscription's concurrency (so that several workers share it) and 64. One until a duration of
   * that task is known, and one for long tasks, where a batch would only make inputs wait behind
   * each other.
   */
  private batchSizeFor(name: string, limit: number): number {
    if (this.options.batchSize !== undefined) return Math.min(this.options.batchSize, limit);
    const logMs = this.taskLogMs.get(name);
    if (logMs === undefined) return 1;
    const ms = Math.exp(logMs);
    const most = Math.max(1, Math.min(64, Math.floor(limit / 8)));
    return Math.min(most, Math.max(1, Math.floor(jobWorkMs / Math.max(ms, 1e-3))));
  }

  /**
   * One flush per turn of the event loop: the jobs of a burst go to Redis in one `addBulk`. `soon`
   * (nothing was in flight): at the end of this turn, once the synchronous burst is in; a value
   * sent alone does not wait for a turn of the event loop. Otherwise in the next turn, which also
   * gathers the inputs of several callbacks of this one (an asynchronous source's values).
   */
  private schedule(soon: boolean): void {
    if (soon) {
      if (this.soon) return;
      this.soon = true;
      queueMicrotask(() => {
        this.soon = false;
        this.flush();
      });
    } else if (!this.later) {
      this.later = true;
      setImmediate(() => {
        this.later = false;
        this.flush();
      });
    }
  }

  /**
   * The batch a group is filling, not full yet, is held back while the group has inputs waiting for
   * room (its limit is reached) and other inputs in Redis: their outcomes make that room and fill
   * it. Without this, each read of outcomes would send as many new inputs as it freed, in a batch of
   * that size, and batches would shrink to the few outcomes of each read. A batch whose group has
   * nothing more waiting, or nothing else in Redis, goes at once.
   */
  private holds(batch: Batch): boolean {
    const group = batch.jobs[0]!.group;
    if (batch !== group.filling || batch.jobs.length >= this.batchSizeFor(group.name, group.limit)) return false;
    // Only the filling batch is held, and the others of the outbox go now: the rest is in Redis.
    if (group.sent - batch.open === 0) return false;
    // Inputs cancelled while they waited stay in the queue until reached: they do not count.
    while (group.waiting.peek()?.settled === true) group.waiting.shift();
    return group.waiting.length > 0;
  }

  private flush(): void {
    if (this.host.closed()) {
      // Given up on Redis (see `Shutdown.abandon`): the cancels of the streams it failed are not
      // sent, and no new connection is made for them.
      this.outbox = [];
      this.cancels = [];
      return;
    }
    const batches: Batch[] = [];
    const held: Batch[] = [];
    for (const batch of this.outbox) {
      if (batch.open > 0 && this.holds(batch)) {
        held.push(batch);
        continue;
      }
      batch.sealed = true;
      if (batch.open > 0) batches.push(batch); // a batch whose inputs were all cancelled is not sent
    }
    this.outbox = held;
    const cancels = this.cancels;
    this.cancels = [];
    if (batches.length === 0 && cancels.length === 0) return;
    const link = this.host.connect();
    if (batches.length > 0) {
      const add = link.ready.then(() => {
        // Before the jobs, on the same connection: a worker never sees a job whose caller looks gone.
        link.keepLive();
        const adds = batches.map(({ id, jobs }) => {
          // A cancelled input is still sent: its batch goes as one job; its outcome is ignored.
          const { name, spec } = jobs[0]!.group;
          const data: JobData = {
            t: name,
            i: jobs.map((job) => job.data),
            r: this.options.replies,
            l: this.options.live,
            a: this.options.attempts,
            o: spec.timeout,
          };
          return { name: data.t, data, opts: { jobId: id, attempts: 1, removeOnComplete: true, removeOnFail: true } };
        });
        // One job alone (a lone value's) is one command; `addBulk` wraps its jobs in a transaction.
        const only = adds.length === 1 ? adds[0]! : undefined;
        const added: Promise<unknown> =
          only === undefined ? link.queue.addBulk(adds) : link.queue.add(only.name, only.data, only.opts);
        return added;
      });
      add.catch((error: unknown) => this.host.lose(batches, this.connectionError(link, error)));
      this.track(add, true);
    }
    if (cancels.length > 0) {
      // After the adds: a cancel must not overtake the job it cancels.
      const after = Promise.all(this.adds);
      this.track(
        after.then(() => link.ready).then(() => this.cancelRemote(link, cancels)),
        false,
      );
    }
  }

  private track(work: Promise<unknown>, isAdd: boolean): void {
    const request = work.then(
      () => {},
      () => {},
    );
    this.requests.add(request);
    if (isAdd) this.adds.add(request);
    void request.then(() => {
      this.requests.delete(request);
      this.adds.delete(request);
    });
  }

  /**
   * A waiting job is removed; one that a worker holds (BullMQ refuses to remove a locked job) is
   * aborted there through the cancel channel, and removed by BullMQ once its processor fails.
   */
  private async cancelRemote(link: Link, ids: string[]): Promise<void> {
    const removed = await Promise.all(ids.map((id) => link.queue.remove(id).catch(() => 0)));
    const held = ids.filter((_, i) => removed[i] !== 1);
    if (held.length > 0) await link.client.publish(this.options.channel, JSON.stringify(held));
  }

  private connectionError(link: Link, error: unknown): Error {
    if (error instanceof RemoteConnectionError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new RemoteConnectionError(`Could not add jobs to queue '${this.options.queue}': ${message}`, {
      cause: error ?? link.lastError,
    });
  }
}
