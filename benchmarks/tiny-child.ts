/**
 * One group of the tiny-task benchmark in a process of its own (`tiny-child.ts <group> quick|full
 * <threads>`), so that one library's garbage and collections do not fall on another's cases. It
 * opens the group's pools, tells the parent its cases, then runs what it is asked, one at a time:
 * `warm` (a case until it has run for `warmMs`), `run` (a case untimed for `settleMs`, at least
 * once, then once timed here), `close`.
 */
import { serveParent } from './child';
import { check, nowMs } from './harness';
import { expected, type Group, openGroup, settleMs, warmMs } from './tiny';

type Request = { type: 'run' | 'warm'; index: number };

serveParent<Request>(async () => {
  const [group = '', mode = 'full', threads = '1'] = process.argv.slice(2);
  const { cases, close } = await openGroup(group as Group, mode === 'quick', Number(threads));
  const once = async (index: number) => {
    const c = cases[index]!;
    const start = nowMs();
    const sum = await c.once();
    const ms = nowMs() - start;
    check(sum, expected(c.tasks), c.label);
    return ms;
  };
  return {
    first: { type: 'cases', cases: cases.map(({ once: _, ...info }) => info) },
    close,
    answer: async (request) => {
      if (request.type === 'run') {
        // Untimed first, for `settleMs`: the process has been idle while the other groups ran. V8
        // may have run a full collection meanwhile (it does when allocation stops), which discards
        // rxthreads' and rxjs' optimized code, and the first runs after an idle spell are slower
        // until the process has been busy a while; the timed run is then a run of a warm process.
        const start = nowMs();
        do await once(request.index);
        while (nowMs() - start < settleMs);
        return { type: 'done', ms: await once(request.index) };
      }
      let spent = 0;
      for (let runs = 0; runs < 20 && (runs === 0 || spent < warmMs); runs++) spent += await once(request.index);
      return { type: 'done' };
    },
  };
});
