// The build's second step, after tsc: what lets rxthreads be bundled into an app.
// 1. Each worker script (lib/thread/entry.ts, stage-entry.ts) bundled into one self-contained
//    source text, written into dist/lib/engine/local/scripts.js: a bundle of an app carries that
//    module, so its threads can start where the script files are not there.
// 2. An ES module build of the three entries for bundlers (dist/esm, the `module` export
//    condition), in which nothing calls `require` at run time: a bundler's ES module output
//    cannot (esbuild: "Dynamic require of node:fs is not supported"). Where it is bundled, the
//    script files are not there: its threads start from the copy above.
// 3. The browser build (dist/browser, the `browser` export condition): the same sources, where
//    each file that has a `.browser.ts` sibling is built from the sibling (the platform,
//    lib/engine/local/platform.browser.ts, and where a module task's module is,
//    lib/task/module-file.browser.ts), and `SharedArrayBuffer` and `Atomics` are those of
//    lib/engine/local/browser/shared-memory.ts. Its worker scripts are the same files again,
//    with what they use of Node given by lib/engine/local/browser/ (thread-host.mts,
//    node-modules.ts), each bundled into one ES module text that the browser build carries. No
//    `node:` import is left in it: the build fails if one is.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dist = join(root, 'dist');

/** One worker script as a self-contained CommonJS source text (rxjs included, for a stage). */
async function scriptText(entry) {
  const result = await build({
    entryPoints: [join(root, 'lib', 'thread', entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // rxjs's ES module build (its `node` condition names the CommonJS one), so that only what a
    // stage thread uses of it is carried.
    alias: { rxjs: join(root, 'node_modules', 'rxjs', 'dist', 'esm', 'index.js') },
    minifyWhitespace: true,
    keepNames: true,
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

const embedded = { pool: await scriptText('entry.ts'), stage: await scriptText('stage-entry.ts') };
const scripts = join(dist, 'lib', 'engine', 'local', 'scripts.js');
writeFileSync(
  scripts,
  `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.embeddedScripts = ${JSON.stringify(embedded)};\n`,
);

await build({
  entryPoints: ['index.ts', 'worker.ts', 'remote.ts'].map((file) => join(root, file)),
  bundle: true,
  // One copy of the engine, shared by the three entries (a RemotePool and offloadToThread meet).
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: join(dist, 'esm'),
  outExtension: { '.js': '.mjs' },
  packages: 'external',
  logLevel: 'warning',
  plugins: [
    {
      name: 'embedded-scripts',
      setup(esbuild) {
        // The sources' scripts module is empty: the ES module build carries the scripts written above.
        esbuild.onResolve({ filter: /[\\/]scripts$/ }, (args) =>
          args.importer.endsWith(join('lib', 'engine', 'local', 'platform.ts')) ? { path: scripts } : undefined,
        );
      },
    },
  ],
});

// ---- the browser build ----

const browserDir = join(root, 'lib', 'engine', 'local', 'browser');
const sharedMemory = join(browserDir, 'shared-memory.ts');

/**
 * Resolves each relative import of this package's sources to its `.browser.ts` sibling, if it has
 * one; with `threadHost`, Node's modules to the worker's stand-ins, else a `node:` import is an error.
 */
function browserPlatform({ threadHost, scripts }) {
  return {
    name: 'browser-platform',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (!args.importer.startsWith(root) || args.importer.includes('node_modules')) return undefined;
        const sibling = `${join(args.resolveDir, args.path)}.browser.ts`;
        return existsSync(sibling) ? { path: sibling } : undefined;
      });
      esbuild.onResolve({ filter: /^node:/ }, (args) => {
        if (threadHost === undefined) {
          return {
            errors: [
              { text: `${args.path} is imported by ${args.importer}: the browser build imports no node: module` },
            ],
          };
        }
        return { path: args.path === 'node:worker_threads' ? threadHost : join(browserDir, 'node-modules.ts') };
      });
      if (scripts !== undefined) {
        esbuild.onResolve({ filter: /[\\/]browser[\\/]scripts$/ }, () => ({
          path: 'scripts',
          namespace: 'rxthreads-scripts',
        }));
        esbuild.onLoad({ filter: /.*/, namespace: 'rxthreads-scripts' }, () => ({
          contents: `export const browserScripts = ${JSON.stringify(scripts)};`,
          loader: 'js',
        }));
      }
    },
  };
}

/** One worker script for a Web Worker: one self-contained ES module text (rxjs included, for a stage). */
async function browserScript(entry) {
  const threadHost = join(browserDir, 'thread-host.mts');
  const result = await build({
    entryPoints: [join(root, 'lib', 'thread', entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    alias: { rxjs: join(root, 'node_modules', 'rxjs', 'dist', 'esm', 'index.js') },
    inject: [sharedMemory, join(browserDir, 'thread-globals.ts')],
    plugins: [browserPlatform({ threadHost })],
    minifyWhitespace: true,
    keepNames: true,
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

const browserScripts = { pool: await browserScript('entry.ts'), stage: await browserScript('stage-entry.ts') };

await build({
  entryPoints: ['index.ts', 'worker.ts'].map((file) => join(root, file)),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outdir: join(dist, 'browser'),
  outExtension: { '.js': '.mjs' },
  packages: 'external',
  inject: [sharedMemory],
  plugins: [browserPlatform({ scripts: browserScripts })],
  logLevel: 'warning',
});
