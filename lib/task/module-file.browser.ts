/**
 * Where a module task's module is, in a browser (the browser build's `module-file.ts`): a URL,
 * which a module worker imports. An absolute URL (`new URL('./resize.js', import.meta.url)`, which
 * bundlers follow and ship) or a path from the site's root (`/tasks/resize.js`), resolved against
 * the page; a relative path is a `TypeError`, as on Node. Whether the module is there is known
 * only when a thread imports it.
 */
import { optionError } from '../util/options';

const expectedPath = 'an absolute URL, or a path from the root of the site';
const howToResolve = "name a module next to yours with new URL('./task.js', import.meta.url)";

/** The page's URL, which a path from the root of the site is resolved against. */
function base(): string | undefined {
  return (globalThis as { location?: { href?: string } }).location?.href;
}

export function modulePathOf(modulePath: string | URL): string {
  if (modulePath instanceof URL) return modulePath.href;
  if (typeof modulePath !== 'string') throw optionError('modulePath', expectedPath, modulePath);
  const page = base();
  if (/^[a-z][a-z\d+.-]+:/i.test(modulePath) || (modulePath.startsWith('/') && page !== undefined)) {
    try {
      return new URL(modulePath, page).href;
    } catch (error) {
      throw new TypeError(
        `${optionError('modulePath', expectedPath, modulePath).message}: ${(error as Error).message}`,
      );
    }
  }
  throw new TypeError(
    `${optionError('modulePath', expectedPath, modulePath).message}: a relative path would depend on the page's ` +
      `URL; ${howToResolve}`,
  );
}

/** A URL cannot be looked at before it is imported: it is taken as found. */
export function findModuleFile(path: string): string {
  return path;
}
