import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TaskDefinition, ThreadInit } from '../protocol';

type Fn = (input: unknown, ctx: unknown) => unknown;

/** A loaded task: its function, or the error that loading it gave (kept, so each job fails fast). */
export type Loaded =
  | { readonly fn: Fn; readonly error?: undefined }
  | { readonly fn?: undefined; readonly error: Error };

export class LoadError extends Error {
  override readonly name = 'TaskLoadError';
}

// `import()` written so that the CommonJS build keeps it a real dynamic import.
const importModule = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<Record<string, unknown>>;

const typeScriptExtensions = new Set(['.ts', '.cts', '.mts', '.tsx']);

/** Loads and caches tasks by key; a module stays loaded for the life of the thread. */
export class TaskLoader {
  private readonly definitions = new Map<number, TaskDefinition>();
  private readonly loaded = new Map<number, Loaded>();
  private readonly loading = new Map<number, Promise<Loaded>>();
  private tsNodeRegistered = false;

  constructor(private readonly tsNode: ThreadInit['tsNode']) {}

  define(def: TaskDefinition): void {
    this.definitions.set(def.key, def);
  }

  definition(key: number): TaskDefinition | undefined {
    return this.definitions.get(key);
  }

  /** The loaded task if it is ready, so the common path stays synchronous. */
  ready(key: number): Loaded | undefined {
    return this.loaded.get(key);
  }

  load(key: number): Promise<Loaded> {
    let pending = this.loading.get(key);
    if (pending === undefined) {
      pending = this.resolve(key).then(
        (fn): Loaded => ({ fn }),
        (error: unknown): Loaded => ({ error: error instanceof Error ? error : new LoadError(String(error)) }),
      );
      pending.then((loaded) => this.loaded.set(key, loaded));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async resolve(key: number): Promise<Fn> {
    const def = this.definitions.get(key);
    if (def === undefined) throw new LoadError(`Unknown task ${key}`);
    if (def.kind === 'inline') return compileInline(def.source);
    const exports = await this.importFile(def.path);
    let value: unknown;
    if (def.exportName === 'default') {
      value = exports.default ?? exports;
      // A CommonJS module seen through import() has module.exports as `default`; one compiled from
      // TypeScript keeps its own default export one level further down.
      if (
        typeof value === 'object' &&
        value !== null &&
        typeof (value as Record<string, unknown>).default === 'function'
      ) {
        value = (value as Record<string, unknown>).default;
      }
    } else {
      value = exports[def.exportName];
      if (value === undefined && typeof exports.default === 'object' && exports.default !== null) {
        value = (exports.default as Record<string, unknown>)[def.exportName];
      }
    }
    if (value === undefined) {
      throw new LoadError(`Module ${def.path} has no export \`${def.exportName}\``);
    }
    if (typeof value !== 'function') {
      throw new LoadError(
        `Export \`${def.exportName}\` of ${def.path} is not a function, got ${value === null ? 'null' : typeof value}`,
      );
    }
    return value as Fn;
  }

  private async importFile(path: string): Promise<Record<string, unknown>> {
    const ext = extname(path);
    if (typeScriptExtensions.has(ext)) this.registerTsNode(path);
    if (ext === '.mjs' || ext === '.mts') return importModule(pathToFileURL(path).href);
    try {
      return require(path) as Record<string, unknown>;
    } catch (error) {
      // An ES module in a .js file: fall back to import(), which also allows top-level await.
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_ASYNC_MODULE') {
        return importModule(pathToFileURL(path).href);
      }
      throw error;
    }
  }

  private registerTsNode(path: string): void {
    if (this.tsNodeRegistered || this.tsNode === undefined) return;
    if (!(Symbol.for('ts-node.register.instance') in process)) {
      try {
        (require(this.tsNode.path) as { register(options: unknown): void }).register(this.tsNode.options);
      } catch (error) {
        throw new LoadError(`Could not register ts-node in the thread to load ${path}`, { cause: error });
      }
    }
    this.tsNodeRegistered = true;
  }
}

/** Compiles an inline task's source text in this thread's global scope. */
function compileInline(source: string): Fn {
  // The Function constructor compiles in the global scope, so an outer variable is not found here.
  const evaluate = (text: string): unknown => new Function(`return (${text});`)();
  let value: unknown;
  try {
    value = evaluate(source);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A method written in shorthand (`{ square(x) { … } }.square`) has source `square(x) { … }`.
    const holder = evaluate(`{${source}}`) as Record<string, unknown>;
    value = Object.values(holder)[0];
  }
  if (typeof value !== 'function') throw new LoadError('Inline task source did not evaluate to a function');
  return value as Fn;
}
