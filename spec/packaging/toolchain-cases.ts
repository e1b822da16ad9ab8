// The toolchain tier's cases: each runs a consumer folder's commands, as docs/toolchains.md shows
// them (spec/packaging/toolchain-docs.spec.ts checks that the page shows each command and file).

import type { Case } from './toolchain-project';

/** esbuild, webpack and Vite: a build, then its output run (alone, for a one-file bundle). */
export const bundlerCases: Record<string, Case> = {
  'esbuild-cjs': {
    folder: 'esbuild-cjs',
    commands: [
      'esbuild main.ts --bundle --platform=node --format=cjs --loader:.task.mjs=file --outdir=dist',
      'node main.js',
    ],
    alone: { output: 'dist' },
  },
  'esbuild-esm': {
    folder: 'esbuild-esm',
    commands: [
      'esbuild main.ts square.mts --bundle --platform=node --format=esm --outdir=dist --out-extension:.js=.mjs',
      'node main.mjs',
    ],
    alone: { output: 'dist' },
  },
  webpack: {
    folder: 'webpack',
    commands: ['webpack --config webpack.config.cjs', 'node main.js'],
    alone: { output: 'dist' },
  },
  'webpack-readable': {
    folder: 'webpack',
    commands: ['webpack --config webpack.readable.config.cjs', 'node main.js'],
    alone: { output: 'dist-readable' },
  },
  'vite-ssr': {
    folder: 'vite-ssr',
    commands: ['vite build --ssr', 'node dist/main.js'],
  },
  'vite-ssr-bundled': {
    folder: 'vite-ssr',
    commands: ['vite build --ssr --config vite.bundled.config.js', 'node main.js'],
    alone: { output: 'dist-bundled', packageJson: { type: 'module' } },
  },
};

/** jest (babel-jest, ts-jest) and vitest, each running a folder's two test files. */
export const testRunnerCases: Record<string, Case> = {
  'jest, babel-jest': {
    folder: 'jest',
    commands: ['jest --config jest.babel.config.cjs --ci --runInBand --no-cache'],
  },
  'jest, ts-jest': {
    folder: 'jest',
    commands: ['jest --config jest.ts-jest.config.cjs --ci --runInBand --no-cache'],
  },
  vitest: { folder: 'vitest', commands: ['vitest run'] },
};

/** tsx and ts-node with TypeScript 6, each running a program. */
export const runtimeCases: Record<string, Case> = {
  tsx: { folder: 'tsx', commands: ['tsx main.ts'] },
  'ts-node': { folder: 'ts-node', commands: ['node -r ts-node/register main.ts'] },
};

/** Every case of the tier. */
export const toolchainCases: Record<string, Case> = { ...bundlerCases, ...testRunnerCases, ...runtimeCases };
