/**
 * A benchmark's cases in a process of their own (a `*-child.ts` script), asked one thing at a time
 * over IPC: one library's garbage, collections and threads then do not fall on another's cases.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

// Through ts-node's own entry rather than `-r ts-node/register`: worker threads inherit execArgv,
// and would each load ts-node.
const tsNode = require.resolve('ts-node/dist/bin');

/** What a child answers: anything with a `type`; `{ type: 'error', message }` rejects. */
export interface Reply {
  readonly type: string;
  readonly message?: string;
}

export class ChildCases<R extends Reply> {
  private readonly child: ChildProcess;
  private pending: { resolve(reply: R): void; reject(error: Error): void } | undefined;
  private readonly firstReply: Promise<R>;

  /** Starts `script` (in benchmarks/) with `args`; `name` says whose process it is in errors. */
  constructor(
    private readonly name: string,
    script: string,
    args: readonly string[],
  ) {
    this.child = fork(tsNode, [join(__dirname, script), ...args], {
      cwd: join(__dirname, '..'),
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.firstReply = this.next();
    this.child.on('message', (reply: R) => {
      const pending = this.pending;
      this.pending = undefined;
      if (reply.type === 'error') pending?.reject(new Error(`${name}: ${reply.message}`));
      else pending?.resolve(reply);
    });
    this.child.on('exit', (code) => {
      this.pending?.reject(new Error(`${name}: its process exited (${code})`));
      this.pending = undefined;
    });
  }

  /** The message the child sends once it is ready, of type `type`. */
  async first(type: string): Promise<R> {
    const reply = await this.firstReply;
    if (reply.type !== type) throw new Error(`${this.name}: unexpected ${reply.type}`);
    return reply;
  }

  ask(message: unknown): Promise<R> {
    const reply = this.next();
    this.child.send(message as object);
    return reply;
  }

  /** Asks the child to close its cases and exit; rejects if it exits with a failure. A child already gone is left as it is. */
  async close(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // A child whose channel is gone can no longer be asked: it is ended instead.
    if (child.connected) child.send({ type: 'close' });
    else child.kill();
    const code = await exited;
    if (code !== 0 && code !== null) throw new Error(`${this.name}: its process exited (${code}) on close`);
  }

  private next(): Promise<R> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
  }
}

/** What a child process serves once it has opened its cases (`serveParent`). */
export interface Served<Q> {
  /** The message sent once the cases are open. */
  readonly first: unknown;
  /** The reply to a request, sent once it resolves. */
  answer(request: Q): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The child's side of `ChildCases`: opens its cases, sends `first`, then answers the parent's
 * requests one at a time; `{ type: 'close' }` closes them and exits (with code 1 if closing failed).
 * A failure is sent as `{ type: 'error', message }`; one while opening also ends the process.
 */
export function serveParent<Q>(open: () => Promise<Served<Q>>): void {
  const send = (message: unknown) => process.send!(message);
  const fail = (error: unknown) => send({ type: 'error', message: String(error) });
  open().then(
    ({ first, answer, close }) => {
      process.on('message', (request: Q | { type: 'close' }) => {
        const isClose = (request as { type?: unknown }).type === 'close';
        if (isClose) {
          // Exits either way: the parent's `close` waits for the exit, and reads a failure in its code.
          close().then(
            () => process.exit(0),
            (error: unknown) => {
              console.error(error);
              process.exit(1);
            },
          );
        } else answer(request as Q).then(send, fail);
      });
      send(first);
    },
    (error: unknown) => {
      fail(error);
      process.exit(1);
    },
  );
}
