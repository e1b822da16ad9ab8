// Serves the browser demo: bundles main.ts (rxthreads by name, so dist/browser through the
// package's `browser` export condition, and rxjs) and tile.ts (the module task the workers load)
// with esbuild, and serves them with index.html on localhost, with the two headers that make the
// page cross-origin isolated (SharedArrayBuffer: threads read a cancel from shared memory).
//
//   npm run demo:browser              # builds rxthreads, then serves on http://localhost:8123/
//   PORT=9000 npm run demo:browser    # another port (0: any free one)
//
// spec/browser/demo.spec.ts starts the same server on a free port.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { build } from 'esbuild';

const here = __dirname;

/** The headers of a cross-origin isolated page. */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** main.js and tile.js, bundled in memory. */
async function bundle(): Promise<Record<string, string>> {
  const result = await build({
    entryPoints: { main: join(here, 'main.ts'), tile: join(here, 'tile.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: '/',
    write: false,
    minify: true,
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return Object.fromEntries(result.outputFiles.map((file) => [file.path.slice(1), file.text]));
}

export interface DemoServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Bundles the page and serves it on `host`:`port` (0: a free port). */
export async function startDemoServer({ port = 8123, host = '127.0.0.1' } = {}): Promise<DemoServer> {
  const scripts = await bundle();
  const files: Record<string, { body: string; type: string }> = {
    '/': { body: readFileSync(join(here, 'index.html'), 'utf8'), type: 'text/html; charset=utf-8' },
    '/main.js': { body: scripts['main.js']!, type: 'text/javascript; charset=utf-8' },
    '/tile.js': { body: scripts['tile.js']!, type: 'text/javascript; charset=utf-8' },
  };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const file = files[path === '/index.html' ? '/' : path];
    if (file === undefined) {
      response.writeHead(404, isolationHeaders).end('not found');
      return;
    }
    response
      .writeHead(200, { ...isolationHeaders, 'Content-Type': file.type, 'Cache-Control': 'no-store' })
      .end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://${host}:${bound}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (require.main === module) {
  startDemoServer({ port: process.env.PORT === undefined ? undefined : Number(process.env.PORT) }).then(
    ({ url }) => console.log(`rxthreads browser demo: ${url}  (Ctrl-C to stop)`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
