/**
 * 5. Cancellation: from unsubscribe (or abort) to the task's CPU work actually stopping. The task
 * spins and writes a heartbeat (process.hrtime, one clock for all threads) to shared memory; the
 * CPU stopped at the last heartbeat once none has come for 50 ms.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { of } from 'rxjs';
import { offloadToThread } from 'rxthreads';
import { type Bench, fmt, median, type Section, Unsupported } from './harness';
import { type Fn, openRxthreads, type Peer, piscina, raw, rxTask, threadsJs, workerpoolLib } from './peers';

const graceMs = 100; // ThreadPool's default cancelGraceMs, which the pools here use
const limitMs = 3_000;
const staleMs = 50;

interface Input {
  readonly beat: SharedArrayBuffer;
  readonly stop: SharedArrayBuffer;
  readonly maxMs: number;
}

/** Starts a task on `input`; returns the function that cancels it. */
type Start = (fn: Fn, input: Input) => () => void;

type Outcome = number | Unsupported;

interface Row {
  readonly label: string;
  readonly cooperative: Outcome;
  readonly nonCooperative: Outcome;
  readonly how: string;
}

async function trial(fn: Fn, start: Start): Promise<number | undefined> {
  const input: Input = { beat: new SharedArrayBuffer(8), stop: new SharedArrayBuffer(4), maxMs: limitMs + 3_000 };
  const heartbeat = new BigInt64Array(input.beat);
  const cancel = start(fn, input);
  const waitFrom = process.hrtime.bigint();
  while (Atomics.load(heartbeat, 0) === 0n) {
    if (process.hrtime.bigint() - waitFrom > 10_000_000_000n) throw new Error(`${fn}: the task never started`);
    await sleep(1);
  }
  await sleep(20);
  const cancelledAt = process.hrtime.bigint();
  cancel();
  for (;;) {
    await sleep(2);
    const now = process.hrtime.bigint();
    const last = Atomics.load(heartbeat, 0);
    if (now - last > BigInt(staleMs) * 1_000_000n) return Math.max(0, Number(last - cancelledAt) / 1e6);
    if (now - cancelledAt > BigInt(limitMs) * 1_000_000n) return undefined;
  }
}

async function measure(trials: number, fn: Fn, start: Start, ranOn: string): Promise<Outcome> {
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    const ms = await trial(fn, start);
    if (ms === undefined) return new Unsupported(`${ranOn || 'did not stop'} (ran on ${fmt(limitMs)} ms after)`);
    times.push(ms);
  }
  return median(times);
}

/** Cancel through an AbortSignal handed to the library's run/exec/queue. */
const bySignal =
  (peer: Peer): Start =>
  (fn, input) => {
    const controller = new AbortController();
    peer.call(fn, input, { signal: controller.signal }).catch(() => {});
    return () => controller.abort();
  };

export const cancel: Bench = {
  name: 'cancel',
  title: 'Cancellation: time until the CPU work stops',
  steps: () => 7,
  async run(config, progress) {
    const trials = config.quick ? 2 : 3;
    const rows: Row[] = [];
    const add = (row: Row) => {
      rows.push(row);
      progress.tick(row.label);
    };

    let pool = await openRxthreads(config.threads);
    const unsubscribe: Start = (fn, input) => {
      const subscription = of(input)
        .pipe(offloadToThread(rxTask(fn), { pool }))
        .subscribe({ error: () => {} });
      return () => subscription.unsubscribe();
    };
    add({
      label: 'rxthreads offloadToThread',
      cooperative: await measure(trials, 'burnCooperative', unsubscribe, ''),
      nonCooperative: await measure(trials, 'burn', unsubscribe, ''),
      how: `unsubscribe; ctx.aborted at once, the thread replaced after cancelGraceMs (${graceMs} ms)`,
    });
    await pool.close();
    pool = await openRxthreads(config.threads);
    const rxPeer: Peer = {
      call: (fn, input, options) => pool.run(rxTask(fn), input, options),
      close: () => pool.close(),
    };
    add({
      label: 'rxthreads pool.run',
      cooperative: await measure(trials, 'burnCooperative', bySignal(rxPeer), ''),
      nonCooperative: await measure(trials, 'burn', bySignal(rxPeer), ''),
      how: 'AbortSignal; the same mechanism',
    });
    await pool.close();

    for (const [lib, how] of [
      [piscina, 'AbortSignal; terminates the worker at once'],
      [workerpoolLib, 'cancel(); terminates the worker after 2 × workerTerminateTimeout (1 s)'],
    ] as const) {
      const peer = await lib.open(config.threads);
      add({
        label: lib.name,
        cooperative: new Unsupported('n/a: no signal reaches the task'),
        nonCooperative: await measure(trials, 'burn', bySignal(peer), ''),
        how,
      });
      await peer.close();
    }

    const threads = await threadsJs.open(config.threads);
    const ranOn = 'not supported';
    add({
      label: threadsJs.name,
      cooperative: new Unsupported('n/a: no signal reaches the task'),
      nonCooperative: await measure(1, 'burn', bySignal(threads), ranOn),
      how: 'cancel() only removes a task that has not started',
    });
    await threads.close();

    const rawPeer = await raw.open(config.threads);
    add({
      label: 'raw worker_threads',
      cooperative: await measure(trials, 'burnCooperative', bySignal(rawPeer), ''),
      nonCooperative: await measure(trials, 'burn', bySignal(rawPeer), ''),
      how: 'hand-written: a shared stop flag; worker.terminate()',
    });
    await rawPeer.close();

    add({
      label: 'main thread (sync)',
      cooperative: new Unsupported('not supported'),
      nonCooperative: new Unsupported('not supported'),
      how: 'the loop blocks the code that would cancel it',
    });
    return report(rows);
  },
};

function cell(outcome: Outcome): string {
  return outcome instanceof Unsupported ? outcome.reason : `${fmt(outcome, 1)} ms`;
}

function report(rows: Row[]): Section {
  const ours = rows[0]!.nonCooperative;
  const budget = graceMs + 50;
  return {
    name: 'cancel',
    title: 'Cancellation: time until the CPU work stops',
    notes: [
      `A task spins on one thread; 20 ms after it starts, it is cancelled. Measured: from the cancel call to the task's last heartbeat (median of the trials). "Cooperative" tasks poll the cancel flag they are given; "non-cooperative" ones never look. Each library uses its defaults; rxthreads' cancelGraceMs is ${graceMs} ms.`,
    ],
    tables: [
      {
        head: ['library', 'cooperative', 'non-cooperative', 'how'],
        rows: rows.map((row) => [row.label, cell(row.cooperative), cell(row.nonCooperative), row.how]),
      },
    ],
    targets: [
      {
        label: `a non-cooperative task cancelled through offloadToThread stops within cancelGraceMs + 50 ms = ${budget} ms`,
        met: typeof ours === 'number' ? ours <= budget : false,
        measured: cell(ours),
      },
    ],
  };
}
