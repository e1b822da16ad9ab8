// vite build --ssr: dist/main.js, and the task module as a second entry, dist/square.js.
export default {
  build: {
    outDir: 'dist',
    rollupOptions: {
      input: { main: 'main.ts', square: 'square.ts' },
      output: { entryFileNames: '[name].js' },
    },
  },
};
