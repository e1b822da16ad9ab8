// vite build --ssr --config vite.bundled.config.js: as vite.config.js, with every dependency
// (rxthreads and rxjs too) bundled into dist-bundled/main.js.
import config from './vite.config.js';

export default {
  ...config,
  ssr: { noExternal: true },
  build: { ...config.build, outDir: 'dist-bundled' },
};
