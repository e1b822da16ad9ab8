import { randomBytes } from 'node:crypto';
import type { Engine, GroupHandle, JobHandle, StreamSpecHandle } from '../../engine/port';
import type { Transferable } from '../../task/context';
import type { TaskDefinition } from '../../task/definition';
import { nameOf } from '../../task/named';
import { DoneFuture } from '../../util/done-future';
import { AbortError, ClosedError } from '../../util/errors';
import { cancelChannel, encodeValue, liveKey, replyKey } from '../../wire/remote';
import type { RedisConnection } from '../connection';
import { RemoteGroup, type RemoteJob } from './group';
import { Ledger } from './ledger';
import { Link } from './link';
import { Outcomes } from './outcomes';
import { Sender } from './sender';
import { Shutdown } from './shutdown';

/** What a `RemoteEngine` runs with: a `RemotePool`'s options, defaults filled in. */
export interface RemoteExecutorOptions {
  readonly queue: string;
  readonly connection: RedisConnection;
  readonly prefix: string;
  readonly attempts: number;
  readonly connectTimeout: number;
  /** How long a close waits for a Redis that does not answer (see `Shutdown.watchRedis`). */
  readonly closeGraceMs: number;
  /** Most inputs per BullMQ job; `undefined`: sized from the tasks' durations (see `Sender`). */
  readonly batchSize: number | undefined;
}

type State = 'open' | 'closing' | 'ended';

/**
 * The engine of a `RemotePool`: each job is a BullMQ job named after its task, whose worker pushes
 * the outcome onto this pool's own reply list; a cancel removes a waiting job or, for one that a
 * worker holds, is published to the queue's cancel channel so that worker aborts its signal. Its
 * parts: a `Ledger` keeps the inputs' books, a `Sender` sends them, `Outcomes` settles them, and a
 * `Shutdown` closes the engine.
 */
export class RemoteEngine implements Engine {
  readonly id = randomBytes(6).toString('hex');
  private readonly ended = new DoneFuture();
  readonly done = this.ended.promise;
  private state: State = 'open';
  private link: Link | undefined;
  private readonly ledger = new Ledger();
  private readonly sender: Sender;
  private readonly outcomes: Outcomes;
  private readonly shutdown: Shutdown;
  private readonly replies: string;
  private readonly live: string;

  constructor(readonly options: RemoteExecutorOptions) {
    this.replies = replyKey(options.prefix, options.queue, this.id);
    this.live = liveKey(options.prefix, options.queue, this.id);
    const channel = cancelChannel(options.prefix, options.queue);
    this.sender = new Sender(
      { ...options, id: this.id, replies: this.replies, live: this.live, channel },
      this.ledger,
      {
        closed: () => this.state === 'ended' && this.link?.alive !== true,
        connect: () => this.ensureLink(),
        lose: (batches, error) => this.outcomes.lose(batches, error),
      },
    );
    this.outcomes = new Outcomes(options.connection, this.ledger, this.sender, () => this.checkDrained());
    this.shutdown = new Shutdown(options, this.ledger, this.sender, this.outcomes, {
      closing: () => this.state === 'closing',
      link: () => this.link,
    });
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
        this.ledger.failed++;
      }
    }
    if (error !== undefined) {
      job.settled = true;
      queueMicrotask(() => group.spec.settle(error, undefined, job));
      return;
    }
    group.waiting.push(job);
    this.ledger.groups.add(group);
    this.ledger.queued++;
    this.sender.pump(group);
  }

  private cancel(job: RemoteJob, reason?: Error): void {
    if (job.settled) return;
    this.ledger.settle(job, reason ?? new AbortError());
    this.ledger.cancelled++;
    if (job.batch === undefined) {
      this.ledger.queued--; // skipped when its group reaches it
      return;
    }
    // A batch not handed to BullMQ yet is simply not sent once all its inputs are cancelled.
    if (this.ledger.forget(job) && job.batch.sealed) this.sender.cancel(job.batch);
    this.sender.pump(job.group);
    this.checkDrained();
  }

  /** Streaming credit: nothing streams remotely (see `feed`). */
  grant(_job: JobHandle, _values: number): void {}

  cancelGroup(groupHandle: GroupHandle, reason?: Error): void {
    const group = groupHandle as RemoteGroup;
    reason ??= new AbortError();
    for (const job of group.waiting.drain()) {
      if (job.settled) continue;
      this.ledger.settle(job, reason);
      this.ledger.cancelled++;
      this.ledger.queued--;
    }
    for (const batch of [...group.batches]) {
      for (const job of batch.jobs) this.cancel(job, reason);
    }
    this.ledger.groups.delete(group);
    this.checkDrained();
  }

  close(): Promise<void> {
    const closing = this.state === 'open';
    if (closing) this.state = 'closing';
    this.checkDrained();
    if (closing && this.state === 'closing') void this.shutdown.watchRedis();
    return this.done;
  }

  terminate(): Promise<void> {
    if (this.state !== 'ended') {
      const terminated = new AbortError('The remote pool was terminated');
      for (const group of [...this.ledger.groups]) this.cancelGroup(group, terminated);
      if (this.state === 'open') this.state = 'closing';
    }
    this.checkDrained();
    return this.done;
  }

  stats(): { queued: number; inFlight: number; completed: number; failed: number; cancelled: number } {
    return this.ledger.stats();
  }

  private ensureLink(): Link {
    if (this.link?.alive) return this.link;
    const { connection, connectTimeout, queue, prefix } = this.options;
    const link = new Link(
      { connection, connectTimeout, queue, prefix, replies: this.replies, live: this.live },
      {
        replies: (replies) => this.outcomes.read(replies),
        lost: (lost) => this.outcomes.lost(lost),
        busy: () => this.ledger.sent > 0,
      },
    );
    link.ready.catch(() => {
      if (this.link === link) this.link = undefined;
    });
    this.link = link;
    return link;
  }

  /** Once a close has nothing left waiting or in flight, ends: tears down, then resolves `done`. */
  private checkDrained(): void {
    if (this.state !== 'closing' || this.ledger.queued > 0 || this.ledger.sent > 0) return;
    this.state = 'ended';
    void this.shutdown.tearDown().then(() => this.ended.resolve());
  }
}
