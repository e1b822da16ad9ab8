/** A hand-made horizontal bar chart: one panel per chart, stacked, rxthreads bars highlighted. */
import type { Chart } from './harness';

const width = 760;
const labelWidth = 290;
const barArea = width - labelWidth - 90;
const rowHeight = 22;
const colors = { ours: '#d9480f', peer: '#868e96', text: '#212529', grid: '#dee2e6', line: '#1971c2' };

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function format(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(value >= 10 ? 1 : 2);
}

/** Axis labels: no trailing zeros. */
const tickLabel = (value: number) => Number(value.toPrecision(6)).toLocaleString('en-US');

/** A log scale when the bars span more than two decades, so that small ones stay visible. */
function scaleOf(chart: Chart): { x: (value: number) => number; ticks: number[]; log: boolean } {
  const values = chart.bars.map((bar) => bar.value).filter((value) => value > 0);
  const max = Math.max(...values, chart.line?.value ?? 0);
  const min = Math.min(...values);
  if (max / min > 100) {
    const low = 10 ** Math.floor(Math.log10(min));
    const high = 10 ** Math.ceil(Math.log10(max));
    const x = (value: number) => (barArea * Math.log10(Math.max(value, low) / low)) / Math.log10(high / low);
    const ticks: number[] = [];
    for (let tick = low; tick <= high; tick *= 10) ticks.push(tick);
    return { x, ticks, log: true };
  }
  const step = 10 ** Math.floor(Math.log10(max)) / (max / 10 ** Math.floor(Math.log10(max)) < 2.5 ? 4 : 1);
  const high = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let tick = 0; tick <= high + 1e-9; tick += step) ticks.push(tick);
  return { x: (value: number) => (barArea * value) / high, ticks, log: false };
}

function panel(chart: Chart, top: number): { body: string; height: number } {
  const { x, ticks, log } = scaleOf(chart);
  const parts: string[] = [];
  const title = `${chart.title}${log ? ', log scale' : ''}`;
  parts.push(`<text x="10" y="${top + 18}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  const chartTop = top + 30;
  const chartHeight = chart.bars.length * rowHeight;
  for (const tick of ticks) {
    const at = (labelWidth + x(tick)).toFixed(1);
    parts.push(
      `<line x1="${at}" y1="${chartTop}" x2="${at}" y2="${chartTop + chartHeight}" stroke="${colors.grid}"/>`,
      `<text x="${at}" y="${chartTop + chartHeight + 14}" font-size="10" text-anchor="middle">${tickLabel(tick)}</text>`,
    );
  }
  chart.bars.forEach((bar, i) => {
    const y = chartTop + i * rowHeight;
    const length = Math.max(1, x(bar.value));
    const color = bar.ours ? colors.ours : colors.peer;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 15}" font-size="11" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${length.toFixed(1)}" height="${rowHeight - 6}" fill="${color}"/>`,
      `<text x="${(labelWidth + length + 5).toFixed(1)}" y="${y + 15}" font-size="11">${format(bar.value)}</text>`,
    );
  });
  if (chart.line !== undefined) {
    const at = labelWidth + Math.round(x(chart.line.value) * 10) / 10;
    parts.push(
      `<line x1="${at}" y1="${chartTop - 4}" x2="${at}" y2="${chartTop + chartHeight}" stroke="${colors.line}" stroke-dasharray="4 3" stroke-width="1.5"/>`,
      `<text x="${at + 4}" y="${chartTop - 6}" font-size="11" fill="${colors.line}">${escapeXml(chart.line.label)}</text>`,
    );
  }
  return { body: parts.join('\n'), height: chartHeight + 60 };
}

export function svgChart(charts: Chart[], caption: string): string {
  const panels: string[] = [];
  let top = 0;
  for (const chart of charts) {
    const { body, height } = panel(chart, top);
    panels.push(body);
    top += height;
  }
  const height = top + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" fill="${colors.text}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...panels,
    `<rect x="10" y="${height - 18}" width="10" height="10" fill="${colors.ours}"/>`,
    `<text x="24" y="${height - 9}" font-size="11">rxthreads</text>`,
    `<rect x="88" y="${height - 18}" width="10" height="10" fill="${colors.peer}"/>`,
    `<text x="102" y="${height - 9}" font-size="11">alternatives</text>`,
    `<text x="${width - 10}" y="${height - 9}" font-size="11" fill="#495057" text-anchor="end">${escapeXml(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
