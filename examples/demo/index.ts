// `npm start [folder] [--limit N]`: the rxthreads demo. With no folder it processes the project's
// own node_modules, which every install has.
import { join, relative, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { formatReport } from './report';
import { type DemoReport, type PhaseName, runDemo, type Tally } from './run';

/** The default run stops at this many files, so it stays short on any machine. */
const defaultLimit = 10_000;

interface Args {
  root: string;
  limit: number | undefined;
}

function parseArgs(argv: string[]): Args {
  let root: string | undefined;
  let limit: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--limit') {
      limit = Number(argv[++i]);
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit expects a positive integer, got ${argv[i]}`);
    } else if (arg === '--help' || arg === '-h') {
      throw new Error('usage: npm start -- [folder] [--limit N]');
    } else if (root === undefined) {
      root = resolve(arg);
    } else {
      throw new Error(`unexpected argument ${arg}; usage: npm start -- [folder] [--limit N]`);
    }
  }
  if (root === undefined) return { root: join(__dirname, '..', '..', 'node_modules'), limit: limit ?? defaultLimit };
  return { root, limit };
}

/** A path as the user would type it: relative to the current folder if inside it. */
function display(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside === '' ? '.' : inside.startsWith('..') ? path : inside;
}

/** Runs the demo with a progress bar on stderr; Ctrl-C cancels it and still reports. */
export async function main(argv = process.argv.slice(2)): Promise<DemoReport> {
  const args = parseArgs(argv);
  const controller = new AbortController();
  const bar = new SingleBar(
    { format: ' {phase} |{bar}| {value}/{total} files, {mb}', hideCursor: true, stream: process.stderr },
    Presets.shades_classic,
  );
  const onPhase = (phase: PhaseName, total: number): void => {
    bar.stop();
    process.stderr.write(`${phase}: ${total} files under ${display(args.root)} (Ctrl-C cancels)\n`);
    bar.start(total, 0, { phase: phase.padEnd(11), mb: '0.0 MB' });
  };
  const onProgress = (phase: PhaseName, tally: Tally): void => {
    bar.update(tally.files, { phase: phase.padEnd(11), mb: `${(tally.bytes / 1e6).toFixed(1)} MB` });
  };

  let cancelledAt = 0;
  const onSigint = (): void => {
    if (cancelledAt === 0) {
      cancelledAt = Date.now();
      bar.stop();
      process.stderr.write('Cancelling...\n');
      controller.abort();
    } else if (Date.now() - cancelledAt > 1000) {
      // `npm start` forwards the terminal's Ctrl-C a second time at once: only a later one forces the exit.
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    return await runDemo({ root: args.root, limit: args.limit, signal: controller.signal, onPhase, onProgress });
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }
}

if (require.main === module) {
  main().then(
    (report) => {
      console.log(formatReport(report, display));
      // Interrupted: end the way an interrupted program does, so a shell or npm sees the Ctrl-C.
      if (report.threads.cancelled || report.mainThread?.cancelled) process.kill(process.pid, 'SIGINT');
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
