// webpack --config webpack.config.cjs: one minified file, dist/main.js, for Node.
const { join } = require('node:path');

module.exports = {
  mode: 'production',
  target: 'node',
  entry: './main.ts',
  output: { path: join(__dirname, 'dist'), filename: 'main.js' },
  resolve: { extensions: ['.ts', '.js'] },
  module: { rules: [{ test: /\.ts$/, loader: 'ts-loader', options: { transpileOnly: true } }] },
};
