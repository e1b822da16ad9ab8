import { runInThisContext } from 'node:vm';
import { expect } from 'chai';
import { isBareTask } from '../../lib/thread/bare-task';

/** The value a task is given as its second argument here: a task that returns it could reach it. */
const second = { context: true };
const compile = (source: string) => runInThisContext(`(${source})`) as (input: unknown, ctx: unknown) => unknown;
/** Whether calling the function can give back its second argument (each one below returns it if it can). */
const reaches = (fn: (input: unknown, ctx: unknown) => unknown) => {
  try {
    const result = fn([0], second);
    return result === second || (Array.isArray(result) && result.includes(second));
  } catch {
    return true;
  }
};

describe('isBareTask (a task called without its context)', () => {
  const bare = [
    '(x) => x + 1',
    'x => x * 2',
    'async (x) => x',
    'async x => x',
    '() => 1',
    'function inc(x) { return x + 1; }',
    'async function inc(x) { return x; }',
    'function* numbers(x) { yield x; }',
    '({ length }) => length',
    '([first]) => first',
    '(x) => x + \'(\' + `)` + "="',
    '(x) => { const same = x === 1; return same; }',
  ];
  const reaching = [
    '(x, ctx) => ctx',
    '(x, ...rest) => rest[0]',
    '(x, ctx = undefined) => ctx',
    '(x = 1, ctx) => ctx',
    '(x,) => x',
    'function (x) { return arguments[1]; }',
    "function (x) { return eval('argu' + 'ments[1]'); }",
    '(x /* ) */, ctx) => ctx',
    '({ a = 1 }) => a',
    '\\u0078 => x',
    // An escape spells the same identifier: `arguments` and a direct `eval`.
    'function (x) { return argument\\u0073[1]; }',
    "function (x) { return ev\\u0061l('argu' + 'ments[1]'); }",
  ];

  for (const source of bare) {
    it(`calls \`${source}\` bare: it cannot reach a second argument`, () => {
      const fn = compile(source);
      expect(isBareTask(fn)).to.equal(true);
      expect(reaches(fn)).to.equal(false);
    });
  }

  for (const source of reaching) {
    it(`hands \`${source}\` its context: it may reach it, or the check cannot tell`, () => {
      expect(isBareTask(compile(source))).to.equal(false);
    });
  }

  it('hands a context to what it cannot read: bound and native functions, classes, a redefined length', () => {
    const reader = compile('(x, ctx) => ctx');
    expect(reaches(reader.bind(null))).to.equal(true);
    expect(isBareTask(reader.bind(null))).to.equal(false);
    expect(isBareTask(Math.abs)).to.equal(false);
    expect(isBareTask(compile('class Task {}'))).to.equal(false);
    const shortened = compile('(x, ctx) => ctx');
    Object.defineProperty(shortened, 'length', { value: 0 });
    expect(isBareTask(shortened)).to.equal(false);
    expect(
      isBareTask(
        {
          method(x: number) {
            return x;
          },
        }.method,
      ),
    ).to.equal(true);
  });
});
