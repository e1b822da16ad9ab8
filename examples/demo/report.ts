// Formats a DemoReport as the short text the CLI prints. Every number comes from the run.
import type { DemoReport, Phase } from './run';

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const ms = (value: number): string => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`);

function row(label: string, phase: Phase): string {
  const seconds = phase.ms / 1000;
  const throughput = `${mb(phase.tally.bytes / seconds)}/s, ${(phase.tally.files / seconds).toFixed(0)} files/s`;
  const delay = `${phase.loopDelayP99Ms.toFixed(1)} ms / ${phase.loopDelayMaxMs.toFixed(1)} ms`;
  const files = `${phase.tally.files} files`;
  return `  ${label.padEnd(18)}${files.padStart(12)}${mb(phase.tally.bytes).padStart(11)}${ms(phase.ms).padStart(10)}   ${throughput.padEnd(28)}${delay}`;
}

export function formatReport(report: DemoReport, display: (path: string) => string = (path) => path): string {
  const { threads, mainThread } = report;
  const lines: string[] = [];
  lines.push(`rxthreads demo: read, gzip and SHA-256 every file under ${display(report.root)}`);
  if (report.selected < report.found) {
    lines.push(`  only the first ${report.selected} of ${report.found} files, in path order (--limit N sets how many)`);
  }
  lines.push(
    `  ${report.selected} files; a pool of ${report.poolSize} threads, plus 1 event-loop thread for the catalog`,
  );
  lines.push('');
  lines.push(
    `  ${''.padEnd(18)}${'done'.padStart(12)}${'bytes'.padStart(11)}${'time'.padStart(10)}   ${'throughput'.padEnd(28)}main event-loop delay p99 / max`,
  );
  lines.push(row('with rxthreads', threads));
  if (mainThread !== undefined) lines.push(row('main thread alone', mainThread));
  if (threads.pool !== undefined) {
    const { utilization, runP50Ms, runP99Ms, waitP99Ms } = threads.pool;
    lines.push(
      `  pool: ${(utilization * 100).toFixed(0)} % utilization; a file ran ${runP50Ms.toFixed(1)} ms (p50) / ${runP99Ms.toFixed(1)} ms (p99) on its thread, and waited up to ${waitP99Ms.toFixed(0)} ms (p99) for one`,
    );
  }
  lines.push('');
  const t = threads.tally;
  const ratio = t.bytes > 0 ? ` (${((100 * t.gzipped) / t.bytes).toFixed(1)} %)` : '';
  lines.push(`  gzip: ${mb(t.bytes)} -> ${mb(t.gzipped)}${ratio}`);
  lines.push(`  ${t.duplicates} files (${mb(t.duplicateBytes)}) have the same content as another file`);
  if (t.unreadable > 0) lines.push(`  ${t.unreadable} files could not be read`);
  if (t.changed > 0) lines.push(`  ${t.changed} files changed while they were being read`);
  if (mainThread !== undefined && !mainThread.cancelled && !threads.cancelled) {
    const time = mainThread.ms / threads.ms;
    const delay = mainThread.loopDelayMaxMs / Math.max(threads.loopDelayMaxMs, 0.1);
    lines.push(
      `  main thread alone vs rxthreads: ${time.toFixed(2)}x the time, ${delay.toFixed(1)}x the worst event-loop delay`,
    );
  }
  if (threads.cancelled) {
    lines.push(
      `  Cancelled after ${t.files} of ${report.selected} files; the threads exited ${ms(threads.stopMs ?? 0)} later. No comparison run.`,
    );
  } else if (mainThread?.cancelled) {
    lines.push(
      `  Cancelled during the comparison, after ${mainThread.tally.files} of ${report.selected} files on the main thread.`,
    );
  }
  return lines.join('\n');
}
