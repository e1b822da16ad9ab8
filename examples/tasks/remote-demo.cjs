'use strict';
// The tasks module of the remote demo's workers (`rxthreads-worker --tasks`): the name the caller
// uses, and the code it means here. Job data never names code.
const { moduleTask } = require('rxthreads');

module.exports = {
  processFile: moduleTask(require.resolve('../demo/process-file.cjs'), 'processFile'),
};
