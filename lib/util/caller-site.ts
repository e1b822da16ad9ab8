import { TaskError } from './errors';

// This package's own files, not the caller: dist/ when installed, and the sources that the source
// maps of dist/ point to (a stack mapped by --enable-source-maps or ts-node names those).
// In the ES module builds (dist/esm and dist/browser, for bundlers) there is no `__dirname`: their
// frames are known by their folder; in an app bundled into one file, nothing tells rxthreads'
// frames from the app's. (Paths are taken apart by hand: the browser build imports no node: module.)
const here = typeof __dirname === 'string' ? __dirname : undefined;
const sep = here?.includes('\\') && !here.includes('/') ? '\\' : '/';
/** The folder `dir` is in (`dir` holds no trailing separator). */
const dirname = (dir: string): string => dir.slice(0, Math.max(dir.lastIndexOf(sep), 0)) || sep;
const parent = here === undefined ? undefined : dirname(dirname(here));
const packageRoot = parent === undefined || !parent.endsWith(`${sep}dist`) ? parent : dirname(parent);
const ownDirs =
  packageRoot === undefined
    ? ['esm', 'browser'].map((build) => `/rxthreads/dist/${build}/`)
    : [`${packageRoot}${sep}dist`, packageRoot].flatMap((root) =>
        ['lib', 'operators', 'index.', 'worker.', 'esm'].map((name) => root + sep + name),
      );

function isOwnFrame(line: string): boolean {
  return (
    ownDirs.some((dir) => line.includes(dir)) || line.includes('(node:') || /^\s*at (node:|new Promise)/.test(line)
  );
}

/** Where the caller stands now: a stack captured lazily (formatted only if a task fails). */
export interface CallerSite {
  readonly stack?: string;
}

export function callerSite(): CallerSite {
  const site: CallerSite = {};
  if (typeof Error.captureStackTrace === 'function') Error.captureStackTrace(site, callerSite);
  // Engines without it (not V8): every frame, under a first line for the one V8 puts there.
  else return { stack: `\n${new Error().stack ?? ''}` };
  return site;
}

/** The caller's frames of `site`, outside rxthreads. */
function callerFrames(site: CallerSite): string[] {
  return (site.stack ?? '')
    .split('\n')
    .slice(1)
    .filter((line) => !isOwnFrame(line));
}

/** `file:line:column` of the first frame outside rxthreads, for an inline task's sourceURL. */
export function creationPlace(): string | undefined {
  const frame = callerFrames(callerSite())[0];
  const place = frame && (/\((.*:\d+:\d+)\)$/.exec(frame)?.[1] ?? /at (.*:\d+:\d+)$/.exec(frame)?.[1]);
  return place?.replace(/\s/g, '%20');
}

/**
 * `promise`, whose TaskError names the caller's awaiting frames in its stack. This costs a fraction
 * of capturing a stack for every run: V8's async stack traces give the frames that awaited this,
 * at the moment of failure, and only then. A plain `then` is enough for V8 to walk from the
 * rejection handler to whoever awaits the promise it returns, and costs one promise, where an
 * async wrapper costs a generator, its registers, two await closures and a promise.
 */
export function withAwaitingCaller<T>(promise: Promise<T>): Promise<T> {
  return promise.then(undefined, addAwaitingCaller);
}

function addAwaitingCaller(error: unknown): never {
  throw withCallerSite(error, new Error());
}

/** Adds to a TaskError's stack where the run or stream that failed was created. */
export function withCallerSite<E>(error: E, site: CallerSite): E {
  if (error instanceof TaskError && !error.stack?.includes('\n    --- rxthreads: called from ---')) {
    const frames = callerFrames(site);
    if (frames.length > 0) error.stack = `${error.stack}\n    --- rxthreads: called from ---\n${frames.join('\n')}`;
  }
  return error;
}
