// webpack --config webpack.readable.config.cjs: as webpack.config.cjs, not minified, into
// dist-readable/. Minifying renames webpack's own helpers (__webpack_require__ becomes a letter),
// so an error can name the helper that an inline task reads only in a readable bundle.
const config = require('./webpack.config.cjs');

module.exports = {
  ...config,
  output: { ...config.output, path: `${config.output.path}-readable` },
  optimization: { minimize: false },
};
