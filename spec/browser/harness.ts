// The browser tier's harness: a static server on a loopback port, a page bundled from
// spec/browser/page/ (which imports `rxthreads` through the package's `browser` export condition,
// so it runs dist/browser), and headless Chromium from the Debian `chromium` package, driven by
// playwright-core (which never downloads a browser of its own). Pages under /isolated/ are served
// with COOP and COEP headers (cross-origin isolated: SharedArrayBuffer), pages under /plain/
// without them (the fallback without shared memory).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const root = join(__dirname, '..', '..');
export const chromiumPath = process.env.RXTHREADS_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that work on this kind of machine, as root, with nothing fetched from outside. */
const chromiumFlags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * For the `describe` of browser specs: without Chromium they are pending with a one-line reason,
 * unless RXTHREADS_REQUIRE_CHROMIUM=1 (CI), where a missing browser fails them.
 */
export function requireChromium(context: Mocha.Context): void {
  if (existsSync(chromiumPath)) return;
  if (process.env.RXTHREADS_REQUIRE_CHROMIUM === '1') {
    throw new Error(`${chromiumPath} not found, and RXTHREADS_REQUIRE_CHROMIUM=1 requires it`);
  }
  console.log(`    browser specs pending: no Chromium at ${chromiumPath} (apt-get install chromium)`);
  context.skip();
}

/** The page's script: spec/browser/page/cases.mjs and what it imports, rxthreads and rxjs included. */
async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(__dirname, 'page', 'cases.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    absWorkingDir: root,
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/** rxjs as one ES module, for task modules that import it by URL (a stage). */
async function bundleRxjs(): Promise<string> {
  const result = await build({
    stdin: { contents: "export * from 'rxjs';", resolveDir: root },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/**
 * Headless Chromium with the flags above and a fresh profile, for a spec or benchmark that serves
 * its own pages; `close` ends it and removes the profile.
 */
export async function launchChromium(
  viewport = { width: 1280, height: 720 },
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'rxthreads-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export type Mode = 'isolated' | 'plain';

export class BrowserHarness {
  private server: Server | undefined;
  private context: BrowserContext | undefined;
  private profile: string | undefined;
  private origin = '';
  /** Folders served as they are under /app/<name>/ (apps built by a bundler), without isolation. */
  private readonly apps = new Map<string, string>();

  async start(): Promise<void> {
    const [page, rxjs] = await Promise.all([bundlePage(), bundleRxjs()]);
    const files: Record<string, { body: string | Buffer; type: string }> = {
      'index.html': {
        body: '<!doctype html><title>rxthreads</title><script type="module" src="page.js"></script>',
        type: 'text/html',
      },
      'page.js': { body: page, type: 'text/javascript' },
      'tasks/rxjs.mjs': { body: rxjs, type: 'text/javascript' },
    };
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const [, mode, ...rest] = url.pathname.split('/');
      const path = rest.join('/');
      if (mode === 'app') {
        this.serveApp(path, response);
        return;
      }
      const headers = mode === 'isolated' ? isolationHeaders : {};
      let file = files[path];
      if (file === undefined && path.startsWith('tasks/') && !path.includes('..')) {
        const fixture = join(__dirname, 'fixtures', path.slice('tasks/'.length));
        if (existsSync(fixture))
          file = { body: readFileSync(fixture), type: extname(fixture) === '.js' ? 'text/javascript' : 'text/plain' };
      }
      if ((mode !== 'isolated' && mode !== 'plain') || file === undefined) {
        response.writeHead(404, headers).end();
        return;
      }
      response.writeHead(200, { ...headers, 'Content-Type': file.type, 'Cache-Control': 'no-store' }).end(file.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    this.profile = mkdtempSync(join(tmpdir(), 'rxthreads-chromium-'));
    this.context = await chromium.launchPersistentContext(this.profile, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumFlags,
    });
  }

  /** Serves the files of `dir` under /app/<name>/. */
  serve(name: string, dir: string): string {
    this.apps.set(name, dir);
    return `${this.origin}/app/${name}/`;
  }

  private serveApp(path: string, response: import('node:http').ServerResponse): void {
    const [name, ...rest] = path.split('/');
    const dir = this.apps.get(name!);
    const file =
      dir === undefined || rest.includes('..') ? undefined : join(dir, ...rest, rest.at(-1) === '' ? 'index.html' : '');
    if (file === undefined || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript' };
    response
      .writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' })
      .end(readFileSync(file));
  }

  /** A new page at `url`. */
  async visit(url: string): Promise<Page> {
    return this.context!.newPage().then(async (page) => {
      await page.goto(url);
      return page;
    });
  }

  /** A new page, cross-origin isolated or not, once its cases are registered. */
  async open(mode: Mode): Promise<BrowserPage> {
    const page = await this.context!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.stack ?? error.message));
    await page.goto(`${this.origin}/${mode}/index.html`);
    await page.waitForFunction(() => 'rxthreadsCases' in globalThis, undefined, { timeout: 10_000 });
    return new BrowserPage(page, errors);
  }

  async close(): Promise<void> {
    await this.context?.close();
    await new Promise((resolve) => this.server?.close(resolve) ?? resolve(undefined));
    if (this.profile !== undefined) rmSync(this.profile, { recursive: true, force: true });
  }
}

export class BrowserPage {
  constructor(
    readonly page: Page,
    /** Errors nobody caught in the page (uncaught exceptions, unhandled rejections). */
    readonly errors: string[],
  ) {}

  /** Runs a case of page/cases.mjs in the page; resolves with what it returned. */
  run<T = unknown>(name: string): Promise<T> {
    return this.page.evaluate(
      (caseName) =>
        (globalThis as unknown as { rxthreadsCases: Record<string, () => Promise<unknown>> }).rxthreadsCases[
          caseName
        ]!(),
      name,
    ) as Promise<T>;
  }

  close(): Promise<void> {
    return this.page.close();
  }
}
