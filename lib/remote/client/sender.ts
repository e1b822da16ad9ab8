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
 * together, each batch as one BullMQ job.
 */
export class Sender {
  private seq = 0;
  /** Moving average of the time a worker takes over one input, in ms, by task name. */
  private readonly taskMs = new Map<string, number>();
  private outbox: Batch[] = [];
  private cancels: string[] = [];
  /** A flush is due this turn of the event loop. */
  scheduled = false;
  /** Adds not yet answered by Redis: a cancel waits for them, so that it never overtakes its job. */
  private readonly adds = new Set<Promise<void>>();
  /** Adds and cancels not yet answered: a close waits for them. */
  private readonly requests = new Set<Promise<void>>();

  constructor(
    private readonly options: SenderOptions,
    private readonly ledger: Ledger,
    private readonly host: SenderHost,
  ) {}

  /** Takes a worker's time over one input of task `name`, in ms, into that task's average. */
  observe(name: string, ms: number): void {
    const average = this.taskMs.get(name);
    this.taskMs.set(name, average === undefined ? ms : average * 0.9 + ms * 0.1);
  }

  /** Removes or aborts the BullMQ job of a sealed batch that no input needs any more, with the next flush. */
  cancel(batch: Batch): void {
    this.cancels.push(batch.id);
    this.schedule();
  }

  /** Resolves once the adds and cancels sent so far are answered or failed. */
  answered(): Promise<unknown> {
    return Promise.all(this.requests);
  }

  /** Sends the group's next inputs, in batches, while it has fewer than `limit` in Redis. */
  pump(group: RemoteGroup): void {
    const batchSize = this.batchSizeFor(group.name, group.limit);
    while (group.sent < group.limit) {
      const job = group.waiting.shift();
      if (job === undefined) break;
      if (job.settled) continue;
      let batch = group.filling;
      if (batch === undefined || batch.sealed || batch.jobs.length >= batchSize) {
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
    if (this.outbox.length > 0) this.schedule();
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
    const ms = this.taskMs.get(name);
    if (ms === undefined) return 1;
    const most = Math.max(1, Math.min(64, Math.floor(limit / 8)));
    return Math.min(most, Math.max(1, Math.floor(jobWorkMs / Math.max(ms, 1e-3))));
  }

  /** One flush per turn of the event loop: the jobs of a burst go to Redis in one `addBulk`. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.host.closed()) {
      // Given up on Redis (see `Shutdown.abandon`): the cancels of the streams it failed are not
      // sent, and no new connection is made for them.
      this.outbox = [];
      this.cancels = [];
      return;
    }
    for (const batch of this.outbox) batch.sealed = true;
    const batches = this.outbox.filter((batch) => batch.open > 0);
    this.outbox = [];
    const cancels = this.cancels;
    this.cancels = [];
    if (batches.length === 0 && cancels.length === 0) return;
    const link = this.host.connect();
    if (batches.length > 0) {
      const add = link.ready.then(() => {
        // Before the jobs, on the same connection: a worker never sees a job whose caller looks gone.
        link.keepLive();
        return link.queue.addBulk(
          batches.map(({ id, jobs }) => {
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
          }),
        );
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
