// The layers of lib/ and their rules (.dependency-cruiser.cjs, ARCHITECTURE.md): the tree keeps
// them, and each rule catches a wrong import, shown on a small tree made for it.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { expect } from 'chai';

const root = join(__dirname, '..', '..');
const config = join(root, '.dependency-cruiser.cjs');

/** Runs the dependency rules on `paths` of the tree at `baseDir`; returns the names of the rules broken. */
async function broken(baseDir: string, paths: string[]): Promise<string[]> {
  const { cruise } = await import('dependency-cruiser');
  const { default: extractOptions } = await import('dependency-cruiser/config-utl/extract-depcruise-options');
  const options = await extractOptions(config);
  const result = await cruise(paths, { ...options, baseDir, validate: true, outputType: 'json' });
  const report = JSON.parse(result.output as string) as { summary: { violations: { rule: { name: string } }[] } };
  return report.summary.violations.map((v) => v.rule.name);
}

/** The layer of a file of the tree: the folder under lib/ (engine/local and engine/port are the engine's), or operators. */
function layerOf(path: string): string | undefined {
  if (path.startsWith('operators/')) return 'operators';
  return /^lib\/([a-z]+)\//.exec(path)?.[1];
}

/** `layer -> layer` for each import between two layers of the tree. */
async function layerEdges(): Promise<Set<string>> {
  const { cruise } = await import('dependency-cruiser');
  const { default: extractOptions } = await import('dependency-cruiser/config-utl/extract-depcruise-options');
  const options = await extractOptions(config);
  const result = await cruise(['index.ts', 'worker.ts', 'remote.ts', 'bin', 'lib', 'operators'], {
    ...options,
    baseDir: root,
  });
  const edges = new Set<string>();
  for (const module of (result.output as { modules: { source: string; dependencies: { resolved: string }[] }[] })
    .modules) {
    const from = layerOf(module.source);
    if (from === undefined) continue;
    for (const dependency of module.dependencies) {
      const to = layerOf(dependency.resolved);
      if (to !== undefined && to !== from) edges.add(`${from} -> ${to}`);
    }
  }
  return edges;
}

describe('architecture: the layers and their rules', function () {
  this.timeout(60_000);

  it("matches ARCHITECTURE.md's picture: every arrow there is an import, every import between layers is an arrow", async () => {
    const text = readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8');
    const block = /```layers\n([\s\S]*?)```/.exec(text)?.[1];
    expect(block, 'a ```layers block in ARCHITECTURE.md').to.be.a('string');
    const drawn = new Set<string>();
    for (const line of block!.trim().split('\n')) {
      const [from, imports] = line.split(':') as [string, string];
      for (const to of imports
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean))
        drawn.add(`${from.trim()} -> ${to}`);
    }
    expect([...(await layerEdges())].sort()).to.deep.equal([...drawn].sort());
  });

  it('holds in the tree: no rule broken, no import cycle (type-only imports included)', async () => {
    expect(await broken(root, ['index.ts', 'worker.ts', 'remote.ts', 'bin', 'lib', 'operators'])).to.deep.equal([]);
  });

  /** A tree of two files, `from` importing `to`, and what the rules say of it. */
  const wrongImports: [rule: string, from: string, to: string][] = [
    ['engine', 'lib/engine/engine.ts', 'lib/remote/client/pool.ts'],
    ['engine', 'lib/engine/engine.ts', 'lib/owners/pool.ts'],
    ['thread', 'lib/thread/entry.ts', 'lib/engine/metrics.ts'],
    ['thread', 'lib/thread/entry.ts', 'lib/owners/owner.ts'],
    ['operators', 'operators/offloadToThread.ts', 'lib/engine/engine.ts'],
    ['stream', 'lib/stream/stream.ts', 'lib/engine/job.ts'],
    ['remote', 'lib/remote/client/engine.ts', 'lib/engine/scheduler.ts'],
    ['util', 'lib/util/options.ts', 'lib/task/task.ts'],
    ['wire', 'lib/wire/thread.ts', 'lib/engine/port.ts'],
    ['core-never-loads-remote', 'index.ts', 'lib/remote/client/pool.ts'],
  ];
  for (const [rule, from, to] of wrongImports) {
    it(`catches ${from} importing ${to} (rule ${rule})`, async () => {
      const tree = mkdtempSync(join(tmpdir(), 'rxthreads-rules-'));
      try {
        const write = (path: string, text: string) => {
          mkdirSync(join(tree, dirname(path)), { recursive: true });
          writeFileSync(join(tree, path), text);
        };
        const path = relative(dirname(from), to.replace(/\.ts$/, ''));
        write(to, 'export const x = 1;\n');
        write(from, `import { x } from '${path.startsWith('.') ? path : `./${path}`}';\nexport const y = x;\n`);
        write('tsconfig.json', '{ "compilerOptions": { "module": "nodenext", "strict": true } }\n');
        expect(await broken(tree, [from])).to.include(rule);
      } finally {
        rmSync(tree, { recursive: true, force: true });
      }
    });
  }

  it('catches an import cycle made of type-only imports', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'rxthreads-rules-'));
    try {
      mkdirSync(join(tree, 'lib', 'engine'), { recursive: true });
      writeFileSync(join(tree, 'lib/engine/a.ts'), "import type { B } from './b';\nexport type A = { b?: B };\n");
      writeFileSync(join(tree, 'lib/engine/b.ts'), "import type { A } from './a';\nexport type B = { a?: A };\n");
      writeFileSync(join(tree, 'tsconfig.json'), '{ "compilerOptions": { "module": "nodenext" } }\n');
      expect(await broken(tree, ['lib'])).to.include('no-cycles');
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
