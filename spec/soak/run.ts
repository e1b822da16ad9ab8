/**
 * `npm run soak`: runs the reliability specs at soak scale and writes docs/reliability.md from
 * the figures they record.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const report = join(mkdtempSync(join(tmpdir(), 'rxthreads-soak-')), 'figures.jsonl');
const started = Date.now();
const mocha = spawnSync(
  process.execPath,
  [
    require.resolve('mocha/bin/mocha.js'),
    '--no-config',
    '-r',
    'ts-node/register',
    '-r',
    './spec/setup.ts',
    '--extension',
    'ts',
    '-t',
    '3600000',
    'spec/reliability/*.spec.ts',
  ],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RXTHREADS_SOAK: '1', RXTHREADS_REPORT: report },
    encoding: 'utf8',
  },
);
process.stdout.write(mocha.stdout);
const passing = Number(/(\d+) passing/.exec(mocha.stdout)?.[1] ?? 0);
const failing = Number(/(\d+) failing/.exec(mocha.stdout)?.[1] ?? 0);
const figures = existsSync(report)
  ? readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { name: string; value: number | string })
  : [];
const faults = figures.filter((f) => f.name.startsWith('fault survived'));
const faultRuns = faults.reduce((sum, f) => sum + Number(f.value), 0);
const lines = [
  '# Reliability',
  '',
  'Produced by `npm run soak`, which runs `spec/reliability/` at soak scale (the same specs run at a',
  'smaller scale in `npm test`). Every figure below was recorded by the run itself.',
  '',
  `- Date: ${new Date().toISOString()}`,
  `- Machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')}`,
  `- Duration: ${Math.round((Date.now() - started) / 1000)} s`,
  `- Specs: ${passing} passing, ${failing} failing`,
  `- Fault kinds tried: ${faults.length}, fault injections in all: ${faultRuns}, each beside 40 healthy tasks`,
  `- Leaks found: ${failing === 0 ? 0 : 'see the failing specs above'}`,
  '',
  '| figure | value |',
  '| --- | --- |',
  ...figures.map((f) => `| ${f.name} | ${f.value} |`),
  '',
  '## What the specs check',
  '',
  '- **exactly-once.spec.ts**: random sources, task durations, concurrency, ordered/unordered, failures and',
  '  unsubscribe moments, through `offloadToThread` and `runOnLoop` (fast-check). Each value yields exactly one',
  '  output until the stream ends, order holds when asked, at most `concurrency` run at once, and after the end',
  '  nothing runs and no value starts.',
  '- **faults.spec.ts**: `process.exit`, an error thrown later from a timer, an unhandled rejection, out of',
  '  memory under `resourceLimits`, an infinite loop and a never-settling task (both cancelled), a throwing task,',
  '  an unclonable result; each fails only its own task with the documented error and the pool heals.',
  '- **leaks.spec.ts**: subscribe/unsubscribe cycles with a task running in a thread each time (`offloadToThread`',
  '  and `runOnLoop`); thread count, process listeners and heap (after GC) return to where they were, and the OS',
  '  thread count (from `/proc/self/status`) returns to its start once the owners are done. `inThread`',
  '  subscriptions unsubscribed mid-stream leave no thread behind.',
  '- **memory.spec.ts**: 1 KiB items from an async generator through `offloadFrom`, which reads the source only',
  '  while fewer than `highWaterMark` (default 4096) values are read and not yet emitted; peak RSS growth is',
  '  sampled every 10 ms.',
  '- **invariants.spec.ts**: random jobs (returning, throwing, spinning past their cancel, killing their thread;',
  '  with moved or copied inputs; cancelled at random moments) on pools of 1 to 3 threads (fast-check). Every job',
  '  settles; a moved input runs at most once and never on a detached buffer; a job nobody cancelled never fails',
  '  with `AbortError`; only a crashing job (or one whose moved input reached the dying thread) fails with',
  '  `WorkerCrashedError`.',
  '- **hardening.spec.ts**: one spec per defect found by hostile use, each first seen failing (table below).',
  '- **replacement.spec.ts**: a thread ended while it holds finished results of tiny, batched tasks (a',
  "  batch-mate's timeout, a cancelled batch-mate past `cancelGraceMs`, out of memory), across streams and",
  '  `run()` callers; each input counts its starts in shared memory: none starts twice, and only the task',
  '  that caused the end gets `TimeoutError` or the crash error.',
  '- **fault-injection.spec.ts**: random concurrent streams and `run()` callers on one pool (fast-check): tiny',
  '  batched inputs (proven tiny, so their results share messages), blocking, sleeping and cooperative tasks,',
  '  throws, `process.exit`, out of memory, moved buffers; random timeouts, signals and `take(n)`. For every',
  '  submission: at most one outcome, exactly one when its stream ran to the end, an error class that fits',
  '  what happened to it, no task started twice, nothing pending, and no OS thread left once the pool is done.',
  '  It prints its seed (`RXTHREADS_SEED` replays it); it fails within a few runs when a finished task is',
  '  re-run.',
  '- **values-per-job.spec.ts**: jobs of several values (a stream of tiny numbers, which a pool sends up to',
  '  256 to a job). Each value gets its own outcome, in order; a thread that dies mid-job fails only the value',
  '  it was running, the values after it run on the new thread and none starts twice (each start is logged to a',
  '  file, across threads); a cancel stops the job before its next value; a value whose task returns a',
  '  generator streams from within the job. The same for `run()` calls sharing jobs, and a call with a signal',
  '  never shares one (its abort must cancel it alone). A fast-check property mixes streams and `run()` callers',
  '  with throws, `process.exit`, out of memory, blocking, asynchronous and streaming values, signals and',
  '  `take(n)` on 1 to 3 threads.',
  '',
  '## The invariants',
  '',
  'Each one is a defect when broken; the specs above try them.',
  '',
  '0. **A task starts at most once per submission.** Every job has one life, owned by one place',
  '   (`lib/engine/job-states.ts`): queued → sent → started → finished → delivered (or cancelled, or failed).',
  "   The thread writes `Started` in the slot's word in shared memory before a task starts and `Finished`",
  '   after it ends, so that knowledge survives `terminate()`; the main thread can take a job back only',
  '   while its word is `Pending`, by compare-and-swap. When a thread is ended (a timeout, a cancel past',
  '   `cancelGraceMs`, out of memory, a crash), its unstarted jobs run elsewhere; its finished jobs deliver',
  '   the results it posted (Node delivers them before the exit event); a started, unfinished job of another',
  '   submission fails with `WorkerCrashedError` whose message says why the thread was ended. Only the task',
  '   that caused the end gets `TimeoutError` or the crash error.',
  '   One case cannot deliver: a result still inside the thread when it is ended. A thread lets finished',
  '   results wait for the next task only while its tasks have proven tiny (they then share one message),',
  '   never before a task with a `timeout`, and sends them before it pauses; a proven-tiny task that then',
  '   blocks its thread and is ended (a cancel past `cancelGraceMs`, out of memory) leaves those results',
  '   behind: they fail with `WorkerCrashedError` ("This task finished, but its result was still in its',
  '   thread when the thread was ended because …"), never re-run.',
  '1. A job that moves buffers (`transfer`) is sent to a thread at most once. It is never handed to a thread',
  '   ahead of time: it waits for an idle thread, so only a crash of the task it runs can lose its input. A job',
  '   whose buffers reached a thread that died fails with `WorkerCrashedError`; it is never re-run on the',
  '   detached, empty buffers. Copied jobs held ahead by a dying thread run elsewhere.',
  '2. A buffer already detached when submitted, or when its batch is sent (one chunk reused for several',
  '   values), fails that job with `SerializationError` (`cause`: the `DataCloneError`). No message is ever',
  '   posted that Node would deliver empty or drop, so no job is left pending.',
  '3. Cancelling a job never harms another: the grace timer of a cancelled job replaces its thread only if that',
  '   very job is still running there (its slot still holds it, in the aborted state), never a later job. The',
  '   thread is halted (a word in shared memory that it checks before it starts a job) while the main thread',
  '   checks, so no other job can start between the check and the end of the thread.',
  '4. A thread that dies before its loop runs is retried after 20, 100 and 500 ms, one thread at a time; then',
  '   the waiting jobs fail with `WorkerCrashedError` ("no thread could start") and nothing respawns until new',
  '   work arrives. `resourceLimits` values outside what Node can start with are a `TypeError` up front.',
  '5. An operator subscribed with an already-closed subscriber never subscribes to its source.',
  '6. A source teardown or iterator `return()` that throws cannot stop cancellation nor escape as an uncaught',
  '   exception; a non-object iterator result is a `TypeError`, as in `for…of`.',
  "7. A cancelled job that will never start lets go of its input at once (and of the caller's callbacks once",
  '   settled). `maxQueue` counts `run()` calls only, those waiting for a thread, as piscina does.',
  '8. `onDone` callbacks run each in a microtask of their own, never inside `onDone`; one that throws is an',
  '   uncaught exception and the others still run. `ready` of a loop closed before it started rejects with',
  '   `ClosedError`.',
  '',
  '## Hostile inputs and faults: what happens',
  '',
  '| case | outcome |',
  '| --- | --- |',
  '| `process.exit`, uncaught error, unhandled rejection, out of memory in a task | that task: `WorkerCrashedError`; thread replaced; others go on |',
  '| infinite loop or never-settling task, cancelled | that task: `AbortError`; thread replaced after `cancelGraceMs` |',
  '| unclonable input / result | that task: `SerializationError`; the thread survives |',
  '| moved inputs queued behind a task that kills its thread | they wait for an idle thread and run once, on their bytes |',
  '| a detached buffer in `transfer` (at submit or at send) | that job: `SerializationError`, at once |',
  '| a cancelled task finishing while the main thread is busy | the next job on that thread is untouched |',
  '| threads that cannot start (`maxOldGenerationSizeMb: 1`, a preload that throws) | runs fail with `WorkerCrashedError` after 3 retries; no respawn loop |',
  '| `resourceLimits.stackSizeMb` below 0.5 or above 1024 | `TypeError` at construction (Node would crash the caller) |',
  "| iterator `return()` that throws | the task's error is delivered; `take(n)` cancels the read-ahead |",
  '| iterator `next()` returning a non-object | the stream errors with `TypeError` |',
  '| `combineLatest` with a source that errors first | the offloaded source is never subscribed |',
  '| 200 cancelled queued runs of 1 MiB | their inputs are collectable at once |',
  '| `maxQueue` with a busy operator subscription | `run()` is not refused because of the operator |',
  '| a throwing `onDone` callback | an uncaught exception; the other callbacks run |',
  '| short tasks handed ahead to a thread stuck in a long task, another thread idle | taken back and run on the idle thread |',
  '| tiny tasks batched with one that times out, is cancelled past its grace, or runs out of memory | finished ones deliver (or fail, never re-run); unstarted ones move |',
  '| `execArgv` flags Node refuses in a thread (`--max-old-space-size=64`) | `TypeError` at construction |',
  '| a thread script missing (an app bundled into one file) | the work fails with `WorkerCrashedError` saying what to do; no uncaught exception |',
  '| 30 tasks and 30 streams sharing one `AbortSignal` | one listener per signal and owner; no warning |',
  '| `take(1)` over an async generator waiting for credit | `return()` runs at once; the thread lives on |',
  '| `terminate()` while a thread runs its `onThreadClose` callbacks | the thread ends at once |',
  '',
];
const target = join(root, 'docs', 'reliability.md');
writeFileSync(target, lines.join('\n'));
// Formatted as `npm test` checks it.
spawnSync(process.execPath, [require.resolve('@biomejs/biome/bin/biome'), 'format', '--write', target], { cwd: root });
console.log(`wrote docs/reliability.md (${passing} passing, ${failing} failing)`);
process.exit(mocha.status ?? 1);
