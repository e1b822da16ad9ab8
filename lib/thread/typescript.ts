/**
 * Loading TypeScript task modules inside a thread, under whichever TypeScript runtime the calling
 * process uses: ts-node's CommonJS hook (`-r ts-node/register`, handed over in `ThreadInit`),
 * ts-node's ES module loader (`--loader ts-node/esm`, inherited through the Node flags), or tsx
 * (`tsx file.ts`, inherited through the Node flags).
 */
import { register as registerHooks } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ThreadInit } from '../wire/thread';

// `import()` written so that the CommonJS build keeps it a real dynamic import.
export const importModule = new Function('specifier', 'return import(specifier)') as (
  specifier: string,
) => Promise<Record<string, unknown>>;

export const typeScriptExtensions = new Set(['.ts', '.cts', '.mts', '.tsx']);

/**
 * tsx's ES module API, if tsx is among this thread's inherited Node flags: `tsx main.ts` passes
 * `--import …/tsx/dist/loader.mjs`; `node --import tsx main.ts` passes the package name.
 */
function tsxEsmApi(): string | undefined {
  const flag = process.execArgv.find((arg) => /(^|[\\/=])tsx([\\/]|$)/.test(arg));
  if (flag === undefined) return undefined;
  const dist = /^(?:file:\/\/)?(.*[\\/]tsx[\\/]dist)[\\/]/.exec(flag)?.[1];
  if (dist !== undefined) return join(dist, 'esm', 'api', 'index.mjs');
  return installedTsx('esm');
}

/**
 * tsx's API (`esm` for import(), `cjs` for require()) as the project installs it, if it does: a
 * thread of a process that runs no TypeScript runtime of its own (a test runner such as jest or
 * vitest, which compile TypeScript in their own way) loads .ts task modules with it.
 */
function installedTsx(api: 'esm' | 'cjs'): string | undefined {
  try {
    return join(
      dirname(require.resolve(`tsx/${api}/api`, { paths: [process.cwd()] })),
      api === 'esm' ? 'index.mjs' : 'index.cjs',
    );
  } catch {
    return undefined;
  }
}

/** True if ts-node's ES module loader came with the inherited Node flags. */
function tsNodeEsmLoader(): boolean {
  return process.execArgv.some((flag) => /ts-node[\\/]esm/.test(flag));
}

export function typeScriptRuntime(tsNode: ThreadInit['tsNode']): string | undefined {
  if (tsxEsmApi() !== undefined) return 'tsx';
  if (tsNodeEsmLoader()) return 'ts-node/esm';
  if (tsNode !== undefined) return 'ts-node';
  if (installedTsx('esm') !== undefined) return 'tsx (installed)';
  return undefined;
}

export class TypeScriptHooks {
  private esmHooks: Promise<void> | undefined;
  private cjsHook = false;

  constructor(private readonly tsNode: ThreadInit['tsNode']) {}

  /** Makes `require` of `path` go through the caller's TypeScript runtime. */
  prepareRequire(path: string): void {
    if (typeScriptExtensions.has(extname(path))) this.registerCjs();
  }

  /**
   * Makes `import()` of `path` go through it too. Only when a TypeScript file is imported: ES module
   * hooks cost a thread start-up time (and, on Node 20, a hooks thread of their own).
   */
  async prepareImport(path: string): Promise<void> {
    if (!typeScriptExtensions.has(extname(path))) return;
    this.registerCjs();
    this.esmHooks ??= this.registerEsm();
    await this.esmHooks;
  }

  private registerCjs(): void {
    if (this.cjsHook) return;
    this.cjsHook = true;
    let tsNode = this.tsNode;
    // Under `--loader ts-node/esm` the calling process has no CommonJS hook to hand over, and the
    // loader covers import() only: CommonJS .ts and .cts modules need ts-node's require() hook too.
    if (tsNode === undefined && tsNodeEsmLoader()) {
      tsNode = { path: require.resolve('ts-node', { paths: [process.cwd()] }), options: { transpileOnly: true } };
    }
    if (tsNode === undefined && tsxEsmApi() === undefined && !tsNodeEsmLoader()) {
      const tsx = installedTsx('cjs');
      if (tsx !== undefined) (require(tsx) as { register(): unknown }).register();
      return;
    }
    if (tsNode === undefined || Symbol.for('ts-node.register.instance') in process) return;
    (require(tsNode.path) as { register(options: unknown): void }).register(tsNode.options);
  }

  private async registerEsm(): Promise<void> {
    const tsx = tsxEsmApi() ?? (this.tsNode === undefined && !tsNodeEsmLoader() ? installedTsx('esm') : undefined);
    if (tsx !== undefined) {
      // tsx's flags give a thread its require() hook, but (Node 20) not its import() hooks.
      const { register } = (await importModule(pathToFileURL(tsx).href)) as unknown as { register(): unknown };
      register();
    } else if (!tsNodeEsmLoader() && this.tsNode !== undefined) {
      // -r ts-node/register covers require(); its ES module loader covers .mts and ES module .ts.
      const esm = join(dirname(this.tsNode.path), '..', 'esm.mjs');
      registerHooks(pathToFileURL(esm).href, pathToFileURL(`${process.cwd()}/`));
    }
  }
}

/** What to do about a TypeScript task module that failed to load, or '' if there is nothing to add. */
export function typeScriptHint(
  path: string,
  asked: string | undefined,
  error: unknown,
  runtime: string | undefined,
): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (runtime === undefined) {
    const named =
      asked === undefined
        ? ''
        : `It was named as ${asked}, which does not exist, so its TypeScript source ${path} was taken, as tsc and tsx resolve names. `;
    return (
      `${named}This process does not run under a TypeScript runtime that threads can use (tsx, ts-node, ` +
      'node --loader ts-node/esm; a test runner such as jest or vitest compiles TypeScript only for itself): ' +
      'install tsx in the project (threads then load .ts task modules with it), run under tsx or ts-node, ' +
      'or build the task module and name the compiled .js file.'
    );
  }
  if (/^(exports|require|module) is not defined/.test(message)) {
    return (
      'It was compiled to CommonJS but Node ran it as an ES module (top-level await or import.meta make it ' +
      'one): name the file .mts, or set "type": "module" in the package.json that covers it.'
    );
  }
  if (/top-level await/i.test(message) || (code === 'ERR_REQUIRE_ASYNC_MODULE' && extname(path) !== '.mts')) {
    return (
      'Top-level await needs an ES module: name the file .mts, or set "type": "module" in the package.json ' +
      'that covers it.'
    );
  }
  if (error instanceof SyntaxError || code === 'ERR_UNKNOWN_FILE_EXTENSION') {
    return `${runtime} could not compile it for the thread: check that its tsconfig.json covers this file.`;
  }
  return '';
}
