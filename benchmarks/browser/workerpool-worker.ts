/// <reference lib="dom" />
// workerpool's worker in a page: a classic Web Worker (bundled as one script) exposing `inc`.
import workerpool from 'workerpool';
import { inc } from './work';

workerpool.worker({ inc });
