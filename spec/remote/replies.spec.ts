// How a task server sends outcomes (no Redis): those known in one turn go to their caller together.
import { serialize } from 'node:v8';
import type { Job } from 'bullmq';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { JobProcessor, type ServerPool } from '../../lib/remote/server/processor';
import type { TaskLike } from '../../lib/task/task';
import {
  decodeReplies,
  decodeValue,
  encodeValue,
  type JobData,
  RemoteOutcome,
  type Reply,
} from '../../lib/wire/remote';

/** A processor over a pool whose runs the spec resolves by hand, and a client that records each reply command. */
function setUp() {
  /** Each input run, with its group's cancel reason once cancelled. */
  const runs: { input: unknown; resolve: (value: unknown) => void; group: { cancelled?: Error } }[] = [];
  const pool: ServerPool = {
    size: 2,
    runGroup: (_task, inputs) => {
      const group: { cancelled?: Error } = {};
      return {
        runs: inputs.map((input) => new Promise((resolve) => runs.push({ input, resolve, group }))),
        cancel: (reason) => {
          group.cancelled ??= reason;
        },
      };
    },
  };
  /** Whether the callers' live keys exist, as EXISTS and the reply command find them; and the EXISTS asked. */
  const live = { exists: true, asked: [] as string[] };
  /** Each reply command: its list, and the elements it pushes. */
  const commands: { list: string; elements: Buffer[]; write: number }[] = [];
  /** Writes to Redis: a command alone, or a pipeline of several. */
  let writes = 0;
  const reply = (write: number, list: string, elements: Buffer[]) => {
    if (!live.exists) return 0;
    commands.push({ list, elements, write });
    return 1;
  };
  const client = {
    defineCommand: () => {},
    exists: async (key: string) => {
      live.asked.push(key);
      return live.exists ? 1 : 0;
    },
    rxthreadsReply: async (list: string, _live: string, _ttl: number, ...elements: Buffer[]) =>
      reply(writes++, list, elements),
    pipeline: () => {
      const queued: [string, Buffer[]][] = [];
      const pipeline = {
        rxthreadsReply: (list: string, _live: string, _ttl: number, ...elements: Buffer[]) => {
          queued.push([list, elements]);
          return pipeline;
        },
        exec: async () => {
          const write = writes++;
          return queued.map(([list, elements]) => [null, reply(write, list, elements)]);
        },
      };
      return pipeline;
    },
  } as unknown as Redis;
  const tasks = new Map<string, TaskLike<unknown, unknown>>([['echo', (x: unknown) => x]]);
  const processor = new JobProcessor(pool, client, tasks, 'q', () => false);
  let id = 0;
  /** Runs a job of `inputs` for the caller whose reply list is `list`. */
  const process = (inputs: unknown[], list = 'replies') => {
    const data: JobData = {
      t: 'echo',
      i: inputs.map((input) => encodeValue(input, 'The input').toString('base64')),
      r: list,
      l: `${list}:live`,
      a: 1,
      o: 0,
    };
    const job = { id: `job-${id++}`, data, attemptsStarted: 1 } as unknown as Job;
    return processor.process(job, 'token', new AbortController().signal);
  };
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  /** The outcomes of a command, element by element: [job id, index, value] each. */
  const outcomes = (command: { elements: Buffer[] }) =>
    command.elements.map((element) =>
      decodeReplies(element).map(([job, index, outcome, value]) => {
        expect(outcome).to.equal(RemoteOutcome.Ok);
        return [job, index, decodeValue(value as Buffer)];
      }),
    );
  return { runs, commands, process, turn, outcomes, live };
}

describe('Task server replies (JobProcessor)', () => {
  it('sends the outcomes known in one turn, of several jobs, to their caller in one command and one element', async () => {
    const { runs, commands, process, turn, outcomes } = setUp();
    const jobs = [process([1, 2, 3]), process([4, 5])];
    await turn();
    expect(runs.map((run) => run.input)).to.deep.equal([1, 2, 3, 4, 5]);
    for (const run of runs.slice(0, 4)) run.resolve(Number(run.input) * 10);
    await turn();
    expect(commands).to.have.length(1);
    expect(outcomes(commands[0]!)).to.deep.equal([
      [
        ['job-0', 0, 10],
        ['job-0', 1, 20],
        ['job-0', 2, 30],
        ['job-1', 0, 40],
      ],
    ]);
    // An outcome known in a later turn goes in a command of its own, as soon as it is known.
    runs[4]!.resolve(50);
    await Promise.all(jobs);
    expect(commands).to.have.length(2);
    expect(outcomes(commands[1]!)).to.deep.equal([[['job-1', 1, 50]]]);
  });

  it('sends each caller its own outcomes, the commands of one turn in one write', async () => {
    const { runs, commands, process, turn } = setUp();
    const jobs = [process([1], 'a'), process([2], 'b'), process([3], 'a')];
    await turn();
    for (const run of runs) run.resolve(run.input);
    await Promise.all(jobs);
    expect(commands.map(({ list, elements, write }) => [list, elements.length, write])).to.deep.equal([
      ['a', 1, 0],
      ['b', 1, 0],
    ]);
    expect(decodeReplies(commands[0]!.elements[0]!).map(([job]) => job)).to.deep.equal(['job-0', 'job-2']);
  });

  it('splits the outcomes of one command into elements of about 1 MiB, a larger one alone', async () => {
    const { runs, commands, process, turn, outcomes } = setUp();
    const job = process([0, 1, 2, 3, 4]);
    await turn();
    const sizes = [400_000, 400_000, 400_000, 2_000_000, 10];
    for (const [i, run] of runs.entries()) run.resolve(new Uint8Array(sizes[i]!).fill(i));
    await job;
    expect(commands).to.have.length(1);
    const elements = outcomes(commands[0]!);
    expect(elements.map((element) => element.map(([, index]) => index))).to.deep.equal([[0, 1], [2], [3], [4]]);
    for (const element of elements) {
      for (const [, index, value] of element) expect((value as Uint8Array).length).to.equal(sizes[index as number]);
    }
  });

  it('reads a reply list element holding one outcome alone, as workers sent them before', () => {
    const reply: Reply = ['job-0', 3, RemoteOutcome.Ok, encodeValue(7, 'The result'), undefined, 0.1];
    expect(decodeReplies(serialize(reply))).to.deep.equal([reply]);
    expect(() => decodeReplies(serialize('not a reply'))).to.throw(TypeError);
  });

  it('asks whether a caller is alive before its first job, not for jobs within a second of an outcome pushed to it', async () => {
    const { runs, process, turn, live } = setUp();
    for (let n = 0; n < 5; n++) {
      const job = process([n]);
      await turn();
      runs.at(-1)!.resolve(n);
      await job;
    }
    expect(live.asked).to.deep.equal(['replies:live']);
    expect(runs.every((run) => run.group.cancelled === undefined)).to.equal(true);
    // Another caller is asked about on its own.
    const other = process([5], 'other');
    await turn();
    runs.at(-1)!.resolve(5);
    await other;
    expect(live.asked).to.deep.equal(['replies:live', 'other:live']);
  });

  it('stops a job whose caller is gone, and asks again about a caller after an outcome found its key gone', async () => {
    const { runs, process, turn, live } = setUp();
    const first = process([1]);
    await turn();
    runs[0]!.resolve(1);
    await first;
    // The caller closes: its key is deleted. The next outcome is refused, and the job after it is stopped.
    live.exists = false;
    const second = process([2]);
    await turn();
    expect(runs[1]!.group.cancelled).to.equal(undefined); // confirmed alive less than a second ago
    runs[1]!.resolve(2);
    await second;
    const third = process([3]).catch((error: unknown) => error);
    await turn();
    expect(live.asked).to.deep.equal(['replies:live', 'replies:live']);
    expect(runs[2]!.group.cancelled?.message).to.equal('Its caller is gone');
    runs[2]!.resolve(undefined);
    await third;
  });
});
