// The work of the browser benchmark, as in workers/work.cjs: every library's worker imports this
// one function, and rxthreads loads this file (bundled as work.js) as its module task.

export function inc(x: number): number {
  return x + 1;
}
