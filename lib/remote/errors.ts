/**
 * The caller lost (or never had) its connection to Redis, so the jobs it had in flight may be lost:
 * they fail with this error rather than wait forever. A task server's `ready` rejects with it when
 * Redis cannot be reached within `connectTimeout`. `cause` is the connection's last error.
 *
 * @example
 * ```ts
 * results$.pipe(retry({ count: 3, delay: 1_000 })); // resubmits after Redis comes back
 * ```
 */
export class RemoteConnectionError extends Error {
  override readonly name = 'RemoteConnectionError';
}
