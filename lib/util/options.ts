/** Most items or keys of an array or object that an option error shows. */
const shownItems = 5;

/** A value inside an array or object, shown shortly: strings quoted, nested arrays and objects elided. */
function showItem(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return '[…]';
  if (typeof value === 'object' && value !== null) return '{…}';
  return typeof value === 'function' ? 'function' : String(value);
}

/** A received value as an option error shows it: arrays and objects with their first items, not `[object Object]`. */
function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const items = value.slice(0, shownItems).map(showItem);
    return `[${items.join(', ')}${value.length > shownItems ? ', …' : ''}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
    const name =
      prototype === null || prototype === Object.prototype ? '' : `${String(prototype.constructor?.name ?? '')} `;
    const keys = Object.keys(value);
    const shown = keys
      .slice(0, shownItems)
      .map((key) => `${key}: ${showItem((value as Record<string, unknown>)[key])}`);
    if (keys.length > shownItems) shown.push('…');
    return shown.length === 0 ? `${name}{}` : `${name}{ ${shown.join(', ')} }`;
  }
  return String(value);
}

/** Describes a received value for an option error, like p-queue: `` `0` (number) ``. */
function describe(value: unknown): string {
  let shown: string;
  try {
    shown = show(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}

export function optionError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}

export function checkObject(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw optionError(name, 'an object', value);
  }
}

/** A whole number from `min` to `max`, else a TypeError saying it is `expected`. */
function checkIntegerIn(name: string, value: unknown, min: number, max: number, expected: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(name, expected, value);
  }
}

/** A whole number >= `min`. */
export function checkInteger(name: string, value: unknown, min: number): void {
  checkIntegerIn(name, value, min, Number.POSITIVE_INFINITY, min === 1 ? 'a positive integer' : `an integer >= ${min}`);
}

/**
 * Most threads one pool may have. A pool starts all its threads at its first task, each a V8
 * isolate of several MB started synchronously: a `size` far beyond any machine's cores would hold
 * the caller's event loop while it grew, until memory ran out.
 */
export const maxThreads = 1024;

/** A number of threads: a whole number from 1 to `maxThreads`. */
export function checkThreadCount(name: string, value: unknown): void {
  checkIntegerIn(name, value, 1, maxThreads, `an integer from 1 to ${maxThreads}`);
}

/** A whole number >= `min`, or Infinity. */
export function checkIntegerOrInfinity(name: string, value: unknown, min: number): void {
  if (value === Number.POSITIVE_INFINITY) return;
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw optionError(name, min === 1 ? 'a positive integer or Infinity' : `an integer >= ${min} or Infinity`, value);
  }
}

export function checkType(name: string, value: unknown, type: 'string' | 'boolean' | 'function'): void {
  if (value !== undefined && typeof value !== type) {
    throw optionError(name, `a ${type}`, value);
  }
}

/** Most ms a timer can wait (setTimeout's limit). */
const maxTimeout = 2 ** 31 - 1;

/** Whole ms for a timer: an integer from 1 to 2^31 - 1 (what a timer can wait). */
export function checkTimerMs(name: string, value: unknown): void {
  checkIntegerIn(name, value, 1, maxTimeout, `an integer number of ms from 1 to ${maxTimeout}`);
}

/** A timeout in ms: a number > 0, at most 2^31 - 1 (what a timer can wait). */
export function checkTimeout(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0) || value > maxTimeout) {
    throw optionError(name, `a number of ms > 0 and <= ${maxTimeout}`, value);
  }
}

/** A grace period in ms: a number >= 0, at most 2^31 - 1 (what a timer can wait; beyond it Node fires at once). */
export function checkDelay(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value >= 0) || value > maxTimeout) {
    throw optionError(name, `a number of ms >= 0 and <= ${maxTimeout}`, value);
  }
}

export function checkSignal(name: string, value: unknown): void {
  if (value !== undefined && !(value instanceof AbortSignal)) throw optionError(name, 'an AbortSignal', value);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * Rejects keys of `options` that `known` does not list, with a did-you-mean: a misspelt option
 * (`{ concurency: 2 }`) would otherwise be ignored silently. `api` names whose options these are.
 */
export function checkKnownKeys(api: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = known
      .map((name) => ({ name, d: distance(key.toLowerCase(), name.toLowerCase()) }))
      .filter(({ name, d }) => d <= Math.max(2, Math.floor(name.length / 3)))
      .sort((a, b) => a.d - b.d)[0];
    const hint = near === undefined ? '' : ` Did you mean \`${near.name}\`?`;
    throw new TypeError(
      `Unknown option \`${key}\` of ${api}.${hint} Its options are ${known.map((name) => `\`${name}\``).join(', ')}.`,
    );
  }
}

/** How one option is checked: a `TypeError` naming it and echoing the value, if it is wrong. */
export type OptionCheck = (name: string, value: unknown) => void;

/** The checks option tables are made of. */
export const is = {
  positiveInteger: ((name, value) => checkInteger(name, value, 1)) as OptionCheck,
  threadCount: checkThreadCount as OptionCheck,
  timerMs: checkTimerMs as OptionCheck,
  positiveIntegerOrInfinity: ((name, value) => checkIntegerOrInfinity(name, value, 1)) as OptionCheck,
  countOrInfinity: ((name, value) => checkIntegerOrInfinity(name, value, 0)) as OptionCheck,
  delay: checkDelay as OptionCheck,
  timeout: checkTimeout as OptionCheck,
  signal: checkSignal as OptionCheck,
  string: ((name, value) => checkType(name, value, 'string')) as OptionCheck,
  boolean: ((name, value) => checkType(name, value, 'boolean')) as OptionCheck,
  function: ((name, value) => checkType(name, value, 'function')) as OptionCheck,
  oneOf:
    (...allowed: readonly string[]): OptionCheck =>
    (name, value) => {
      if (value !== undefined && !allowed.includes(value as string)) {
        throw optionError(
          name,
          allowed
            .map((a) => `'${a}'`)
            .join(', ')
            .replace(/, ([^,]*)$/, ' or $1'),
          value,
        );
      }
    },
  /** Checked elsewhere (by the code that takes it apart), or anything goes. */
  checkedElsewhere: (() => {}) as OptionCheck,
};

/** An option table: each option of `T` with its check. It does not compile unless every option is there. */
export type OptionTable<T> = { readonly [K in keyof Required<T> & string]: OptionCheck };

/**
 * Checks one family's options with its table: an object (or nothing), no unknown key (a TypeError
 * with a did-you-mean), then each option's check, in the table's order.
 */
export function checkOptions<T>(api: string, table: OptionTable<T>, options: T | undefined): void {
  checkObject('options', options);
  if (options === undefined) return;
  checkKnownKeys(api, options as object, Object.keys(table));
  for (const [name, check] of Object.entries(table) as [string, OptionCheck][]) {
    check(name, (options as Record<string, unknown>)[name]);
  }
}
