// `npm run docs` builds the API reference with TypeDoc (docs/typedoc.json), with the docs pages
// beside it. The config treats warnings as errors, so a link TypeDoc cannot follow, or a public
// type that refers to one left out, fails here rather than in a reader's browser.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');

describe('the API reference (npm run docs)', function () {
  this.timeout(120_000);

  it('lists every docs page as a project document', () => {
    const config = JSON.parse(readFileSync(join(repo, 'docs', 'typedoc.json'), 'utf8')) as {
      projectDocuments: string[];
    };
    const pages = readdirSync(join(repo, 'docs')).filter((name) => name.endsWith('.md'));
    expect([...config.projectDocuments].sort()).to.deep.equal(pages.sort());
  });

  it('builds without a warning', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rxthreads-typedoc-'));
    try {
      const typedoc = join(repo, 'node_modules', 'typedoc', 'bin', 'typedoc');
      const { stdout } = await run(process.execPath, [typedoc, '--options', 'docs/typedoc.json', '--out', out], {
        cwd: repo,
      });
      expect(stdout).to.not.match(/warning|error/i);
      expect(readdirSync(join(out, 'documents')).sort()).to.include.members(['guide.html', 'operators.html']);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
