/**
 * Where a module task's module is, on Node: an absolute path or a `file:` URL, checked at
 * creation, and the file found as TypeScript names it. The browser build takes
 * `module-file.browser.ts` in its place, where a module is a URL.
 */
import { existsSync } from 'node:fs';
import { extname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionError } from '../util/options';

const expectedPath = 'an absolute path or a file: URL';
const howToResolve =
  "name a file next to yours with require.resolve('./task') (CommonJS), or " +
  "import.meta.resolve('./task.js') or new URL('./task.js', import.meta.url) (ES module)";

export function modulePathOf(modulePath: string | URL): string {
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
export function findModuleFile(path: string): string | undefined {
  if (existsSync(path)) return path;
  const ext = extname(path);
  for (const other of toTypeScript[ext] ?? toJavaScript[ext] ?? []) {
    const alternative = path.slice(0, -ext.length) + other;
    if (existsSync(alternative)) return alternative;
  }
  return undefined;
}
