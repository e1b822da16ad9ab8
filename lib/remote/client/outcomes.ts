import type { WireError } from '../../wire/errors';
import { decodeReplies, decodeValue, errorOf, RemoteOutcome, type Reply } from '../../wire/remote';
import { describeConnection, type RedisConnection } from '../connection';
import { RemoteConnectionError } from '../errors';
import type { Batch, RemoteGroup } from './group';
import type { Ledger } from './ledger';
import type { Link } from './link';
import type { Sender } from './sender';

/**
 * The outcome path of a remote engine: settles inputs with the outcomes read from its reply list,
 * or fails them when the connection they went over is lost; then sends what waited behind them.
 */
export class Outcomes {
  constructor(
    private readonly connection: RedisConnection,
    private readonly ledger: Ledger,
    private readonly sender: Sender,
    /** Called after inputs settled: the engine, if closing, may have drained. */
    private readonly settled: () => void,
  ) {}

  /** Settles the inputs whose outcomes `replies` holds, serialized as read from the reply list. */
  read(replies: Buffer[]): void {
    for (const bytes of replies) {
      let decoded: Reply[];
      try {
        decoded = decodeReplies(bytes);
      } catch {
        continue; // not ours to read
      }
      for (const reply of decoded) if (Array.isArray(reply)) this.onReply(reply);
    }
  }

  private onReply([id, index, outcome, value, exitCode, ms]: Reply): void {
    const books = this.ledger;
    const job = books.inFlight.get(id)?.jobs[index];
    if (job !== undefined && typeof ms === 'number' && ms >= 0) this.sender.observe(job.group.name, ms);
    if (job === undefined || job.settled) return; // a second run's outcome, or a cancelled input's
    books.forget(job);
    if (outcome === RemoteOutcome.Ok) {
      let result: unknown;
      try {
        result = decodeValue(value as Buffer);
      } catch (error) {
        books.failed++;
        books.settle(job, errorOf(RemoteOutcome.Unclonable, wireOfLocal(error), undefined));
        this.sender.pump(job.group);
        this.settled();
        return;
      }
      books.completed++;
      books.settle(job, undefined, result);
    } else {
      books.failed++;
      books.settle(job, errorOf(outcome, value as WireError, exitCode));
    }
    this.sender.pump(job.group);
    this.settled();
  }

  /** The connection dropped: the jobs in flight may be gone with it, so they fail rather than wait. */
  lost(link: Link): void {
    const where = describeConnection(this.connection);
    const error = new RemoteConnectionError(
      `Lost the connection to Redis at ${where}; the jobs in flight may be lost and were failed`,
      { cause: link.lastError },
    );
    this.lose([...this.ledger.inFlight.values()], error);
  }

  /** Fails the open inputs of `batches` with `error`, and sends the inputs of their groups that wait. */
  lose(batches: Batch[], error: Error): void {
    const groups = new Set<RemoteGroup>();
    for (const batch of batches) {
      for (const job of batch.jobs) {
        if (job.settled) continue;
        this.ledger.forget(job);
        this.ledger.failed++;
        this.ledger.settle(job, error);
        groups.add(job.group);
      }
    }
    for (const group of groups) this.sender.pump(group);
    this.settled();
  }
}

function wireOfLocal(error: unknown): WireError {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack, props: {} };
}
