/**
 * How a subscription's work ends, for a stream of jobs and for an `inThread` stage alike: its
 * source completed, it errored (with `error`), or the subscriber unsubscribed.
 */
export type Ending =
  | { readonly kind: 'complete' }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'unsubscribe' };

export type EndingKind = Ending['kind'];
