#!/usr/bin/env node
// rxthreads-worker: serves named tasks to RemotePool callers (see `rxthreads-worker --help`, docs/remote.md).
import { main } from '../lib/remote/server/cli';

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`rxthreads-worker: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
