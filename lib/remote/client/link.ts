import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { liveTtlMs } from '../../wire/remote';
import { connect, connectTimeoutError, type RedisConnection } from '../connection';
import { RemoteConnectionError } from '../errors';
import { type Answering, within } from '../watch';

export interface LinkOptions {
  readonly connection: RedisConnection;
  readonly connectTimeout: number;
  readonly queue: string;
  readonly prefix: string;
  /** The pool's reply list and live key. */
  readonly replies: string;
  readonly live: string;
}

export interface LinkEvents {
  /** Outcomes read from the reply list, still serialized. */
  replies(replies: Buffer[]): void;
  /** The connection dropped after it had been ready. */
  lost(link: Link): void;
  /** Whether the pool has inputs in flight, whose live key must not expire. */
  busy(): boolean;
}

/** Most outcomes read from the reply list in one command. */
const replyBatch = 1000;

/**
 * A pool's connections to Redis: one for commands (and BullMQ's queue), one blocked on the reply
 * list. `ready` rejects with `RemoteConnectionError` if both are not ready within `connectTimeout`.
 */
export class Link implements Answering {
  readonly client: Redis;
  readonly blocking: Redis;
  readonly queue: Queue;
  readonly ready: Promise<void>;
  alive = true;
  /** Set once both connections were ready: a 'close' after that loses the jobs in flight. */
  connected = false;
  lastError: Error | undefined;
  /** When Redis last confirmed the live key (performance.now()); -Infinity: not since connected. */
  private liveSince = Number.NEGATIVE_INFINITY;
  private renew: NodeJS.Timeout | undefined;
  private giveUp: (error: Error) => void = () => {};
  private stopWaiting: () => void = () => {};

  constructor(
    private readonly options: LinkOptions,
    private readonly events: LinkEvents,
  ) {
    const { connection, connectTimeout } = options;
    this.client = connect(connection, {});
    this.blocking = connect(connection, { maxRetriesPerRequest: null });
    this.queue = new Queue(options.queue, { connection: this.client, prefix: options.prefix });
    this.queue.on('error', () => {}); // its commands' failures reach their callers
    for (const redis of [this.client, this.blocking]) {
      redis.on('error', (error: Error) => {
        this.lastError = error;
      });
      redis.on('close', () => {
        // A Redis that restarted may have lost the key: it is set again before the next jobs.
        this.liveSince = Number.NEGATIVE_INFINITY;
        if (this.alive && this.connected) events.lost(this);
      });
    }
    const readyOf = (redis: Redis): Promise<void> =>
      redis.status === 'ready' ? Promise.resolve() : new Promise((resolve) => redis.once('ready', () => resolve()));
    this.ready = new Promise<void>((resolve, reject) => {
      this.giveUp = reject;
      const timer = setTimeout(
        () => reject(connectTimeoutError(connection, connectTimeout, this.lastError)),
        connectTimeout,
      );
      this.stopWaiting = () => clearTimeout(timer);
      void Promise.all([readyOf(this.client), readyOf(this.blocking)]).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.ready.then(
      () => {
        this.connected = true;
        // Long jobs outlive the live key set with their batch: renew it while anything is in flight.
        this.renew = setInterval(() => {
          if (events.busy()) this.markLive();
        }, liveTtlMs / 3);
        this.renew.unref();
        void this.listen();
      },
      () => void this.close(),
    );
  }

  /** True if Redis answers a PING within `ms`. */
  answers(ms: number): Promise<boolean> {
    return within(this.client.ping(), ms);
  }

  /** Sets the pool's live key, for `liveTtlMs`. */
  markLive(): void {
    const sent = performance.now();
    this.client.set(this.options.live, '1', 'PX', liveTtlMs).then(
      () => {
        this.liveSince = Math.max(this.liveSince, sent);
      },
      () => {},
    );
  }

  /**
   * Before a batch of jobs, on the same connection (so it goes first): sets the live key unless
   * Redis confirmed it less than a third of its life ago (then it lives for at least two thirds of
   * `liveTtlMs` more, and the renewal keeps it while anything is in flight). A job sent right after
   * a previous batch costs no extra command.
   */
  keepLive(): void {
    if (performance.now() - this.liveSince >= liveTtlMs / 3) this.markLive();
  }

  /** Reads outcomes from the pool's reply list for as long as the link lives. */
  private async listen(): Promise<void> {
    while (this.alive) {
      let answer: [Buffer, Buffer[]] | null;
      try {
        answer = await this.blocking.blmpopBuffer(0, 1, this.options.replies, 'LEFT', 'COUNT', replyBatch);
      } catch {
        if (!this.alive) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (answer === null) continue;
      this.events.replies(answer[1]);
      // The next read waits a turn of the event loop: the jobs that these outcomes made room for,
      // sent at the end of this turn, reach Redis first (a lone value's next job is not delayed
      // by this command's write). An outcome pushed meanwhile is read at once.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Closes the connections, deleting the live key and the reply list if they were ever made. */
  async close(): Promise<void> {
    if (!this.alive) return;
    this.stop();
    this.blocking.disconnect();
    await this.queue.close().catch(() => {});
    if (!this.connected) {
      this.client.disconnect();
      return;
    }
    // Without the live key, workers drop the outcomes of this pool's jobs still running.
    await this.client.del(this.options.live, this.options.replies).catch(() => {});
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /**
   * Closes the connections at once, also during a `close()`, and sends nothing more: for a Redis
   * that does not answer. The live key and the reply list, if any, expire by themselves.
   */
  drop(): void {
    if (this.alive) this.stop();
    this.blocking.disconnect();
    this.client.disconnect();
    void this.queue.close().catch(() => {});
  }

  private stop(): void {
    this.alive = false;
    clearInterval(this.renew);
    // Closed while still connecting: nothing reached Redis, and nothing waits for it any longer.
    this.stopWaiting();
    this.giveUp(new RemoteConnectionError('The remote pool closed before it connected to Redis'));
  }
}
