#!/usr/bin/env node

// Runs a task server for RemotePool callers: see `rxthreads-worker --help` and docs/remote.md.
require('../dist/lib/remote/cli.js')
  .main(process.argv.slice(2))
  .catch((error) => {
    console.error(`rxthreads-worker: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
  });
