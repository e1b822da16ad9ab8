import { describeConnection, type RedisConnection } from '../connection';
import { RemoteConnectionError } from '../errors';
import { watchRedis, within } from '../watch';
import type { Ledger } from './ledger';
import type { Link } from './link';
import type { Outcomes } from './outcomes';
import type { Sender } from './sender';

/** What a `Shutdown` asks of its engine. */
export interface ShutdownHost {
  /** True while a close waits for the inputs in flight. */
  closing(): boolean;
  /** The engine's connection now, if any: it may be replaced while a close waits. */
  link(): Link | undefined;
}

/**
 * The close path of a remote engine: while a close waits for the inputs in flight, it checks that
 * Redis still answers and gives up on one that does not; once drained, it sends the last requests
 * and closes the connection. Each wait for Redis lasts at most `closeGraceMs`.
 */
export class Shutdown {
  constructor(
    private readonly options: { readonly connection: RedisConnection; readonly closeGraceMs: number },
    private readonly ledger: Ledger,
    private readonly sender: Sender,
    private readonly outcomes: Outcomes,
    private readonly host: ShutdownHost,
  ) {}

  /**
   * While a close waits for inputs in flight, checks that Redis still answers. Once a PING has gone
   * unanswered for closeGraceMs (Redis down, or hung, or out of reach), the close stops waiting:
   * see `abandon`.
   */
  watchRedis(): Promise<void> {
    return watchRedis(
      this.options.closeGraceMs,
      () => this.host.closing(),
      () => this.host.link(),
      (link) => this.abandon(link),
    );
  }

  /**
   * Sends the last cancels, deletes the engine's keys and closes the connections. A Redis that does
   * not answer is waited for at most closeGraceMs (ioredis would retry each command for over a
   * minute); then the connections are dropped, and the keys expire by themselves.
   */
  async tearDown(): Promise<void> {
    // A flush may still be due this turn (the cancels of the last stream): let it go out first.
    if (this.sender.scheduled) await new Promise((resolve) => setImmediate(resolve));
    const link = this.host.link();
    // Still connecting: no job reached Redis, so no cancel need wait for the connection.
    if (link !== undefined && !link.connected) await link.close();
    const closed = this.sender.answered().then(() => link?.close());
    if (!(await within(closed, this.options.closeGraceMs))) link?.drop();
  }

  /**
   * Gives up on a Redis that does not answer while closing: the connections are dropped and every
   * input left fails with a `RemoteConnectionError` that says how many were abandoned.
   */
  private abandon(link: Link): void {
    const error = this.unreachable(link);
    link.drop();
    for (const group of this.ledger.groups) {
      for (const job of group.waiting.drain()) {
        if (job.settled) continue;
        this.ledger.queued--;
        this.ledger.failed++;
        this.ledger.settle(job, error);
      }
    }
    this.outcomes.lose([...this.ledger.inFlight.values()], error);
  }

  private unreachable(link: Link): Error {
    const where = describeConnection(this.options.connection);
    const ids = [...this.ledger.inFlight.keys()];
    const shown = ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ');
    const queued = this.ledger.queued;
    const notSent = queued > 0 ? ` and ${queued} not yet sent` : '';
    return new RemoteConnectionError(
      `Could not reach Redis at ${where} within closeGraceMs (${this.options.closeGraceMs} ms) while the pool ` +
        `closed: abandoned ${count(this.ledger.sent, 'input')} in flight (BullMQ ${ids.length === 1 ? 'job' : 'jobs'} ` +
        `${shown})${notSent}; a worker may still run them`,
      { cause: link.lastError },
    );
  }
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
