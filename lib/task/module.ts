import { creationPlace } from '../util/caller-site';
import { optionError } from '../util/options';
import { intern, type Task } from './definition';
import { findModuleFile, modulePathOf } from './module-file';

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
  const task = intern<I, O>(`module\0${path}\0${exportName}`, (key) => ({
    key,
    kind: 'module',
    path,
    exportName,
    // For the thread's errors: the name it was given, and where, when that file is not there.
    ...(found !== undefined && found !== named && { asked: named }),
    ...(found === undefined && { from: creationPlace() }),
  }));
  // Only a file that was found is remembered: one still missing may be written later (a build).
  if (asGiven !== undefined && found !== undefined) byPathGiven.set(asGiven, task as Task<unknown, unknown>);
  return task;
}

// Tasks by the path string and export they were asked for, so that `pool.run(moduleTask(p), x)` in a
// loop looks its file up once, not once per call.
const byPathGiven = new Map<string, Task<unknown, unknown>>();
