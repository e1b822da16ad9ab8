/**
 * The scope an inline task is compiled in. Tools rewrite functions before they reach us: esbuild
 * (tsx) wraps named functions in `__name(…)`, TypeScript down-levelling calls tslib's helpers
 * (`__awaiter`, `__generator`, `__importStar`, …) and turns `await import('node:x')` into
 * `require('node:x')`. The thread provides those names, so such a task runs as written.
 */
/** esbuild's keepNames helper. */
function __name<T extends object>(target: T, value: string): T {
  return Object.defineProperty(target, 'name', { value, configurable: true });
}

/**
 * `require`, which is what TypeScript makes of `await import('x')` under `module: commonjs`. It
 * resolves from rxthreads' own place, so it finds Node's modules and the packages installed with it.
 */
function requireForInline(id: string): unknown {
  try {
    return require(id);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      `Inline task loads \`${id}\`, which a thread cannot find from where rxthreads is installed: ` +
        'use moduleTask for code that needs your own modules.',
      { cause: error },
    );
  }
}

let names: string[] | undefined;
let values: unknown[] | undefined;

function scope(): [string[], unknown[]] {
  if (names === undefined || values === undefined) {
    const helpers = require('tslib') as Record<string, unknown>;
    const entries: [string, unknown][] = Object.entries(helpers).filter(([name]) => name.startsWith('__'));
    entries.push(['__name', __name], ['require', requireForInline]);
    names = entries.map(([name]) => name);
    values = entries.map(([, value]) => value);
  }
  return [names, values];
}

/** `this` inside an inline task that is a method: it is not the object the method came from. */
const thisTrap = new Proxy(Object.create(null) as object, {
  get(_target, property) {
    throw new TypeError(
      `Inline task reads \`this.${String(property)}\`: a method sent to a thread is called on its own, without ` +
        'the object it belongs to (values cross threads as structured clones, without methods or prototype). ' +
        'Pass what it needs as input, or use a plain function.',
    );
  },
});

/** Evaluates an inline task's source in the global scope plus the helpers above. */
export function evaluateInline(source: string, sourceURL: string | undefined): unknown {
  const [helperNames, helperValues] = scope();
  const suffix = sourceURL === undefined ? '' : `\n//# sourceURL=${sourceURL}`;
  const evaluate = (text: string): unknown =>
    new Function(...helperNames, `return (${text});${suffix}`)(...helperValues);
  let value: unknown;
  try {
    value = evaluate(source);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A method written in shorthand (`{ square(x) { … } }.square`) has source `square(x) { … }`.
    const holder = evaluate(`{${source}}`) as Record<string, unknown>;
    value = Object.values(holder)[0];
  }
  // A function that reads `this` gets the trap, so a method that relied on its object says so.
  if (typeof value === 'function' && /\bthis\b/.test(source)) value = value.bind(thisTrap);
  return value;
}

/** Helpers that tools put into functions when they rewrite them, and the tool that puts each there. */
const transformHelpers: [pattern: RegExp, tool: string][] = [
  [
    /^_(interopRequire(Wildcard|Default)|asyncToGenerator|regeneratorRuntime|objectSpread2|defineProperty)$|^regeneratorRuntime$/,
    'babel (as babel-jest runs it)',
  ],
  [/^__vite_ssr_(dynamic_import|import|import_meta|exports)__$/, 'Vite (as vitest and Vite SSR run it)'],
  [/^__webpack_(require|exports|modules)__$/, 'webpack'],
  [/^__require$/, 'esbuild (an ES module bundle)'],
];

/** Why an inline task's reference to `name` failed, and what to do. */
export function explainMissing(name: string): string {
  const helper = transformHelpers.find(([pattern]) => pattern.test(name));
  if (helper !== undefined) {
    return (
      `Inline task reads \`${name}\`, a helper that ${helper[1]} put into the function when it rewrote it ` +
      "(`import()` becomes such a helper): the helper exists in the caller's process, not in a thread. " +
      "Load modules with `await ctx.import('node:zlib')`, which no tool rewrites, or use moduleTask."
    );
  }
  if (/^cov_\w+$/.test(name)) {
    return (
      `Inline task reads \`${name}\`, a coverage counter that istanbul (nyc) inserted into the function: ` +
      'instrumented inline tasks cannot run in a thread. Use moduleTask for code that runs under coverage, ' +
      'or measure coverage with V8 (c8), which does not rewrite functions.'
    );
  }
  const imported = /^(\w+)_\d+$/.exec(name)?.[1] ?? /^(?:import|__vite_ssr_import)_(\w+?)_*$/.exec(name)?.[1];
  if (imported !== undefined) {
    return (
      `Inline task reads \`${name}\`, which looks like an import (your compiler's name for the module \`${imported}\`): ` +
      "inline tasks must be self-contained, without the caller's imports. Import inside the task (`await ctx.import('node:…')`), " +
      'or use moduleTask.'
    );
  }
  return (
    `Inline task reads \`${name}\`, which is not defined in the thread: inline tasks must be self-contained ` +
    '(they may use only their parameters and globals). Pass the value as input, or use moduleTask.'
  );
}

/** Advice for a TypeError that a task threw, or '' when there is none. */
export function explainTypeError(message: string, inline: boolean): string {
  if (inline && /^crypto\.\w+ is not a function$/.test(message)) {
    return (
      " In a thread, `crypto` is the global WebCrypto object, not the node:crypto module: inline tasks cannot use the caller's imports. " +
      "Use `const { createHash } = await ctx.import('node:crypto')` inside the task, or moduleTask."
    );
  }
  const receiver = /^([\w$.[\]]+)\.\w+ is not a function$/.exec(message)?.[1];
  if (receiver !== undefined) {
    return (
      ` (If \`${receiver}\` came from the task's input: values cross threads as structured clones, so a class ` +
      'instance arrives as a plain object, without its methods or prototype. Pass plain data, and rebuild the ' +
      'object or call the function inside the task.)'
    );
  }
  return '';
}

const missingIdentifier = /^(\S+) is not defined$/;

/**
 * Whether an error was thrown by an inline task's own code: its first frame is the task's source,
 * evaluated under `inline-task(…)` (`sourceURL`) or anonymously. A ReferenceError from a module
 * the task called is that module's own, not a sign that the task is not self-contained.
 */
function thrownByInline(error: Error): boolean {
  const frame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  return frame === undefined || /inline-task\(|<anonymous>|\(eval at /.test(frame);
}

/** A clearer message for what a task threw, or `undefined` to keep its own. */
export function explainThrown(error: unknown, inline: boolean): string | undefined {
  if (inline && error instanceof ReferenceError && thrownByInline(error)) {
    const name = missingIdentifier.exec(error.message)?.[1];
    if (name !== undefined) return explainMissing(name);
  }
  if (error instanceof TypeError) {
    const advice = explainTypeError(error.message, inline);
    if (advice !== '') return error.message + advice;
  }
  return undefined;
}
