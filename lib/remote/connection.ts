import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { is, type OptionCheck, optionError } from '../util/options';
import { RemoteConnectionError } from './errors';

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
  // ioredis parses a URL, and selects its database, only once it connects: a URL it cannot read
  // then throws where nothing can catch it. The same checks here are a TypeError at construction.
  if (typeof value === 'string') {
    // Echoed with its password masked (it may be what is wrong, but an error is no place for it).
    const shown = value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
    let url: URL;
    try {
      url = new URL(value);
      decodeURIComponent(url.username);
      decodeURIComponent(url.password);
    } catch {
      throw optionError(
        'connection',
        'a valid redis:// URL (a port up to 65535; `#`, `/`, `?`, `@` and `%` in a password percent-encoded)',
        shown,
      );
    }
    const db = url.pathname.slice(1);
    if (db !== '' && !/^\d+$/.test(db))
      throw optionError('connection', 'a redis:// URL whose path is a database number', shown);
    return;
  }
  const { db } = value as { db?: unknown };
  const isNumber =
    typeof db === 'number' ? Number.isInteger(db) && db >= 0 : typeof db === 'string' && /^\d+$/.test(db);
  if (db !== undefined && !isNumber) throw optionError('connection.db', 'a database number (an integer >= 0)', db);
}

/** How a remote pool and a task server both reach their queue: the options they share. */
export const remoteQueueTable = {
  queue: ((name, value) => {
    if (typeof value !== 'string' || value === '' || value.includes(':')) {
      throw optionError(name, 'a non-empty string without `:`', value);
    }
  }) as OptionCheck,
  connection: ((_, value) => checkConnection(value)) as OptionCheck,
  prefix: is.string,
  connectTimeout: is.timeout,
} as const;

/** A new ioredis client; `extra` options win over the user's. */
export function connect(connection: RedisConnection, extra: RedisOptions): Redis {
  // A socket still connecting when disconnected would otherwise hold the process for ioredis's
  // default 2 s before it is destroyed.
  const options = { disconnectTimeout: 100, ...(typeof connection === 'string' ? {} : connection), ...extra };
  const client = typeof connection === 'string' ? new Redis(connection, options) : new Redis(options);
  // ioredis reports every failed attempt as an 'error' event; without a listener it logs them. The
  // owners of these clients see failures through their commands and the 'close' event instead.
  client.on('error', () => {});
  return client;
}

/** BullMQ's connection option for the same Redis, so that BullMQ makes (and closes) its own clients. */
export function bullConnection(connection: RedisConnection, extra: RedisOptions): ConnectionOptions {
  // Typed by BullMQ as its own RedisOptions, whose retryStrategy is declared a little differently.
  const base = typeof connection === 'string' ? { url: connection } : connection;
  return { disconnectTimeout: 100, ...base, ...extra } as ConnectionOptions;
}

/** Where Redis is, for messages (a URL without its password). */
export function describeConnection(connection: RedisConnection): string {
  if (typeof connection === 'string') return connection.replace(/\/\/[^@/]*@/, '//');
  return `${connection.host ?? '127.0.0.1'}:${connection.port ?? 6379}`;
}

/** The error of a connection to Redis not ready within `ms`: where, how long, and its last error. */
export function connectTimeoutError(connection: RedisConnection, ms: number, lastError: Error | undefined): Error {
  const why = lastError === undefined ? '' : ` (${lastError.message})`;
  const message = `Could not connect to Redis at ${describeConnection(connection)} within ${ms} ms${why}`;
  return new RemoteConnectionError(message, { cause: lastError });
}
