// The layers of lib/ and the rules between them (see ARCHITECTURE.md). `npm run lint` checks them,
// and spec/unit/architecture.spec.ts shows that each rule catches a wrong import.
const anyLayer = '^(lib|operators)/';
/** A rule: files under `from` may import from `lib/` and `operators/` only what `allowed` matches. */
const layer = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: anyLayer, pathNot: allowed },
});

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycles, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    layer('util', '^lib/util/', '^lib/util/', 'util/ is the floor: it imports no other layer.'),
    layer('task', '^lib/task/', '^lib/(util|task)/', 'task/ (task kinds) builds on util/ only.'),
    layer('wire', '^lib/wire/', '^lib/(util|task|wire)/', 'wire/ (messages and codecs) builds on util/ and task/.'),
    layer(
      'engine',
      '^lib/engine/',
      '^lib/(util|task|wire|engine)/',
      'The engine never imports remote/, owners/, stream/ or operators/.',
    ),
    layer(
      'thread',
      '^lib/thread/',
      '^lib/(util|task|wire|thread)/',
      'thread/ runs inside a worker: it imports only wire/, task/ and util/.',
    ),
    layer('owners', '^lib/owners/', '^lib/(util|task|wire|engine|owners)/', 'Owners sit on the engine.'),
    layer(
      'stream',
      '^lib/stream/',
      '^lib/(util|task|wire|engine/port\\.ts$|owners|stream)',
      'The operators’ shared internals reach the engine only through its port.',
    ),
    layer(
      'operators',
      '^operators/',
      '^lib/(util|task|wire|engine/port\\.ts$|owners|stream)',
      'Operators reach the engine only through its port, and never load remote/.',
    ),
    layer(
      'remote',
      '^lib/remote/',
      '^lib/(util|task|wire|engine/port\\.ts$|owners|remote)',
      'remote/ plugs in through the engine port, as an owner of an engine of its own.',
    ),
    {
      name: 'core-never-loads-remote',
      comment: 'rxthreads and rxthreads/worker never load remote code, bullmq or ioredis.',
      severity: 'error',
      from: { path: '^(index|worker)\\.ts$|^lib/(?!remote/)|^operators/' },
      to: { path: '^lib/remote/|^remote\\.ts$|node_modules/(bullmq|ioredis)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|spec|benchmarks|examples)/' },
  },
};
