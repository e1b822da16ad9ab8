// comlink's worker: a module Web Worker exposing `inc`.
import { expose } from 'comlink';
import { inc } from './work';

expose({ inc });
