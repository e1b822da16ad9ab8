// An inThread stage: a whole RxJS stage that runs inside one thread, keeping its state there.
import { Observable } from 'rxjs';
import type { TaskContext } from 'rxthreads/worker';

export interface Click {
  user: string;
  /** Milliseconds since the start of the log; clicks arrive in time order. */
  at: number;
}

export interface Session {
  user: string;
  start: number;
  end: number;
  clicks: number;
}

/** A user's session ends after this long without a click. */
export const sessionGapMs = 30 * 60_000;

/**
 * Groups each user's clicks into sessions and emits a session as soon as it is over: when that
 * user clicks again after the gap, or when the clicks end. The open sessions are the stage's state.
 */
export function sessionize(clicks$: Observable<Click>, _ctx?: TaskContext): Observable<Session> {
  return new Observable<Session>((out) => {
    const open = new Map<string, Session>();
    return clicks$.subscribe({
      next(click) {
        const session = open.get(click.user);
        if (session !== undefined && click.at - session.end <= sessionGapMs) {
          session.end = click.at;
          session.clicks++;
          return;
        }
        if (session !== undefined) out.next(session);
        open.set(click.user, { user: click.user, start: click.at, end: click.at, clicks: 1 });
      },
      error: (error: unknown) => out.error(error),
      complete() {
        for (const session of open.values()) out.next(session);
        out.complete();
      },
    });
  });
}
