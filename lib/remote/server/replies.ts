import type { Redis } from 'ioredis';
import { encodeReplies, type JobData, type Reply } from '../../wire/remote';

interface ReplyCommand {
  rxthreadsReply(list: string, live: string, ttlMs: number, ...elements: Buffer[]): Promise<number>;
}

/** The outcomes for one caller known in one turn, sent together once it ends. */
interface ReplyPack {
  readonly live: string;
  /** The outcomes, as the elements of the reply list they go in (see `elementBytes`). */
  readonly elements: Reply[][];
  /** Bytes of the values in the last element. */
  bytes: number;
  /** Settles once Redis has them (or refused them). */
  readonly sent: Promise<unknown>;
  done(sent: Promise<unknown>): void;
}

/** Values of one element of a reply list, beyond which the next outcome starts another element. */
const elementBytes = 1 << 20;
/** How long an unread reply list survives its caller. */
const replyTtlMs = 3_600_000;
/**
 * How long a caller whose live key Redis confirmed counts as alive without asking again. Its key
 * outlives a caller that died by `liveTtlMs` (a minute) anyway; a caller that closed deletes it,
 * and this is how much later its jobs still starting here are stopped.
 */
const liveCheckMs = 1_000;
/** Callers remembered before the stale ones are let go of. */
const liveRemembered = 1_024;

/** The result of the `index`th command of a pipeline, as its own promise. */
async function resultOf(results: Promise<[Error | null, unknown][] | null>, index: number): Promise<number> {
  const [error, value] = (await results)?.[index] ?? [new Error('The reply command was not run')];
  if (error) throw error;
  return value as number;
}

/**
 * A task server's outcomes to its callers' reply lists, and what it knows of which callers are
 * alive: each outcome pushed, or a key checked, tells whether its caller's live key still exists.
 */
export class Replies {
  /** Outcomes known this turn and not sent yet, by reply list. */
  #outbox = new Map<string, ReplyPack>();
  /** When Redis last confirmed each caller's live key (performance.now()), by key. */
  readonly #liveSeen = new Map<string, number>();

  /** @param client The command connection, on which the replies go out. */
  constructor(private readonly client: Redis) {
    // One atomic step: a caller that has closed (its live key deleted) gets nothing more on its list.
    client.defineCommand('rxthreadsReply', {
      numberOfKeys: 2,
      lua: `if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
    });
  }

  /**
   * Calls `gone` if the caller of a job is gone (its live key no longer exists). Redis is asked
   * unless the key was confirmed within `liveCheckMs`: the job of a lone value, sent right after
   * the last one's outcome, costs no command of its own.
   */
  checkCaller(data: JobData, gone: () => void): void {
    const seen = this.#liveSeen.get(data.l);
    if (seen !== undefined && performance.now() - seen < liveCheckMs) return;
    const asked = performance.now();
    this.client.exists(data.l).then(
      (live) => {
        if (live === 0) {
          this.#liveSeen.delete(data.l);
          gone();
        } else this.#seen(data.l, asked);
      },
      () => {},
    );
  }

  /**
   * Pushes one outcome onto its caller's reply list, only while that caller's live key exists. The
   * outcomes known in one turn (those of a thread's message, of several jobs) go to each caller in
   * one command, sent once the turn's microtasks have run (no later than one alone would go), and
   * as few elements of the list as `elementBytes` allows: the caller reads each with one decode.
   */
  send(data: JobData, reply: Reply): Promise<unknown> {
    let pack = this.#outbox.get(data.r);
    if (pack === undefined) {
      if (this.#outbox.size === 0) process.nextTick(() => this.#flush());
      let done: (sent: Promise<unknown>) => void = () => {};
      const sent = new Promise<unknown>((resolve) => {
        done = resolve;
      });
      pack = { live: data.l, elements: [[]], bytes: 0, sent, done };
      this.#outbox.set(data.r, pack);
    }
    const value = reply[3];
    const bytes = value instanceof Uint8Array ? value.byteLength : 0;
    if (pack.bytes > 0 && pack.bytes + bytes > elementBytes) {
      pack.elements.push([]);
      pack.bytes = 0;
    }
    pack.elements.at(-1)!.push(reply);
    pack.bytes += bytes;
    return pack.sent;
  }

  #flush(): void {
    const outbox = this.#outbox;
    this.#outbox = new Map();
    const ready: { list: string; live: string; encoded: Buffer[]; done: ReplyPack['done'] }[] = [];
    for (const [list, { live, elements, done }] of outbox) {
      try {
        ready.push({ list, live, encoded: elements.map(encodeReplies), done });
      } catch (error) {
        done(Promise.reject(error)); // their jobs fail, as a refused command would make them
      }
    }
    const asked = performance.now();
    let commands: Promise<number>[];
    if (ready.length > 1) {
      // Several callers' commands go in one pipeline: one write.
      const pipeline = this.client.pipeline();
      for (const { list, live, encoded } of ready) {
        (pipeline as unknown as ReplyCommand).rxthreadsReply(list, live, replyTtlMs, ...encoded);
      }
      const results = pipeline.exec();
      commands = ready.map((_, index) => resultOf(results, index));
    } else {
      const client = this.client as unknown as ReplyCommand;
      commands = ready.map(({ list, live, encoded }) => client.rxthreadsReply(list, live, replyTtlMs, ...encoded));
    }
    for (const [index, { live, done }] of ready.entries()) {
      const command = commands[index]!;
      command.then(
        (pushed) => {
          if (pushed === 1) this.#seen(live, asked);
          else this.#liveSeen.delete(live);
        },
        () => {},
      );
      done(command);
    }
  }

  #seen(live: string, at: number): void {
    const seen = this.#liveSeen;
    if (seen.size >= liveRemembered && !seen.has(live)) {
      const now = performance.now();
      for (const [key, when] of seen) if (now - when >= liveCheckMs) seen.delete(key);
    }
    seen.set(live, Math.max(seen.get(live) ?? at, at));
  }
}
