/** Now, in ms since the epoch, comparable with the start times threads write. */
const timeOrigin = performance.timeOrigin;
export function epochNow(): number {
  return timeOrigin + performance.now();
}

/** One reading of the clock (epoch ms), shared by the jobs submitted around it. */
export interface ClockReading {
  readonly at: number;
}
