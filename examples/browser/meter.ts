/// <reference lib="dom" />
// The frame-time meter: the time between successive requestAnimationFrame callbacks, which is what
// a person sees as smooth or not. At 60 Hz a frame is 16.7 ms; a main thread busy for 200 ms gives
// one frame of 200 ms or more. The meter keeps every frame since the page loaded (for the spec) and
// draws the last few seconds: a bar per frame, p50 / p95 / max, and a spinner that turns once per
// second, which stutters exactly when frames are late.

/** One frame: when its callback ran, and how long after the previous one (ms, performance.now()). */
export interface Frame {
  readonly at: number;
  readonly delta: number;
}

export interface FrameStats {
  readonly frames: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/** p50, p95 and max of the frames' deltas (nearest rank). */
export function frameStats(frames: readonly Frame[]): FrameStats {
  const deltas = frames.map((frame) => frame.delta).sort((a, b) => a - b);
  const rank = (p: number) => deltas[Math.min(deltas.length - 1, Math.ceil((p / 100) * deltas.length) - 1)] ?? 0;
  return { frames: deltas.length, p50: rank(50), p95: rank(95), max: deltas.at(-1) ?? 0 };
}

export class FrameMeter {
  private readonly frames: Frame[] = [];
  private last: number | undefined;
  private readonly context: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly label: HTMLElement,
    /** How much of the past the drawing and its figures cover, in ms. */
    private readonly windowMs = 5_000,
  ) {
    this.context = canvas.getContext('2d')!;
    requestAnimationFrame(this.tick);
  }

  /** The frames whose callbacks ran between `from` and `to` (performance.now() times). */
  between(from: number, to = performance.now()): Frame[] {
    return this.frames.filter((frame) => frame.at > from && frame.at <= to);
  }

  private readonly tick = (now: number) => {
    if (this.last !== undefined) this.frames.push({ at: now, delta: now - this.last });
    this.last = now;
    // Keep a minute of frames: enough for any render the spec or a person looks at.
    if (this.frames.length > 4_000) this.frames.splice(0, 1_000);
    this.draw(now);
    requestAnimationFrame(this.tick);
  };

  private draw(now: number): void {
    const { canvas, context } = this;
    const recent = this.between(now - this.windowMs, now);
    const stats = frameStats(recent);
    const { width, height } = canvas;
    const spinner = height / 2;
    const chartWidth = width - spinner * 2;
    /** ms shown at the top of the chart: frames longer than that reach it. */
    const top = 100;
    const y = (ms: number) => height - (Math.min(ms, top) / top) * (height - 4);
    context.clearRect(0, 0, width, height);
    context.fillStyle = '#14171c';
    context.fillRect(0, 0, width, height);
    // Reference lines: one frame at 60 Hz, and two.
    context.strokeStyle = '#3a4350';
    context.lineWidth = 1;
    context.font = '10px system-ui, sans-serif';
    context.fillStyle = '#7d8896';
    for (const ms of [16.7, 33.3, 66.7]) {
      context.beginPath();
      context.moveTo(0, Math.round(y(ms)) + 0.5);
      context.lineTo(chartWidth, Math.round(y(ms)) + 0.5);
      context.stroke();
      context.fillText(`${ms} ms`, 2, y(ms) - 2);
    }
    // A bar per frame, placed by the time it ran: green up to 20 ms, amber up to 50, red beyond.
    for (const frame of recent) {
      const x = chartWidth - ((now - frame.at) / this.windowMs) * chartWidth;
      const barWidth = Math.max(1, (frame.delta / this.windowMs) * chartWidth - 0.5);
      context.fillStyle = frame.delta <= 20 ? '#3ecf8e' : frame.delta <= 50 ? '#f5a524' : '#f0506e';
      context.fillRect(x - barWidth, y(frame.delta), barWidth, height - y(frame.delta));
    }
    // The spinner: one turn per second, drawn at this frame's time.
    const angle = ((now % 1_000) / 1_000) * 2 * Math.PI;
    const cx = width - spinner;
    const cy = height / 2;
    context.strokeStyle = '#e6edf3';
    context.lineWidth = 4;
    context.beginPath();
    context.moveTo(cx, cy);
    context.lineTo(cx + Math.cos(angle) * (spinner - 10), cy + Math.sin(angle) * (spinner - 10));
    context.stroke();
    context.beginPath();
    context.lineWidth = 1;
    context.arc(cx, cy, spinner - 6, 0, 2 * Math.PI);
    context.stroke();
    this.label.textContent =
      `last ${this.windowMs / 1_000} s: ${stats.frames} frames · p50 ${stats.p50.toFixed(1)} ms · ` +
      `p95 ${stats.p95.toFixed(1)} ms · max ${stats.max.toFixed(1)} ms`;
  }
}
