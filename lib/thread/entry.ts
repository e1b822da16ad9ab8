/**
 * The script every rxthreads pool or event-loop thread starts with: the thread's state and its work
 * live in one PoolThread, made here for the life of the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadInit } from '../wire/thread';
import { PoolThread } from './pool-thread';

if (parentPort === null) throw new Error('rxthreads: the thread entry must run in a worker thread');
new PoolThread(parentPort, workerData as ThreadInit).listen();
