// threads.js' worker in a page: a classic Web Worker (bundled as one script) exposing `inc`.
import { expose } from 'threads/worker';
import { inc } from './work';

expose({ inc });
