import { existsSync } from 'node:fs';
import { extname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { creationPlace } from '../util/caller-site';
import { optionError } from '../util/options';
import type { TaskDefinition } from '../wire/protocol';
import type { TaskContext } from './context';

/**
 * A function that runs inside a thread: `fn(input, ctx)`, returning a value or a promise.
 *
 * @example
 * ```ts
 * const double: TaskFunction<number, number> = (x) => x * 2;
 * ```
 */
export type TaskFunction<I, O> = (input: I, ctx: TaskContext) => O | Promise<O>;

/**
 * What an operator emits for a task whose function returns `O`: each yielded value for a streaming
 * task (a generator or async generator function), the value itself otherwise.
 *
 * @example
 * ```ts
 * type Lines = Emitted<AsyncGenerator<string>>; // string
 * type Size = Emitted<number>; // number
 * ```
 */
export type Emitted<O> =
  O extends Generator<infer Y, unknown, never> ? Y : O extends AsyncGenerator<infer Y, unknown, never> ? Y : O;

const definition = Symbol('rxthreads.task');

/**
 * Names work that a thread can run: made by {@link moduleTask} or {@link inlineTask}.
 *
 * @example
 * ```ts
 * const hash: Task<Buffer, string> = moduleTask(require.resolve('./hash'), 'sha256');
 * ```
 */
export interface Task<I, O> {
  readonly [definition]: TaskDefinition;
  /** Carries the input and output types; never set. */
  readonly __types?: (input: I) => O;
}

/**
 * A {@link Task}, or a plain self-contained function that is treated as `inlineTask(fn)`.
 *
 * @example
 * ```ts
 * const either: TaskLike<number, number> = Math.random() > 0.5 ? (x) => x + 1 : moduleTask('/abs/inc.js');
 * ```
 */
export type TaskLike<I, O> = Task<I, O> | TaskFunction<I, O>;

// One key per distinct definition, so a thread compiles or loads each task once and a batch
// names its task by a number rather than by source text.
let nextKey = 1;
const byIdentity = new Map<string, Task<unknown, unknown>>();
const byFunction = new WeakMap<Function, Task<unknown, unknown>>();

function intern<I, O>(identity: string, make: (key: number) => TaskDefinition): Task<I, O> {
  let task = byIdentity.get(identity);
  if (task === undefined) {
    task = Object.freeze({ [definition]: make(nextKey++) });
    byIdentity.set(identity, task as Task<unknown, unknown>);
  }
  return task as Task<I, O>;
}

/**
 * A task that calls a function exported by a module (CommonJS or ES module: .js .cjs .mjs, or
 * .ts when this process runs under ts-node or tsx). The module is loaded once per thread and
 * stays loaded, so its top-level state lives as long as the thread.
 *
 * Name the compiled file (`x.js`, `x.mjs`, `x.cjs`): under ts-node or tsx, a missing one is the
 * TypeScript file next to it (`x.ts`, `x.mts`, `x.cts`), as `import './x.js'` is in TypeScript; a
 * missing `x.ts` is likewise the compiled `x.js`. So one name works under ts-node, tsx and tsc output.
 *
 * @param modulePath An absolute path or a `file:` URL; a relative path is a `TypeError`.
 * @param exportName The export to call. @default "default"
 * @example
 * ```ts
 * const resize = moduleTask<Buffer, Buffer>(new URL('./resize.mjs', import.meta.url), 'resize');
 * ```
 */
export function moduleTask<I, O>(modulePath: string | URL, exportName = 'default'): Task<I, O> {
  const asGiven = typeof modulePath === 'string' ? `${modulePath}\0${exportName}` : undefined;
  const known = asGiven === undefined ? undefined : byPathGiven.get(asGiven);
  if (known !== undefined) return known as Task<I, O>;
  const named = modulePathOf(modulePath);
  const found = findModuleFile(named);
  const path = found ?? named;
  if (typeof exportName !== 'string' || exportName === '') {
    throw optionError('exportName', 'a non-empty string', exportName);
  }
  const task = intern<I, O>(`module\0${path}\0${exportName}`, (key) => ({ key, kind: 'module', path, exportName }));
  // Only a file that was found is remembered: one still missing may be written later (a build).
  if (asGiven !== undefined && found !== undefined) byPathGiven.set(asGiven, task as Task<unknown, unknown>);
  return task;
}

// Tasks by the path string and export they were asked for, so that `pool.run(moduleTask(p), x)` in a
// loop looks its file up once, not once per call.
const byPathGiven = new Map<string, Task<unknown, unknown>>();

const expectedPath = 'an absolute path or a file: URL';
const howToResolve =
  "name a file next to yours with require.resolve('./task') (CommonJS), or " +
  "import.meta.resolve('./task.js') or new URL('./task.js', import.meta.url) (ES module)";

function modulePathOf(modulePath: string | URL): string {
  if (modulePath instanceof URL) {
    if (modulePath.protocol !== 'file:') throw optionError('modulePath', expectedPath, modulePath.href);
    return fileURLToPath(modulePath);
  }
  if (typeof modulePath !== 'string') throw optionError('modulePath', expectedPath, modulePath);
  if (isAbsolute(modulePath)) return modulePath;
  if (/^file:/i.test(modulePath)) {
    if (!/^file:\/\//i.test(modulePath)) {
      throw new TypeError(
        `${optionError('modulePath', expectedPath, modulePath).message}: a file: URL must be absolute (file:///…); ${howToResolve}`,
      );
    }
    try {
      return fileURLToPath(modulePath);
    } catch (error) {
      throw new TypeError(
        `${optionError('modulePath', expectedPath, modulePath).message}: ${(error as Error).message}`,
      );
    }
  }
  if (/^[a-z][a-z\d+.-]+:/i.test(modulePath)) throw optionError('modulePath', expectedPath, modulePath);
  throw new TypeError(
    `${optionError('modulePath', expectedPath, modulePath).message}: a relative path would depend on the ` +
      `working directory; ${howToResolve}`,
  );
}

// The names TypeScript itself maps between: `import './x.js'` finds x.ts, and tsc turns x.ts into x.js.
const toTypeScript: Record<string, readonly string[]> = { '.js': ['.ts', '.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'] };
const toJavaScript: Record<string, readonly string[]> = {
  '.ts': ['.js'],
  '.tsx': ['.js'],
  '.mts': ['.mjs'],
  '.cts': ['.cjs'],
};

/** True if this process can load TypeScript: ts-node, tsx, or a TypeScript ES module loader. */
function typeScriptRuntime(): boolean {
  return (
    typeof require.extensions['.ts'] === 'function' ||
    process.execArgv.some((flag) => /ts-node[\\/]esm|[\\/]tsx[\\/]dist[\\/]/.test(flag))
  );
}

/**
 * One name that works under ts-node, tsx and compiled output: a missing `x.js` is `x.ts` when this
 * process runs TypeScript, and a missing `x.ts` is the compiled `x.js` (likewise .mjs/.mts, .cjs/.cts).
 * `undefined` when no such file exists (the task then names the path as given).
 */
function findModuleFile(path: string): string | undefined {
  if (existsSync(path)) return path;
  const ext = extname(path);
  const candidates = typeScriptRuntime() ? (toTypeScript[ext] ?? toJavaScript[ext]) : toJavaScript[ext];
  for (const other of candidates ?? []) {
    const alternative = path.slice(0, -ext.length) + other;
    if (existsSync(alternative)) return alternative;
  }
  return undefined;
}

/**
 * A task from a self-contained function, sent to the thread as source text. It may use its
 * parameters and globals only: one that reads an outer variable fails with a `TaskError` that
 * names the missing identifier.
 *
 * @example
 * ```ts
 * const square = inlineTask((x: number) => x * x);
 * ```
 */
export function inlineTask<I, O>(fn: TaskFunction<I, O>): Task<I, O> {
  if (typeof fn !== 'function') throw optionError('task', 'a function', fn);
  const known = byFunction.get(fn);
  if (known !== undefined) return known as Task<I, O>;
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `Expected \`task\` to be a function with source text, got native or bound function \`${fn.name}\``,
    );
  }
  if (/^class[\s{]/.test(source)) {
    throw optionError('task', 'a function, not a class', fn.name);
  }
  const task = intern<I, O>(`inline\0${source}`, (key) => {
    // Named after where it was created, so that stack frames inside the thread say where it came from.
    const place = creationPlace();
    return {
      key,
      kind: 'inline',
      source: place === undefined ? source : `${source}\n//# sourceURL=inline-task(${place})`,
    };
  });
  byFunction.set(fn, task as Task<unknown, unknown>);
  return task;
}

/** Accepts a task or a plain function, as every public API does. */
export function toTask<I, O>(task: TaskLike<I, O>): Task<I, O> {
  if (typeof task === 'function') return inlineTask(task);
  if (typeof task === 'object' && task !== null && definition in task) return task;
  throw optionError('task', 'a Task or a function', task);
}

export function definitionOf<I, O>(task: Task<I, O>): TaskDefinition {
  return task[definition];
}
