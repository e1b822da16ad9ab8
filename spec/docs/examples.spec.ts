// Runs every program in examples/ (and the `npm start` demo) and checks what it returns, so that
// the examples never rot.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { from, lastValueFrom, toArray } from 'rxjs';
import { formatReport } from '../../examples/demo/report';
import { runDemo } from '../../examples/demo/run';
import { main as service } from '../../examples/event-loop-service';
import { clickLog, main as sessions } from '../../examples/inthread-sessions';
import { sessionize } from '../../examples/tasks/sessions';
import { main as words } from '../../examples/text-pipeline';

const repo = join(__dirname, '..', '..');

describe('examples', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxthreads-docs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function write(path: string, content: string | Buffer): string {
    const full = join(dir, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, content);
    return full;
  }

  it('text-pipeline counts the words of files on pool threads', async () => {
    const paths = [
      write('a.txt', 'The cat and the hat.'),
      write('b.txt', "The dog's bone; the CAT's toy."),
      write('c.txt', 'Ünïcode wörds count too: wörds!'),
    ];
    const report = await words(paths, 3);
    expect(report).to.deep.equal({
      files: 3,
      words: 16,
      distinct: 12,
      top: [
        ['the', 4],
        ['wörds', 2],
        ['and', 1],
      ],
    });
  });

  it('event-loop-service serves lookups from a cache on its own loop, many at once', async () => {
    const dirs = ['rxjs', 'typescript', 'mocha', 'chai'].map((name) => join(repo, 'node_modules', name));
    const { infos, stats } = await service(dirs, 3);
    const expected = dirs.map((path) => JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')).version);
    expect(infos.map((info) => info.version)).to.deep.equal([...expected, ...expected, ...expected]);
    expect(stats).to.include({ lookups: 12, reads: 4, cacheHits: 8, cached: 4, inFlight: 0 });
    expect(stats.maxInFlight).to.be.greaterThan(1);
  });

  it('inthread-sessions runs a stateful stage in its own thread, with the same result as here', async () => {
    const log = clickLog(3000);
    const inThread = await sessions(log);
    const here = await lastValueFrom(sessionize(from(log)).pipe(toArray()));
    expect(inThread).to.deep.equal(here);
    expect(inThread.reduce((sum, session) => sum + session.clicks, 0)).to.equal(3000);
  });

  it('the demo reports every file of a folder, with threads and on the main thread alone', async () => {
    const a = write('a.txt', 'hello '.repeat(1000));
    write('sub/b.bin', randomBytes(70_000));
    write('sub/deeper/c.txt', readFileSync(a)); // same content as a.txt
    write('sub/empty', '');
    const report = await runDemo({ root: dir, threads: 2 });
    const expected = { files: 4, bytes: 6000 + 70_000 + 6000, duplicates: 1, duplicateBytes: 6000, unreadable: 0 };
    expect(report).to.include({ found: 4, selected: 4, poolSize: 2 });
    expect(report.threads.tally).to.include(expected);
    expect(report.threads.cancelled).to.equal(false);
    expect(report.mainThread?.tally).to.deep.equal(report.threads.tally); // the same work, the same result
    const text = formatReport(report);
    expect(text).to.match(/with rxthreads\s+4 files\s+0\.1 MB/);
    expect(text).to.match(/main thread alone\s+4 files\s+0\.1 MB/);
    expect(text).to.include('1 files (0.0 MB) have the same content as another file');
    expect(report.threads.pool?.utilization).to.be.above(0).and.at.most(1);
    expect(text).to.match(/pool: \d+ % utilization; a file ran [\d.]+ ms \(p50\)/);
  });

  it('npm start: Ctrl-C cancels the demo, the threads exit, and the report says what was done', async function () {
    // npm start builds first (tsc), which alone can take tens of seconds on a loaded machine.
    this.timeout(90_000);
    for (let i = 0; i < 400; i++) write(`f${String(i).padStart(3, '0')}.bin`, randomBytes(128_000));
    // Started detached so the Ctrl-C can go to the whole process group, as a terminal sends it.
    const child = spawn('npm', ['start', '--silent', '--', dir], { cwd: repo, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    const started = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
        if (stderr.includes('threads: 400 files')) resolve();
      }),
    );
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (code, signal) => resolve([code, signal])),
    );
    await started;
    process.kill(-child.pid!, 'SIGINT');
    const [code, signal] = await exited;
    expect(stderr).to.include('Cancelling...');
    const done = /Cancelled after (\d+) of 400 files; the threads exited (\d+) ms later/.exec(stdout);
    expect(done, stdout + stderr).to.not.equal(null);
    expect(Number(done![1])).to.be.lessThan(400);
    expect(Number(done![2])).to.be.lessThan(1500); // cancelGraceMs 500, and then the thread is replaced
    expect(stdout).to.not.include('main thread alone');
    expect(code === 130 || signal === 'SIGINT', `exit ${code} ${signal}`).to.equal(true);
  });
});
