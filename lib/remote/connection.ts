import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { optionError } from '../validate';

/**
 * Where Redis is: a `redis://` (or `rediss://`) URL, or ioredis options.
 *
 * @example
 * ```ts
 * const at: RedisConnection = { host: '127.0.0.1', port: 6379, db: 2 };
 * ```
 */
export type RedisConnection = string | RedisOptions;

export function checkConnection(value: unknown): void {
  if (typeof value === 'string' ? !/^rediss?:\/\//.test(value) : typeof value !== 'object' || value === null) {
    throw optionError('connection', 'a redis:// URL or ioredis options', value);
  }
}

/** A new ioredis client; `extra` options win over the user's. */
export function connect(connection: RedisConnection, extra: RedisOptions): Redis {
  const client = typeof connection === 'string' ? new Redis(connection, extra) : new Redis({ ...connection, ...extra });
  // ioredis reports every failed attempt as an 'error' event; without a listener it logs them. The
  // owners of these clients see failures through their commands and the 'close' event instead.
  client.on('error', () => {});
  return client;
}

/** BullMQ's connection option for the same Redis, so that BullMQ makes (and closes) its own clients. */
export function bullConnection(connection: RedisConnection, extra: RedisOptions): ConnectionOptions {
  // Typed by BullMQ as its own RedisOptions, whose retryStrategy is declared a little differently.
  const options = typeof connection === 'string' ? { url: connection, ...extra } : { ...connection, ...extra };
  return options as ConnectionOptions;
}

/** Where Redis is, for messages (a URL without its password). */
export function describeConnection(connection: RedisConnection): string {
  if (typeof connection === 'string') return connection.replace(/\/\/[^@/]*@/, '//');
  return `${connection.host ?? '127.0.0.1'}:${connection.port ?? 6379}`;
}
