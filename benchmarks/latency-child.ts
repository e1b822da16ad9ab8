/**
 * One contender of the latency section in a process of its own (`latency-child.ts <index>
 * quick|full <threads>`), no other library's pool open in it. It opens the contender, tells the
 * parent, then runs what it is asked, one at a time: `warm` (the contender's calls, untimed),
 * `run` (`calls` lone calls, each timed; answers the times in µs), `close`.
 */
import { latencyContenders, timeCalls } from './latency';

type Request = { type: 'warm' } | { type: 'run'; calls: number } | { type: 'close' };

async function main(): Promise<void> {
  const [index = '0', mode = 'full', threads = '1'] = process.argv.slice(2);
  const send = (message: unknown) => process.send!(message);
  const contender = latencyContenders({ quick: mode === 'quick', threads: Number(threads) })[Number(index)]!;
  const { call, close } = await contender.open();
  const calls = (n: number) => timeCalls(contender, call, n);
  process.on('message', (request: Request) => {
    const answer = async () => {
      if (request.type === 'close') {
        await close();
        process.exit(0);
      }
      if (request.type === 'warm') {
        await calls(contender.calls);
        send({ type: 'done' });
        return;
      }
      send({ type: 'done', times: await calls(request.calls) });
    };
    answer().catch((error: unknown) => send({ type: 'error', message: String(error) }));
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  process.send?.({ type: 'error', message: String(error) });
  process.exit(1);
});
