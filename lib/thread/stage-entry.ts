/**
 * The script an `inThread` stage thread starts with: the thread's state and its work live in one
 * StageThread, made here for the life of the thread.
 */
import { workerData } from 'node:worker_threads';
import type { StageInit } from '../wire/stage';
import { StageThread } from './stage-thread';

void new StageThread(workerData as StageInit).run();
