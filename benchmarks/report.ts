/** The terminal tables and the markdown report. */
import type { Section, Table, Target } from './harness';

export interface Machine {
  readonly cores: number;
  readonly model: string;
  readonly node: string;
  readonly platform: string;
  readonly date: string;
  readonly loadStart: number[];
  readonly loadEnd: number[];
  readonly seconds: number;
  readonly quick: boolean;
  readonly repeats: number;
  readonly threads: number;
  readonly versions: string;
}

const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' / ');

function verdict(target: Target): string {
  if (target.met === undefined) return 'not run';
  return target.met ? 'met' : 'NOT MET';
}

export function machineLines(machine: Machine): string[] {
  return [
    `Machine: ${machine.cores} cores (${machine.model}), ${machine.platform}, Node ${machine.node}`,
    `Date: ${machine.date}; duration ${machine.seconds} s; ${machine.quick ? 'QUICK run (small sizes)' : 'full run'}; ${machine.threads} threads per pool; median of ${machine.repeats} timed repeats after a warm-up`,
    `Load average (1/5/15 min) at the start: ${load(machine.loadStart)}; at the end: ${load(machine.loadEnd)}`,
    `Versions: ${machine.versions}`,
  ];
}

function textTable(table: Table): string {
  const widths = table.head.map((cell, i) => Math.max(cell.length, ...table.rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(table.head), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

export function terminal(sections: Section[], machine: Machine): string {
  const out: string[] = ['', ...machineLines(machine), ''];
  for (const section of sections) {
    out.push(`== ${section.title} ==`, ...section.notes.map((note) => `  ${note.replace(/`/g, '')}`), '');
    for (const table of section.tables) out.push(textTable(table), '');
    for (const target of section.targets)
      out.push(`  target: ${target.label}: ${verdict(target)} (${target.measured})`);
    if (section.targets.length > 0) out.push('');
  }
  return out.join('\n');
}

function markdownTable(table: Table): string {
  const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${table.head.map(escapeCell).join(' | ')} |`,
    `| ${table.head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

export function markdown(sections: Section[], machine: Machine, svgName: string | undefined): string {
  const targets = sections.flatMap((section) => section.targets);
  const out = [
    '# rxthreads benchmarks',
    '',
    'Produced by `npm run bench` (`benchmarks/index.ts`). Every number below was measured in this one run, on this',
    'machine, with each library given the same inputs and the same number of threads; ratios are between numbers of',
    'the same run. Nothing is edited by hand. The machine may have been shared with other work while it ran: the',
    'load average is recorded below so that the numbers can be read with that in mind.',
    '',
    "Each case creates its library's pool, warms it up, times the repeats and closes the pool. Run it yourself with",
    '`npm run bench`, one or more benchmarks alone with `npm run bench -- tiny cancel`, small sizes with `--quick`.',
    '',
    ...machineLines(machine).map((line) => `- ${line}`),
    '',
    ...(targets.length === 0
      ? []
      : [
          '## Targets',
          '',
          ...targets.map((target) => `- **${verdict(target)}**: ${target.label}. Measured: ${target.measured}.`),
          '',
        ]),
  ];
  if (svgName !== undefined) out.push(`![tiny-task throughput and CPU speedup](${svgName})`, '');
  for (const section of sections) {
    out.push(`## ${section.title}`, '', ...section.notes, '');
    for (const table of section.tables) out.push(markdownTable(table), '');
  }
  return out.join('\n');
}
