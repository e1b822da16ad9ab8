// The build's second step, after tsc: what lets rxthreads be bundled into an app.
// 1. Each worker script (lib/thread/entry.ts, stage-entry.ts) bundled into one self-contained
//    source text, written into dist/lib/engine/local/scripts.js: a bundle of an app carries that
//    module, so its threads can start where the script files are not there.
// 2. An ES module build of the three entries for bundlers (dist/esm, the `module` export
//    condition), in which nothing calls `require` at run time: a bundler's ES module output
//    cannot (esbuild: "Dynamic require of node:fs is not supported"). Where it is bundled, the
//    script files are not there: its threads start from the copy above.
import { writeFileSync } from 'node:fs';
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
