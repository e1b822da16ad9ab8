import { expect } from 'chai';
import type { JobThread } from '../../lib/engine/job';
import { Group, type Job, newJob } from '../../lib/engine/job';
import { JobStates } from '../../lib/engine/job-states';
import type { EngineOptions } from '../../lib/engine/options';
import { Scheduler } from '../../lib/engine/scheduler';
import type { ThreadSet } from '../../lib/engine/thread-set';
import type { TaskDefinition } from '../../lib/task/definition';

/** A thread as the scheduler sees it: how many jobs (of one value each) it holds, and room for more. */
class FakeThread {
  inFlight = 0;
  get load(): number {
    return this.inFlight;
  }
  readonly started = true;
  lastHeard = performance.now();
  readonly held: Job[] = [];
  hasRoom(depth: number): boolean {
    return this.inFlight < depth;
  }
  assign(job: Job): void {
    this.inFlight++;
    this.held.push(job);
  }
  unstarted(): Job[] {
    return [];
  }
  /** The thread answered for its oldest job. */
  finishOne(): void {
    const job = this.held.shift()!;
    this.inFlight--;
    job.group.released(this as unknown as JobThread);
    this.lastHeard = performance.now();
  }
}

describe('Scheduler (main-thread scheduling logic)', () => {
  const def: TaskDefinition = { key: 1, kind: 'inline', source: '(x) => x' };
  const options = { mode: 'sequential', slotCount: 1024 } as EngineOptions;

  function setUp(threads: FakeThread[], jobs: number, groups: Group[] = [new Group(threads.length, Infinity, false)]) {
    const set = { threads, state: 'open', spawnMissing() {} } as unknown as ThreadSet;
    const scheduler = new Scheduler(options, set, new JobStates(), () => {});
    for (const group of groups) {
      for (let i = 0; i < jobs; i++) {
        scheduler.enqueue(group);
        group.push(newJob({ def, settle() {}, timeout: 0 }, group, i, undefined, { at: 0 }, i));
      }
    }
    scheduler.measured(256, 0.05); // tiny jobs (0.195 µs): a millisecond ahead is 5,120 of them
    return scheduler;
  }

  /** A stream's group whose values go several to a job. */
  function streamGroup(): Group {
    const group = new Group(2, Infinity, false);
    group.measuresValues(def.key, new Map());
    return group;
  }

  it("gives a thread a millisecond of a stream's tiny values ahead, past the 2,048 that run() calls get", () => {
    const a = new FakeThread();
    setUp([a], 20_000, [streamGroup()]).dispatch();
    expect(a.inFlight).to.equal(5_120);
    const b = new FakeThread();
    setUp([b], 20_000).dispatch();
    expect(b.inFlight).to.equal(2_048);
  });

  it('keeps the cap of 2,048 while jobs other than a stream of values are queued beside one', () => {
    const a = new FakeThread();
    setUp([a], 20_000, [streamGroup(), new Group(2, Infinity, false)]).dispatch();
    expect(a.inFlight).to.equal(2_048);
  });

  it('tops a busy thread up with a batch, never one job per result as results trickle in', () => {
    const a = new FakeThread();
    const b = new FakeThread();
    const scheduler = setUp([a, b], 20_000);
    scheduler.dispatch();
    const full = a.inFlight;
    expect(full).to.be.greaterThan(64);
    expect(b.inFlight).to.equal(full);
    // Results come back one at a time (a thread that answers each job alone): each answer is
    // followed by a dispatch, as the executor does.
    const topUps: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      a.finishOne();
      const before = a.inFlight;
      scheduler.dispatch();
      if (a.inFlight > before) topUps.push(a.inFlight - before);
    }
    expect(topUps.length).to.be.greaterThan(0);
    expect(Math.min(...topUps)).to.be.at.least(full / 4);
  });
});
