// docs/toolchains.md shows the toolchain tier's consumers as the tier runs them: every file of each
// consumer folder, each in a code block right after a line naming it (`spec/packaging/consumer/<path>`:),
// equal to the file, and every command of each case (toolchain-cases.ts).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { repo } from './install';
import { toolchainCases } from './toolchain-cases';
import { consumerFolders } from './toolchain-project';

const page = readFileSync(join(repo, 'docs', 'toolchains.md'), 'utf8');
const consumer = join(__dirname, 'consumer');

/** The code blocks that follow a line naming a consumer file, by that file's path under consumer/. */
const shown = new Map<string, string>();
for (const match of page.matchAll(/^`spec\/packaging\/consumer\/([^`]+)`:\n\n```\w*\n([\s\S]*?)^```$/gm)) {
  shown.set(match[1]!, match[2]!);
}

const filesOf = (folder: string): string[] =>
  readdirSync(join(consumer, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(consumer, join(entry.parentPath, entry.name)));

describe('docs/toolchains.md: the toolchain tier as it runs', () => {
  it('shows every file of each consumer folder the tier runs, as the file is', () => {
    const files = consumerFolders().flatMap(filesOf).sort();
    expect([...shown.keys()].sort(), 'files shown').to.deep.equal(files);
    for (const file of files) {
      expect(shown.get(file), file).to.equal(readFileSync(join(consumer, file), 'utf8'));
    }
  });

  it('shows every command the tier runs', () => {
    const commands = Object.values(toolchainCases).flatMap((spec) => spec.commands);
    expect(commands.filter((command) => !page.includes(command))).to.deep.equal([]);
  });
});
