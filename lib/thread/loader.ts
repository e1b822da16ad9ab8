import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TaskDefinition } from '../task/definition';
import type { ThreadInit } from '../wire/thread';
import { isBareTask } from './bare-task';
import { evaluateInline } from './inline-scope';
import { importModule, TypeScriptHooks, typeScriptExtensions, typeScriptHint, typeScriptRuntime } from './typescript';

type Fn = (input: unknown, ctx: unknown) => unknown;

/**
 * A loaded task: its function, or the error that loading it gave (kept, so each job fails fast).
 * `bare`: its code cannot reach a second argument, so a value may run without a context (`isBareTask`).
 */
export type Loaded =
  | { readonly fn: Fn; readonly bare: boolean; readonly error?: undefined }
  | { readonly fn?: undefined; readonly bare?: undefined; readonly error: Error };

export class LoadError extends Error {
  override readonly name = 'TaskLoadError';
}

/** Loads and caches tasks by key; a module stays loaded for the life of the thread. */
export class TaskLoader {
  private readonly definitions = new Map<number, TaskDefinition>();
  private readonly loaded = new Map<number, Loaded>();
  private readonly loading = new Map<number, Promise<Loaded>>();
  private readonly typeScript: TypeScriptHooks;

  constructor(private readonly tsNode: ThreadInit['tsNode']) {
    this.typeScript = new TypeScriptHooks(tsNode);
  }

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
        (fn): Loaded => ({ fn, bare: isBareTask(fn) }),
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
    if (def.kind === 'named') throw new LoadError(`The task named "${def.name}" runs only on a RemotePool`);
    if (!isUrl(def.path) && !existsSync(def.path)) {
      const named = def.asked === undefined ? '' : ` (named as ${def.asked}, which is not there either)`;
      const from = def.from === undefined ? '' : ` (moduleTask called at ${def.from})`;
      throw new LoadError(`Task module file not found: ${def.path}${named}${from}`);
    }
    const exports = await this.importFile(def.path, def.asked);
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
      throw new LoadError(`Module ${def.path} has no export \`${def.exportName}\`; ${exportList(exports)}`);
    }
    if (typeof value !== 'function') {
      throw new LoadError(
        `Export \`${def.exportName}\` of ${def.path} is not a function, got ${value === null ? 'null' : typeof value}`,
      );
    }
    return value as Fn;
  }

  private async importFile(path: string, asked: string | undefined): Promise<Record<string, unknown>> {
    const ext = extname(path);
    try {
      const importFile = async (): Promise<Record<string, unknown>> => {
        await this.typeScript.prepareImport(path);
        return await importModule(isUrl(path) ? path : pathToFileURL(path).href);
      };
      if (ext === '.mjs' || ext === '.mts' || isUrl(path)) return await importFile();
      this.typeScript.prepareRequire(path);
      try {
        return require(path) as Record<string, unknown>;
      } catch (error) {
        // An ES module in a .js or .ts file: fall back to import(), which also allows top-level await.
        const code = (error as { code?: unknown }).code;
        if (code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_ASYNC_MODULE') return await importFile();
        throw error;
      }
    } catch (error) {
      const typeScript = typeScriptExtensions.has(ext);
      // A syntax error's message does not name its file; a module that throws keeps its own error.
      if (!typeScript && !(error instanceof SyntaxError)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const hint = typeScript ? typeScriptHint(path, asked, error, typeScriptRuntime(this.tsNode)) : '';
      throw new LoadError(`Could not load the task module ${path}: ${message}${hint && `. ${hint}`}`, {
        cause: error,
      });
    }
  }
}

/**
 * A module named by its URL (in a browser, where module tasks are URLs) rather than by a file's
 * path (which on Windows starts with a one-letter drive, never a scheme): it is imported as it is.
 */
function isUrl(path: string): boolean {
  return /^[a-z][a-z\d+.-]+:/i.test(path);
}

/** "its exports are `a`, `b`", as far as they can be seen, for a missing-export error. */
function exportList(exports: Record<string, unknown>): string {
  const names = new Set(Object.keys(exports).filter((name) => name !== '__esModule' && name !== 'module.exports'));
  const inner = exports.default;
  if (typeof inner === 'object' && inner !== null) {
    names.delete('default');
    for (const name of Object.keys(inner)) if (name !== '__esModule') names.add(name);
  }
  if (names.size === 0) return typeof inner === 'function' ? 'it exports only a default function' : 'it has no exports';
  return `its exports are ${[...names].map((name) => `\`${name}\``).join(', ')}`;
}

/** Compiles an inline task's source text in this thread's global scope (plus tool helpers). */
function compileInline(text: string): Fn {
  const named = /\n\/\/# sourceURL=(\S+)$/.exec(text);
  const source = named === null ? text : text.slice(0, named.index);
  const value = evaluateInline(source, named?.[1]);
  if (typeof value !== 'function') throw new LoadError('Inline task source did not evaluate to a function');
  return value as Fn;
}
