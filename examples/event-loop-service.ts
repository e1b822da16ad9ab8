// An event-loop service: a package-info lookup with a cache, living on its own EventLoopThread.
// runOnLoop sends it a stream of lookups, many at once; the main thread only routes values.
// Run: npx ts-node examples/event-loop-service.ts
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { from, lastValueFrom, repeat, toArray } from 'rxjs';
import { EventLoopThread, moduleTask, runOnLoop } from 'rxthreads';

export interface PackageInfo {
  name: string;
  version: string;
  license: string;
}

export interface ServiceStats {
  lookups: number;
  cacheHits: number;
  reads: number;
  inFlight: number;
  maxInFlight: number;
  cached: number;
}

const service = join(__dirname, 'tasks', 'package-info.mjs');
const lookup = moduleTask<string, PackageInfo>(service, 'lookup');
const stats = moduleTask<null, ServiceStats>(service, 'stats');

/** This project's installed packages (top level, scopes included). */
function packageDirs(): string[] {
  const root = join(__dirname, '..', 'node_modules');
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .flatMap((entry) =>
      entry.name.startsWith('@')
        ? readdirSync(join(root, entry.name)).map((name) => join(root, entry.name, name))
        : [join(root, entry.name)],
    )
    .sort();
}

/** Looks every package up `rounds` times: the first round reads from disk, later ones hit the cache. */
export async function main(
  dirs: string[] = packageDirs(),
  rounds = 2,
): Promise<{ infos: PackageInfo[]; stats: ServiceStats }> {
  // `await using`: the thread is closed (and has exited) when this function returns.
  await using loop = new EventLoopThread({ name: 'package-info' });
  const infos = await lastValueFrom(
    from(dirs).pipe(repeat(rounds), runOnLoop(loop, lookup, { concurrency: 16 }), toArray()),
  );
  return { infos, stats: await loop.submit(stats, null) };
}

if (require.main === module) {
  main().then(({ infos, stats }) => {
    for (const info of infos.slice(0, infos.length / 2)) console.log(`${info.name}@${info.version} (${info.license})`);
    console.log(stats);
  });
}
