/// <reference lib="dom" />
// The demo page: the Mandelbrot set in 64×64 tiles, each tile a task that `offloadToThread` runs
// on a pool of Web Workers (tile.ts, a module task loaded by URL). The frame-time meter shows the
// page staying smooth meanwhile; Cancel unsubscribes, so the tile being drawn stops at its next
// pixel (it reads `ctx.aborted`) and the tiles still queued never start. "Main thread" runs the
// same function on the page's own thread, one tile per task, to compare the meter.
//
// Started by `npm run demo:browser` (examples/browser/serve.ts); spec/browser/demo.spec.ts drives it.

import {
  catchError,
  concatMap,
  defer,
  EMPTY,
  finalize,
  from,
  ignoreElements,
  map,
  type Observable,
  Subject,
  switchMap,
  tap,
  timer,
} from 'rxjs';
import { moduleTask, offloadToThread, ThreadPool } from 'rxthreads';
import { FrameMeter, type FrameStats, frameStats } from './meter';
import {
  type Activity,
  activityChannel,
  fnv1a,
  renderTile,
  type Tile,
  type TileJob,
  type TileResult,
  tilesOf,
  type View,
} from './tile';

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = element<HTMLCanvasElement>('image');
const context = canvas.getContext('2d')!;
const { width, height } = canvas;
const tileSize = 64;

const params = new URLSearchParams(location.search);
const pool = new ThreadPool(params.has('threads') ? { size: Number(params.get('threads')) } : {});
// The task is tile.js next to this page: serve.ts bundles tile.ts on its own for the workers.
const tileTask = moduleTask<TileJob, TileResult | undefined>(new URL('tile.js', document.baseURI));

type Where = 'threads' | 'main';
const home: View = { x: -0.6, y: 0, scale: 3.2 / width, maxIter: 10_000 };

/** The view in the address's fragment (#x=…&y=…&scale=…&iter=…), so that a view can be shared. */
function viewOfHash(): View {
  const hash = new URLSearchParams(location.hash.slice(1));
  const number = (name: string, fallback: number) => {
    const value = Number(hash.get(name));
    return hash.has(name) && Number.isFinite(value) ? value : fallback;
  };
  return {
    x: number('x', home.x),
    y: number('y', home.y),
    scale: number('scale', home.scale),
    maxIter: number('iter', home.maxIter),
  };
}

/** What the page shows in its status, and what the spec reads. */
interface RenderState {
  readonly render: number;
  readonly on: Where;
  readonly view: View;
  readonly total: number;
  drawn: number;
  readonly startedAt: number;
  endedAt?: number;
  outcome: 'running' | 'done' | 'cancelled' | 'replaced' | 'failed';
  error?: string;
  /**
   * Tasks that threads said they started (tile id → performance.now() when the page heard it),
   * finished, or stopped on seeing `ctx.aborted`.
   */
  readonly started: Map<number, number>;
  readonly done: Set<number>;
  readonly stopped: { id: number; row: number; at: number }[];
  /** performance.now() of the click on Cancel, and the thread activity heard after it. */
  cancelledAt?: number;
  /**
   * When the cancel was in place, on the clock of `Activity.at`: unsubscribing marks every tile
   * handed to a thread and not yet started as cancelled in shared memory before it returns, so no
   * tile may start (say 'start') after this.
   */
  cancelledBy?: number;
  readonly afterCancel: Activity[];
}

let current: RenderState | undefined;
let renders = 0;

/** Draws a tile's pixels where it belongs. */
function draw(state: RenderState, { tile, pixels }: TileResult): void {
  context.putImageData(new ImageData(pixels, tile.width, tile.height), tile.left, tile.top);
  state.drawn++;
}

/** The tiles of a view, rendered on pool threads or on the page's thread, as they come. */
function tiles$(state: RenderState, jobs: TileJob[]): Observable<TileResult | undefined> {
  if (state.on === 'threads') {
    return from(jobs).pipe(offloadToThread(tileTask, { pool, ordered: false }));
  }
  // The same function on the main thread, a tile per macrotask so that the page can paint between
  // tiles: as smooth as a main-thread render gets without workers.
  return from(jobs).pipe(
    concatMap((job) =>
      timer(0).pipe(
        map((): TileResult => {
          const pixels = new Uint8ClampedArray(job.tile.width * job.tile.height * 4);
          renderTile(job, pixels);
          return { tile: job.tile, pixels };
        }),
      ),
    ),
  );
}

/** A render of `view`: its tiles drawn as they come, and what happened to it recorded in its state. */
function render$(view: View, on: Where): Observable<never> {
  return defer(() => {
    const tiles = tilesOf(width, height, tileSize);
    const state: RenderState = {
      render: ++renders,
      on,
      view,
      total: tiles.length,
      drawn: 0,
      startedAt: performance.now(),
      outcome: 'running',
      started: new Map(),
      done: new Set(),
      stopped: [],
      afterCancel: [],
    };
    current = state;
    dim(tiles);
    const jobs = tiles.map((tile) => ({ render: state.render, tile, view, canvasWidth: width, canvasHeight: height }));
    return tiles$(state, jobs).pipe(
      tap({
        next: (result) => {
          if (result !== undefined) draw(state, result);
        },
        complete: () => {
          state.outcome = 'done';
        },
        error: (error: unknown) => {
          state.outcome = 'failed';
          state.error = String(error);
        },
      }),
      ignoreElements(),
      // A failed render shows in the status; the next request starts afresh.
      catchError(() => EMPTY),
      finalize(() => {
        // Unsubscribed before the end: by Cancel, or by a new request.
        if (state.outcome === 'running') state.outcome = state.cancelledAt === undefined ? 'replaced' : 'cancelled';
        state.endedAt ??= performance.now();
      }),
    );
  });
}

/** Darkens the old image under tiles still to come. */
function dim(tiles: readonly Tile[]): void {
  context.fillStyle = 'rgba(13, 16, 20, 0.55)';
  for (const tile of tiles) context.fillRect(tile.left, tile.top, tile.width, tile.height);
}

// A render at a time: a new request (a zoom, Render) or Cancel (null) unsubscribes from the one
// under way, whose tasks are cancelled.
const requests = new Subject<{ view: View; on: Where } | null>();
requests.pipe(switchMap((request) => (request === null ? EMPTY : render$(request.view, request.on)))).subscribe();

// --- The rest: controls, the threads' activity, the status line, and what the spec reads. ---

const onSelect = element<HTMLSelectElement>('on');
const iterations = element<HTMLSelectElement>('iterations');
const cancelButton = element<HTMLButtonElement>('cancel');
onSelect.add(new Option(`pool threads (${pool.size} Web Worker${pool.size === 1 ? '' : 's'})`, 'threads'));
onSelect.add(new Option('main thread (to compare)', 'main'));
onSelect.value = params.get('on') === 'main' ? 'main' : 'threads';
for (const n of [1_000, 2_500, 5_000, 10_000, 20_000]) iterations.add(new Option(n.toLocaleString('en-US'), String(n)));

let view = viewOfHash();
iterations.value = String(view.maxIter);
if (iterations.value !== String(view.maxIter)) {
  iterations.add(new Option(view.maxIter.toLocaleString('en-US'), String(view.maxIter)));
  iterations.value = String(view.maxIter);
}

function render(next: View = view): void {
  view = next;
  history.replaceState(null, '', `#x=${view.x}&y=${view.y}&scale=${view.scale}&iter=${view.maxIter}`);
  requests.next({ view, on: onSelect.value as Where });
}

function cancel(): void {
  if (current === undefined || current.outcome !== 'running') return;
  const state = current;
  state.cancelledAt = performance.now();
  requests.next(null);
  state.cancelledBy = performance.timeOrigin + performance.now();
}

element('render').addEventListener('click', () => render());
cancelButton.addEventListener('click', cancel);
element('reset').addEventListener('click', () => render({ ...home, maxIter: Number(iterations.value) }));
iterations.addEventListener('change', () => render({ ...view, maxIter: Number(iterations.value) }));
onSelect.addEventListener('change', () => render());

/** Zooms by `factor` around the clicked point, showing the old image scaled until the tiles come. */
function zoom(event: MouseEvent, factor: number): void {
  event.preventDefault();
  const box = canvas.getBoundingClientRect();
  const px = ((event.clientX - box.left) / box.width) * width;
  const py = ((event.clientY - box.top) / box.height) * height;
  const x = view.x + (px - width / 2) * view.scale;
  const y = view.y + (py - height / 2) * view.scale;
  const sw = width / factor;
  const sh = height / factor;
  context.drawImage(canvas, px - sw / 2, py - sh / 2, sw, sh, 0, 0, width, height);
  render({ ...view, x, y, scale: view.scale / factor });
}
canvas.addEventListener('click', (event) => zoom(event, event.shiftKey ? 0.5 : 2));
canvas.addEventListener('contextmenu', (event) => zoom(event, 0.5));

// Tile tasks tell what they do on a BroadcastChannel: the status counts it.
const channel = new BroadcastChannel(activityChannel);
channel.onmessage = ({ data }: MessageEvent<Activity>) => {
  const state = current?.render === data.render ? current : undefined;
  if (state === undefined) return;
  if (state.cancelledAt !== undefined) state.afterCancel.push(data);
  if (data.kind === 'start') state.started.set(data.id, performance.now());
  else if (data.kind === 'done') state.done.add(data.id);
  else state.stopped.push({ id: data.id, row: data.row ?? 0, at: performance.now() });
};

const status = element('status');
const seconds = (ms: number) => `${(ms / 1_000).toFixed(2)} s`;
function showStatus(): void {
  const state = current;
  cancelButton.disabled = state?.outcome !== 'running';
  if (state === undefined) return;
  const elapsed = (state.endedAt ?? performance.now()) - state.startedAt;
  const where = state.on === 'threads' ? `${pool.size} thread${pool.size === 1 ? '' : 's'}` : 'the main thread';
  const lines = [
    `Render ${state.render} on ${where}: ${state.drawn} / ${state.total} tiles drawn in ${seconds(elapsed)}`,
  ];
  if (state.outcome === 'done') lines.push('Done.');
  if (state.outcome === 'failed') lines.push(`Failed: ${state.error}`);
  if (state.outcome === 'cancelled' || state.outcome === 'replaced') {
    lines.push(state.outcome === 'cancelled' ? 'Cancelled.' : 'Replaced by a new view.');
    if (state.on === 'threads') {
      const stopped = state.stopped.map((s) => `tile ${s.id} at row ${s.row} of ${tileSize}`).join(', ');
      lines.push(
        `Stopped mid-tile on seeing ctx.aborted: ${state.stopped.length}${stopped ? ` (${stopped})` : ''}.`,
        `Never started: ${state.total - state.started.size} tiles.`,
      );
    }
  }
  status.textContent = lines.join('\n');
}
setInterval(showStatus, 100);

element('isolation').textContent = crossOriginIsolated
  ? 'Cross-origin isolated: threads share memory with the page, and a running task reads ctx.aborted from it.'
  : 'Not cross-origin isolated (no COOP/COEP headers): a running tile sees the cancel only once it ends, or its thread is replaced.';

const meter = new FrameMeter(element('meter'), element('meter-label'));

/** What spec/browser/demo.spec.ts reads. */
const demo = {
  pool: () => ({ size: pool.size, stats: pool.stats() }),
  state: () => {
    const state = current;
    if (state === undefined) return undefined;
    const { started, done, stopped, afterCancel, ...rest } = state;
    return { ...rest, started: started.size, done: done.size, stopped, afterCancel };
  },
  /** The tiles a thread has started and not yet finished or stopped, and for how long (ms). */
  running: () => {
    const state = current;
    if (state === undefined) return [];
    const ended = new Set([...state.done, ...state.stopped.map((s) => s.id)]);
    const now = performance.now();
    return [...state.started].filter(([id]) => !ended.has(id)).map(([id, at]) => ({ id, for: now - at }));
  },
  /** The frames of the current render so far (or of the last one, up to its end). */
  frames: (): FrameStats | undefined =>
    current === undefined ? undefined : frameStats(meter.between(current.startedAt, current.endedAt)),
  /** The frames between two performance.now() times of the page (the second: now, if not given). */
  framesBetween: (from: number, to?: number): FrameStats => frameStats(meter.between(from, to)),
  checksum: () => fnv1a(context.getImageData(0, 0, width, height).data),
  render: (on: Where) => {
    onSelect.value = on;
    render();
  },
};
/** What `globalThis.demo` offers. */
export type Demo = typeof demo;
(globalThis as unknown as { demo: Demo }).demo = demo;

render();
