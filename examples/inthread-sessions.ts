// A stateful stage in its own thread: clicks stream in, sessions stream out, and the open
// sessions live inside the thread that inThread starts for the subscription (and stops after).
// Run: npx ts-node examples/inthread-sessions.ts
import { join } from 'node:path';
import { from, lastValueFrom, type Observable, toArray } from 'rxjs';
import { inThread, moduleTask } from 'rxthreads';
import type { Click, Session } from './tasks/sessions';

const sessionize = moduleTask<Observable<Click>, Observable<Session>>(
  join(__dirname, 'tasks', 'sessions.ts'),
  'sessionize',
);

/** A click log made up on the spot: `users` users clicking at random, reproducible from `seed`. */
export function clickLog(count: number, users = 8, seed = 7): Click[] {
  let state = seed;
  const random = (): number => {
    state = (state * 48_271) % 2_147_483_647; // Park-Miller: the same log on every run
    return state / 2_147_483_647;
  };
  let at = 0;
  const clicks: Click[] = [];
  for (let i = 0; i < count; i++) {
    // Mostly a few seconds between clicks, and now and then a quiet hour or two.
    at += Math.floor(random() < 0.005 ? (1 + random()) * 3_600_000 : random() * 30_000);
    clicks.push({ user: `user${Math.floor(random() * users)}`, at });
  }
  return clicks;
}

export function main(clicks: Click[] = clickLog(20_000)): Promise<Session[]> {
  return lastValueFrom(
    from(clicks).pipe(
      inThread(sessionize), // completes once the stage's thread has exited
      toArray(),
    ),
  );
}

if (require.main === module) {
  main().then((sessions) => {
    const longest = sessions.reduce((a, b) => (b.clicks > a.clicks ? b : a));
    const minutes = Math.round((longest.end - longest.start) / 60_000);
    console.log(
      `${sessions.length} sessions; the busiest: ${longest.user}, ${longest.clicks} clicks in ${minutes} min`,
    );
  });
}
