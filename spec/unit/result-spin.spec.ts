import { expect } from 'chai';
import { ResultSpin, type ResultSpinHost } from '../../lib/engine/result-spin';

/** A host whose turns wait in `pending` until the spec runs them, one at a time. */
function fakeHost(overrides: Partial<ResultSpinHost> = {}) {
  const pending: (() => void)[] = [];
  const state = { due: true, awake: 1, turns: 0 };
  const host: ResultSpinHost = {
    nextTurn: (turn) => void pending.push(turn),
    cores: 2,
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

describe('ResultSpin (the main thread awake for outcomes due)', () => {
  it('keeps the loop turning while outcomes are due, and stops once they are back', () => {
    const { host, pending, state, runTurn } = fakeHost();
    const spin = new ResultSpin(host, 1e9);
    spin.posted();
    for (let i = 0; i < 10; i++) expect(runTurn()).to.equal(true);
    expect(pending).to.have.length(1);
    state.due = false;
    runTurn();
    expect(pending).to.have.length(0);
    expect(state.turns).to.equal(11);
  });

  it('stops at its deadline', () => {
    const { host, pending, runTurn } = fakeHost();
    new ResultSpin(host, 0).posted();
    expect(pending).to.have.length(1);
    runTurn();
    expect(pending).to.have.length(0);
  });

  it('stops after 1,000 turns whatever the clock says', () => {
    const { host, state, runTurn } = fakeHost();
    new ResultSpin(host, Number.POSITIVE_INFINITY).posted();
    while (runTurn()) {
      if (state.turns > 2_000) break;
    }
    expect(state.turns).to.equal(1_000);
  });

  it('keeps one chain of turns when posts come while it turns, and starts again after it stopped', () => {
    const { host, pending, state, runTurn } = fakeHost();
    const spin = new ResultSpin(host, 1e9);
    spin.posted();
    spin.posted();
    expect(pending).to.have.length(1);
    runTurn();
    spin.posted();
    expect(pending).to.have.length(1);
    state.due = false;
    runTurn();
    expect(pending).to.have.length(0);
    state.due = true;
    spin.posted();
    expect(pending).to.have.length(1);
  });

  it('never takes a core that pool threads use: it stops while as many are awake as there are cores', () => {
    const { host, pending, state, runTurn } = fakeHost();
    const spin = new ResultSpin(host, 1e9);
    spin.posted();
    runTurn();
    expect(pending).to.have.length(1);
    state.awake = 2;
    runTurn();
    expect(pending).to.have.length(0);
  });

  it('never turns on one core, nor where the platform has no turn to run it in', () => {
    const one = fakeHost({ cores: 1 });
    new ResultSpin(one.host, 1e9).posted();
    expect(one.pending).to.have.length(0);
    const none = fakeHost({ nextTurn: undefined });
    new ResultSpin(none.host, 1e9).posted();
    expect(none.state.turns).to.equal(0);
  });
});
