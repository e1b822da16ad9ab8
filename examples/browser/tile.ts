// The Mandelbrot set, one tile at a time. The page runs `tile` on its pool's threads as a module
// task (this file, bundled on its own, loaded by URL in each Web Worker); its "main thread" mode
// and spec/browser/demo.spec.ts call `renderTile` directly. Only +, −, × and comparisons of
// doubles: every engine gives the same pixels, so the spec can check the page's image exactly.

import type { TaskContext } from 'rxthreads/worker';

/** What the canvas shows: the complex number at its centre, and its width in units per pixel. */
export interface View {
  readonly x: number;
  readonly y: number;
  /** Units of the complex plane per pixel. */
  readonly scale: number;
  /** Iterations after which a point counts as inside the set. */
  readonly maxIter: number;
}

/** One tile of the canvas, in pixels. */
export interface Tile {
  readonly id: number;
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** What a thread is given: a tile, the view, and the canvas size it belongs to. */
export interface TileJob {
  /** Which render of the page this tile belongs to. */
  readonly render: number;
  readonly tile: Tile;
  readonly view: View;
  readonly canvasWidth: number;
  readonly canvasHeight: number;
}

/** A rendered tile: its RGBA pixels, moved (not copied) back to the page. */
export interface TileResult {
  readonly tile: Tile;
  readonly pixels: Uint8ClampedArray<ArrayBuffer>;
}

/** What a tile task tells the page on this BroadcastChannel (any thread can post to it). */
export const activityChannel = 'rxthreads-demo';

export interface Activity {
  readonly kind: 'start' | 'done' | 'stopped';
  readonly render: number;
  /** The tile's id. */
  readonly id: number;
  readonly threadId: number;
  /** 'stopped': the rows the tile had finished when its task saw `ctx.aborted`. */
  readonly row?: number;
  /**
   * When the task said it (`performance.timeOrigin + performance.now()`, a clock all the page's
   * threads share): a message on the channel may be heard well after it was said.
   */
  readonly at: number;
}

/** Colours of escape counts: a ramp through five stops, repeated every 64 iterations; black inside. */
const palette = ((): Uint8Array => {
  const stops = [
    [0, 7, 100],
    [32, 107, 203],
    [237, 255, 255],
    [255, 170, 0],
    [0, 2, 0],
  ];
  const colours = new Uint8Array(64 * 3);
  for (let i = 0; i < 64; i++) {
    const at = (i / 64) * (stops.length - 1);
    const from = Math.floor(at);
    const t = at - from;
    const a = stops[from]!;
    const b = stops[(from + 1) % stops.length]!;
    for (let c = 0; c < 3; c++) colours[i * 3 + c] = Math.round(a[c]! + (b[c]! - a[c]!) * t);
  }
  return colours;
})();

/**
 * Renders the rows of a tile into `pixels`, checking `stop` before each pixel; returns the rows
 * finished (all of them unless `stop` said so).
 */
export function renderTile(
  job: Omit<TileJob, 'render'>,
  pixels: Uint8ClampedArray,
  stop: () => boolean = () => false,
): number {
  const { tile, view, canvasWidth, canvasHeight } = job;
  const { maxIter } = view;
  for (let row = 0; row < tile.height; row++) {
    const y0 = view.y + (tile.top + row - canvasHeight / 2) * view.scale;
    for (let column = 0; column < tile.width; column++) {
      if (stop()) return row;
      const x0 = view.x + (tile.left + column - canvasWidth / 2) * view.scale;
      let x = 0;
      let y = 0;
      let x2 = 0;
      let y2 = 0;
      let n = 0;
      while (n < maxIter && x2 + y2 <= 4) {
        y = 2 * x * y + y0;
        x = x2 - y2 + x0;
        x2 = x * x;
        y2 = y * y;
        n++;
      }
      const at = (row * tile.width + column) * 4;
      const colour = (n % 64) * 3;
      const inside = n === maxIter;
      pixels[at] = inside ? 0 : palette[colour]!;
      pixels[at + 1] = inside ? 0 : palette[colour + 1]!;
      pixels[at + 2] = inside ? 0 : palette[colour + 2]!;
      pixels[at + 3] = 255;
    }
  }
  return tile.height;
}

/**
 * The module task: renders a tile on a pool thread and moves its pixels back. It reads
 * `ctx.aborted` before each pixel: once the page cancels (Cancel, a new view), the running tile
 * stops where it is, and tiles still queued never start.
 */
export default function tile(job: TileJob, ctx: TaskContext): TileResult | undefined {
  const channel = new BroadcastChannel(activityChannel);
  const say = (activity: Omit<Activity, 'at'>) =>
    channel.postMessage({ ...activity, at: performance.timeOrigin + performance.now() } satisfies Activity);
  const {
    render,
    tile: { id },
  } = job;
  const { threadId } = ctx;
  try {
    say({ kind: 'start', render, id, threadId });
    const pixels = new Uint8ClampedArray(job.tile.width * job.tile.height * 4);
    const rows = renderTile(job, pixels, () => ctx.aborted);
    if (rows < job.tile.height) {
      // Nobody waits for this result any more: say where the tile stopped, and return nothing.
      say({ kind: 'stopped', render, id, threadId, row: rows });
      return undefined;
    }
    say({ kind: 'done', render, id, threadId });
    return ctx.transfer({ tile: job.tile, pixels }, [pixels.buffer]);
  } finally {
    channel.close();
  }
}

/** The tiles of a canvas, from the centre outwards (the order they are queued in). */
export function tilesOf(canvasWidth: number, canvasHeight: number, size: number): Tile[] {
  const tiles: Tile[] = [];
  for (let top = 0; top < canvasHeight; top += size) {
    for (let left = 0; left < canvasWidth; left += size) {
      tiles.push({
        id: 0,
        left,
        top,
        width: Math.min(size, canvasWidth - left),
        height: Math.min(size, canvasHeight - top),
      });
    }
  }
  const distance = (t: Tile) =>
    Math.hypot(t.left + t.width / 2 - canvasWidth / 2, t.top + t.height / 2 - canvasHeight / 2);
  return tiles
    .sort((a, b) => distance(a) - distance(b) || a.top - b.top || a.left - b.left)
    .map((t, id) => ({ ...t, id }));
}

/** FNV-1a over bytes: the page's checksum of its canvas, and the spec's of the same image made in Node. */
export function fnv1a(bytes: ArrayLike<number>): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}
