import { randomBytes } from 'node:crypto';
import type { Engine, GroupHandle, JobHandle, StreamSpecHandle } from '../../engine/port';
import type { Transferable } from '../../task/context';
import type { TaskDefinition } from '../../task/definition';
import { nameOf } from '../../task/named';
import { DoneFuture } from '../../util/done-future';
import { AbortError, ClosedError } from '../../util/errors';
import type { WireError } from '../../wire/errors';
import {
  cancelChannel,
  decodeReply,
  decodeValue,
  encodeValue,
  errorOf,
  type JobData,
  liveKey,
  RemoteOutcome,
  type Reply,
  replyKey,
} from '../../wire/remote';
import { describeConnection, type RedisConnection } from '../connection';
import { RemoteConnectionError } from '../errors';
import { type Batch, RemoteGroup, type RemoteJob } from './group';
import { Link, within } from './link';

export interface RemoteExecutorOptions {
  readonly queue: string;
  readonly connection: RedisConnection;
  readonly prefix: string;
  readonly attempts: number;
  readonly connectTimeout: number;
  /** How long a close waits for a Redis that does not answer (see `watchRedis`). */
  readonly closeGraceMs: number;
  /** Most inputs per BullMQ job; `undefined`: sized from the tasks' durations (see `batchSizeFor`). */
  readonly batchSize: number | undefined;
}

type State = 'open' | 'closing' | 'ended';

/** The work one BullMQ job should carry when inputs are batched (see `batchSizeFor`). */
const jobWorkMs = 10;

/**
 * The engine of a `RemotePool`: each job is a BullMQ job named after its task, whose worker pushes
 * the outcome onto this pool's own reply list; a cancel removes a waiting job or, for one that a
 * worker holds, is published to the queue's cancel channel so that worker aborts its signal.
 */
export class RemoteEngine implements Engine {
  readonly id = randomBytes(6).toString('hex');
  private readonly ended = new DoneFuture();
  readonly done = this.ended.promise;
  private state: State = 'open';
  private link: Link | undefined;
  private seq = 0;
  /** Moving average of the time a worker takes over one input, in ms, by task name. */
  private readonly taskMs = new Map<string, number>();
  /** Batches in Redis or on a worker with inputs not settled, by BullMQ job id. */
  private readonly inFlight = new Map<string, Batch>();
  private sentInputs = 0;
  private readonly groups = new Set<RemoteGroup>();
  private outbox: Batch[] = [];
  private cancels: string[] = [];
  private scheduled = false;
  /** Adds not yet answered by Redis: a cancel waits for them, so that it never overtakes its job. */
  private readonly adds = new Set<Promise<void>>();
  /** Adds and cancels not yet answered: a close waits for them. */
  private readonly requests = new Set<Promise<void>>();
  private readonly replies: string;
  private readonly live: string;
  private readonly channel: string;
  queued = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;

  constructor(readonly options: RemoteExecutorOptions) {
    this.replies = replyKey(options.prefix, options.queue, this.id);
    this.live = liveKey(options.prefix, options.queue, this.id);
    this.channel = cancelChannel(options.prefix, options.queue);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  onDone(callback: () => void): void {
    this.ended.onDone(callback);
  }

  /** A remote pool runs only named tasks: what its workers' `tasks` maps name. */
  checkTask(def: TaskDefinition): void {
    if (def.kind === 'named') return;
    const what = def.kind === 'inline' ? 'an inline task' : `moduleTask(${def.path}, ${def.exportName})`;
    throw new TypeError(
      `Expected \`task\` to be a remoteTask('name'): a RemotePool runs only tasks its workers name, got ${what}`,
    );
  }

  openStream(maxThreads: number, maxInFlight: number, spec: StreamSpecHandle): GroupHandle {
    return new RemoteGroup(Math.min(maxThreads, maxInFlight), spec, nameOf(spec.def) ?? '');
  }

  // `transfer` is accepted and copies: nothing can be moved to another process. A streaming
  // (generator) task does not run remotely (its worker's pool.run refuses it, and that input fails
  // with TaskError), so nothing is ever yielded here.
  feed(groupHandle: GroupHandle, input: unknown, _transfer: readonly Transferable[] | undefined, tag: number): void {
    const group = groupHandle as RemoteGroup;
    const job: RemoteJob = { group, data: '', input, tag, settled: false, batch: undefined };
    let error: Error | undefined;
    if (this.state !== 'open') error = new ClosedError('The remote pool is closed');
    else if (group.name === '') error = new TypeError("Expected a remoteTask('name') on a RemotePool");
    else {
      try {
        // Serialized now, as a local pool clones at submit: a later change to the input is not seen.
        (job as { data: string }).data = encodeValue(input, 'The input').toString('base64');
      } catch (e) {
        error = e as Error;
        this.failed++;
      }
    }
    if (error !== undefined) {
      job.settled = true;
      queueMicrotask(() => group.spec.settle(error, undefined, job));
      return;
    }
    group.waiting.push(job);
    this.groups.add(group);
    this.queued++;
    this.pump(group);
  }

  private cancel(job: RemoteJob, reason?: Error): void {
    if (job.settled) return;
    this.settle(job, reason ?? new AbortError());
    this.cancelled++;
    if (job.batch === undefined) {
      this.queued--; // skipped when its group reaches it
      return;
    }
    // A batch not handed to BullMQ yet is simply not sent once all its inputs are cancelled.
    if (this.forget(job) && job.batch.sealed) {
      this.cancels.push(job.batch.id);
      this.schedule();
    }
    this.pump(job.group);
    this.checkDrained();
  }

  /** Streaming credit: nothing streams remotely (see `feed`). */
  grant(_job: JobHandle, _values: number): void {}

  cancelGroup(groupHandle: GroupHandle, reason?: Error): void {
    const group = groupHandle as RemoteGroup;
    reason ??= new AbortError();
    for (const job of group.waiting.drain()) {
      if (job.settled) continue;
      this.settle(job, reason);
      this.cancelled++;
      this.queued--;
    }
    for (const batch of [...group.batches]) {
      for (const job of batch.jobs) this.cancel(job, reason);
    }
    this.groups.delete(group);
    this.checkDrained();
  }

  close(): Promise<void> {
    const closing = this.state === 'open';
    if (closing) this.state = 'closing';
    this.checkDrained();
    if (closing && this.state === 'closing') void this.watchRedis();
    return this.done;
  }

  terminate(): Promise<void> {
    if (this.state !== 'ended') {
      const terminated = new AbortError('The remote pool was terminated');
      for (const group of [...this.groups]) this.cancelGroup(group, terminated);
      if (this.state === 'open') this.state = 'closing';
    }
    this.checkDrained();
    return this.done;
  }

  stats(): { queued: number; inFlight: number; completed: number; failed: number; cancelled: number } {
    return {
      queued: this.queued,
      inFlight: this.sentInputs,
      completed: this.completed,
      failed: this.failed,
      cancelled: this.cancelled,
    };
  }

  // ---- internals ----

  private settle(job: RemoteJob, error: Error | undefined, value?: unknown): void {
    job.settled = true;
    job.group.spec.settle(error, value, job);
    // Let go of the input and its serialized form once its outcome is out (the stream read it).
    job.input = undefined;
    (job as { data: string }).data = '';
  }

  /**
   * Takes a sent input out of the books (it settled, was cancelled, or was lost); true when that
   * was the last open input of its batch, whose BullMQ job is then of no more use.
   */
  private forget(job: RemoteJob): boolean {
    const batch = job.batch!;
    job.group.sent--;
    this.sentInputs--;
    if (--batch.open > 0) return false;
    this.inFlight.delete(batch.id);
    job.group.batches.delete(batch);
    return true;
  }

  /** Sends the group's next inputs, in batches, while it has fewer than `limit` in Redis. */
  private pump(group: RemoteGroup): void {
    const batchSize = this.batchSizeFor(group.name, group.limit);
    while (group.sent < group.limit) {
      const job = group.waiting.shift();
      if (job === undefined) break;
      if (job.settled) continue;
      let batch = group.filling;
      if (batch === undefined || batch.sealed || batch.jobs.length >= batchSize) {
        batch = { id: `${this.id}-${this.seq++}`, jobs: [], open: 0, sealed: false };
        group.filling = batch;
        group.batches.add(batch);
        this.inFlight.set(batch.id, batch);
        this.outbox.push(batch);
      }
      this.queued--;
      job.batch = batch;
      batch.jobs.push(job);
      batch.open++;
      group.sent++;
      this.sentInputs++;
    }
    if (group.idle) this.groups.delete(group);
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
    if (this.state === 'ended' && this.link?.alive !== true) {
      // Given up on Redis (see `abandon`): the cancels of the streams it failed are not sent, and
      // no new connection is made for them.
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
    const link = this.ensureLink();
    if (batches.length > 0) {
      const add = link.ready.then(() => {
        // Before the jobs, on the same connection: a worker never sees a job whose caller looks gone.
        link.markLive();
        return link.queue.addBulk(
          batches.map(({ id, jobs }) => {
            // A cancelled input is still sent: its batch goes as one job; its outcome is ignored.
            const { name, spec } = jobs[0]!.group;
            const data: JobData = {
              t: name,
              i: jobs.map((job) => job.data),
              r: this.replies,
              l: this.live,
              a: this.options.attempts,
              o: spec.timeout,
            };
            return { name: data.t, data, opts: { jobId: id, attempts: 1, removeOnComplete: true, removeOnFail: true } };
          }),
        );
      });
      add.catch((error: unknown) => this.lose(batches, this.connectionError(link, error)));
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
    if (held.length > 0) await link.client.publish(this.channel, JSON.stringify(held));
  }

  private ensureLink(): Link {
    if (this.link?.alive) return this.link;
    const { connection, connectTimeout, queue, prefix } = this.options;
    const link = new Link(
      { connection, connectTimeout, queue, prefix, replies: this.replies, live: this.live },
      {
        replies: (replies) => {
          for (const bytes of replies) {
            let reply: Reply;
            try {
              reply = decodeReply(bytes);
            } catch {
              continue; // not ours to read
            }
            this.onReply(reply);
          }
        },
        lost: (lost) => this.lost(lost),
        busy: () => this.sentInputs > 0,
      },
    );
    link.ready.catch(() => {
      if (this.link === link) this.link = undefined;
    });
    this.link = link;
    return link;
  }

  private onReply([id, index, outcome, value, exitCode, ms]: Reply): void {
    const job = this.inFlight.get(id)?.jobs[index];
    if (job !== undefined && typeof ms === 'number' && ms >= 0) {
      const average = this.taskMs.get(job.group.name);
      this.taskMs.set(job.group.name, average === undefined ? ms : average * 0.9 + ms * 0.1);
    }
    if (job === undefined || job.settled) return; // a second run's outcome, or a cancelled input's
    this.forget(job);
    if (outcome === RemoteOutcome.Ok) {
      let result: unknown;
      try {
        result = decodeValue(value as Buffer);
      } catch (error) {
        this.failed++;
        this.settle(job, errorOf(RemoteOutcome.Unclonable, wireOfLocal(error), undefined));
        this.pump(job.group);
        this.checkDrained();
        return;
      }
      this.completed++;
      this.settle(job, undefined, result);
    } else {
      this.failed++;
      this.settle(job, errorOf(outcome, value as WireError, exitCode));
    }
    this.pump(job.group);
    this.checkDrained();
  }

  /** The connection dropped: the jobs in flight may be gone with it, so they fail rather than wait. */
  private lost(link: Link): void {
    const where = describeConnection(this.options.connection);
    const error = new RemoteConnectionError(
      `Lost the connection to Redis at ${where}; the jobs in flight may be lost and were failed`,
      { cause: link.lastError },
    );
    this.lose([...this.inFlight.values()], error);
  }

  private lose(batches: Batch[], error: Error): void {
    const groups = new Set<RemoteGroup>();
    for (const batch of batches) {
      for (const job of batch.jobs) {
        if (job.settled) continue;
        this.forget(job);
        this.failed++;
        this.settle(job, error);
        groups.add(job.group);
      }
    }
    for (const group of groups) this.pump(group);
    this.checkDrained();
  }

  private connectionError(link: Link, error: unknown): Error {
    if (error instanceof RemoteConnectionError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new RemoteConnectionError(`Could not add jobs to queue '${this.options.queue}': ${message}`, {
      cause: error ?? link.lastError,
    });
  }

  private checkDrained(): void {
    if (this.state !== 'closing' || this.queued > 0 || this.sentInputs > 0) return;
    this.state = 'ended';
    void this.tearDown().then(() => this.ended.resolve());
  }

  /**
   * Sends the last cancels, deletes this pool's keys and closes the connections. A Redis that does
   * not answer is waited for at most closeGraceMs (ioredis would retry each command for over a
   * minute); then the connections are dropped, and the keys expire by themselves.
   */
  private async tearDown(): Promise<void> {
    // A flush may still be due this turn (the cancels of the last stream): let it go out first.
    if (this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    const link = this.link;
    // Still connecting: no job reached Redis, so no cancel need wait for the connection.
    if (link !== undefined && !link.connected) await link.close();
    const closed = Promise.all(this.requests).then(() => link?.close());
    if (!(await within(closed, this.options.closeGraceMs))) link?.drop();
  }

  /**
   * While a close waits for inputs in flight, checks that Redis still answers. Once a PING has gone
   * unanswered for closeGraceMs (Redis down, or hung, or out of reach), the close stops waiting:
   * see `abandon`.
   */
  private async watchRedis(): Promise<void> {
    const graceMs = this.options.closeGraceMs;
    // Between checks; a timer waits at most 2^31 - 1 ms.
    const pauseMs = Math.max(10, Math.min(graceMs / 2, 2 ** 30));
    while (this.state === 'closing') {
      const link = this.link;
      if (link === undefined || (await link.answers(graceMs))) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs).unref());
      } else if (this.state === 'closing' && this.link === link) {
        // Checked again after the wait: the inputs may have settled meanwhile, or this link failed
        // to connect and was replaced (then the next turn watches the new one).
        this.abandon(link);
        return;
      }
    }
  }

  /**
   * Gives up on a Redis that does not answer while closing: the connections are dropped and every
   * input left fails with a `RemoteConnectionError` that says how many were abandoned.
   */
  private abandon(link: Link): void {
    const error = this.unreachable(link);
    link.drop();
    for (const group of this.groups) {
      for (const job of group.waiting.drain()) {
        if (job.settled) continue;
        this.queued--;
        this.failed++;
        this.settle(job, error);
      }
    }
    this.lose([...this.inFlight.values()], error);
  }

  private unreachable(link: Link): Error {
    const where = describeConnection(this.options.connection);
    const ids = [...this.inFlight.keys()];
    const shown = ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ');
    const notSent = this.queued > 0 ? ` and ${this.queued} not yet sent` : '';
    return new RemoteConnectionError(
      `Could not reach Redis at ${where} within closeGraceMs (${this.options.closeGraceMs} ms) while the pool ` +
        `closed: abandoned ${count(this.sentInputs, 'input')} in flight (BullMQ ${ids.length === 1 ? 'job' : 'jobs'} ` +
        `${shown})${notSent}; a worker may still run them`,
      { cause: link.lastError },
    );
  }
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function wireOfLocal(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack, props: {} };
}
