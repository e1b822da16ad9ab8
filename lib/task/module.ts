import { existsSync } from 'node:fs';
import { extname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { creationPlace } from '../util/caller-site';
import { optionError } from '../util/options';
import { intern, type Task } from './definition';

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

/**
 * One name that works under ts-node, tsx, test runners and compiled output, as tsc and tsx resolve
 * names: a missing `x.js` is the `x.ts` next to it, and a missing `x.ts` is the compiled `x.js`
 * (likewise .mjs/.mts, .cjs/.cts). `undefined` when no such file exists.
 */
function findModuleFile(path: string): string | undefined {
  if (existsSync(path)) return path;
  const ext = extname(path);
  for (const other of toTypeScript[ext] ?? toJavaScript[ext] ?? []) {
    const alternative = path.slice(0, -ext.length) + other;
    if (existsSync(alternative)) return alternative;
  }
  return undefined;
}
