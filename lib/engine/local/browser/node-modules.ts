/**
 * The rest of what the worker scripts import from Node (`node:fs`, `node:path`, `node:url`,
 * `node:module`, `node:perf_hooks`), for their browser build. They serve module files and
 * TypeScript on Node only: in a browser a module task is a URL, which the loader imports as it is.
 */

/** No file system: a module is a URL, never a file looked for. */
export function existsSync(_path: string): boolean {
  return false;
}

export function extname(path: string): string {
  const name = path.replace(/[?#].*$/, '').slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot);
}

export function dirname(path: string): string {
  return path.slice(0, Math.max(path.lastIndexOf('/'), 0)) || '/';
}

export function join(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/');
}

export function pathToFileURL(path: string): URL {
  return new URL(path, 'file:///');
}

/** Module hooks (TypeScript loaders) exist on Node only. */
export function register(): never {
  throw new Error('Module hooks exist on Node only');
}

export const performance = globalThis.performance;
