import { expect } from 'chai';
import { ResultSpin, type ResultSpinHost } from '../../lib/engine/result-spin';

/** A host on a clock of the spec's (ms), whose turns wait in `pending` until the spec runs them. */
function fakeHost(overrides: Partial<ResultSpinHost> = {}) {
  const pending: (() => void)[] = [];
  const state = { due: true, awake: 1, turns: 0, time: 0 };
  const host: ResultSpinHost = {
    nextTurn: (turn) => void pending.push(turn),
    cores: 2,
    now: () => state.time,
    awake: () => state.awake,
    due: () => state.due,
    ...overrides,
  };
  /** Runs the pending turn, if any; returns whether there was one. */
  const runTurn = (): boolean => {
    const turn = pending.shift();
    if (turn === undefined) return false;
    state.turns++;
    turn();
    return true;
  };
  return { host, pending, state, runTurn };
}

/** A spin of 0.1 ms that ran past its moment with the outcome still due: a miss. */
function miss(spin: ResultSpin, { state, runTurn }: ReturnType<typeof fakeHost>): void {
  state.due = true;
  spin.posted();
  state.time += 1;
  while (runTurn());
}

describe('ResultSpin (the main thread awake for a lone value’s outcome)', () => {
  it('keeps the loop turning while outcomes are due, and stops once they are back', () => {
    const { host, pending, state, runTurn } = fakeHost();
    new ResultSpin(host, 0.1).posted();
    for (let i = 0; i < 10; i++) expect(runTurn()).to.equal(true);
    expect(pending).to.have.length(1);
    state.due = false;
    runTurn();
    expect(pending).to.have.length(0);
    expect(state.turns).to.equal(11);
  });

  it('stops at its deadline, and at 1,000 turns if the clock stands still', () => {
    const late = fakeHost();
    new ResultSpin(late.host, 0.1).posted();
    late.runTurn();
    late.state.time += 0.1;
    late.runTurn();
    expect(late.pending).to.have.length(0);
    expect(late.state.turns).to.equal(2);
    const frozen = fakeHost();
    new ResultSpin(frozen.host, 0.1).posted();
    while (frozen.runTurn() && frozen.state.turns <= 2_000);
    expect(frozen.state.turns).to.equal(1_000);
  });

  it('keeps one chain of turns when posts come while it turns, each post moving the deadline', () => {
    const { host, pending, state, runTurn } = fakeHost();
    const spin = new ResultSpin(host, 0.1);
    spin.posted();
    state.time = 0.05;
    spin.posted();
    expect(pending).to.have.length(1);
    state.time = 0.12;
    runTurn();
    expect(pending, 'the second post’s moment runs to 0.15 ms').to.have.length(1);
    state.time = 0.16;
    runTurn();
    expect(pending).to.have.length(0);
  });

  it('never takes a core that pool threads use: it stops while as many are awake as there are cores', () => {
    const { host, pending, state, runTurn } = fakeHost();
    new ResultSpin(host, 0.1).posted();
    runTurn();
    expect(pending).to.have.length(1);
    state.awake = 2;
    runTurn();
    expect(pending).to.have.length(0);
  });

  it('never turns on one core, nor where the platform has no turn to run it in', () => {
    const one = fakeHost({ cores: 1 });
    new ResultSpin(one.host, 0.1).posted();
    expect(one.pending).to.have.length(0);
    const none = fakeHost({ nextTurn: undefined });
    new ResultSpin(none.host, 0.1).posted();
    expect(none.state.turns).to.equal(0);
  });

  it('sleeps over lone values after two spins in vain, until an outcome comes within its moment of a post', () => {
    const host = fakeHost();
    const spin = new ResultSpin(host.host, 0.1);
    miss(spin, host);
    spin.posted();
    expect(host.pending, 'one miss: it still turns').to.have.length(1);
    host.state.time += 1;
    host.runTurn();
    spin.posted();
    expect(host.pending, 'two misses: no turn').to.have.length(0);
    host.state.time += 0.5;
    spin.heard();
    spin.posted();
    expect(host.pending, 'an outcome 0.5 ms after its post would not have been caught').to.have.length(0);
    host.state.time += 0.05;
    spin.heard();
    spin.posted();
    expect(host.pending, 'one 0.05 ms after its post would have been').to.have.length(1);
  });

  it('counts a spin that saw the outcome back as a hit, and one stopped for the threads as neither', () => {
    const host = fakeHost();
    const spin = new ResultSpin(host.host, 0.1);
    miss(spin, host);
    spin.posted();
    host.state.due = false;
    host.runTurn();
    miss(spin, host);
    spin.posted();
    expect(host.pending, 'a hit between two misses starts the count again').to.have.length(1);
    host.state.awake = 2;
    host.runTurn();
    host.state.awake = 1;
    spin.posted();
    expect(host.pending, 'a spin that gave way to the threads is no miss').to.have.length(1);
  });
});
