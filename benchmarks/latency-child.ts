/**
 * One contender of the latency section in a process of its own (`latency-child.ts <index>
 * quick|full <threads>`), no other library's pool open in it. It opens the contender, tells the
 * parent, then runs what it is asked, one at a time: `warm` (the contender's calls, untimed),
 * `run` (`calls` lone calls, each timed; answers the times in µs), `close`.
 */
import { serveParent } from './child';
import { latencyContenders, timeCalls } from './latency';

type Request = { type: 'warm' } | { type: 'run'; calls: number };

serveParent<Request>(async () => {
  const [index = '0', mode = 'full', threads = '1'] = process.argv.slice(2);
  const contender = latencyContenders({ quick: mode === 'quick', threads: Number(threads) })[Number(index)]!;
  const { call, close } = await contender.open();
  const calls = (n: number) => timeCalls(contender, call, n);
  return {
    first: { type: 'ready' },
    close,
    answer: async (request) => {
      if (request.type === 'warm') {
        await calls(contender.calls);
        return { type: 'done' };
      }
      return { type: 'done', times: await calls(request.calls) };
    },
  };
});
