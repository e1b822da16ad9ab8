/** Describes a received value for an option error, like p-queue: `` `0` (number) ``. */
function describe(value: unknown): string {
  let shown: string;
  try {
    shown = typeof value === 'string' ? value : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  return `\`${shown}\` (${value === null ? 'null' : typeof value})`;
}

export function optionError(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}

export function checkObject(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw optionError(name, 'an object', value);
  }
}

/** A whole number >= `min`. */
export function checkInteger(name: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw optionError(name, min === 1 ? 'a positive integer' : `an integer >= ${min}`, value);
  }
}

/** A whole number >= `min`, or Infinity. */
export function checkIntegerOrInfinity(name: string, value: unknown, min: number): void {
  if (value === Number.POSITIVE_INFINITY) return;
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw optionError(name, min === 1 ? 'a positive integer or Infinity' : `an integer >= ${min} or Infinity`, value);
  }
}

export function checkNonNegativeNumber(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw optionError(name, 'a finite number >= 0', value);
  }
}

export function checkType(name: string, value: unknown, type: 'string' | 'boolean' | 'function'): void {
  if (value !== undefined && typeof value !== type) {
    throw optionError(name, `a ${type}`, value);
  }
}

/** Most ms a timer can wait (setTimeout's limit). */
const maxTimeout = 2 ** 31 - 1;

/** A timeout in ms: a number > 0, at most 2^31 - 1 (what a timer can wait). */
export function checkTimeout(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0) || value > maxTimeout) {
    throw optionError(name, `a number of ms > 0 and <= ${maxTimeout}`, value);
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

/**
 * The keys of an options type, listed once at run time for {@link checkKnownKeys}. It does not
 * compile unless every key of `T` is listed, so a new option cannot be forgotten here:
 * `optionKeys<ThreadPoolOptions>()('size', 'maxQueue', …)`.
 */
export function optionKeys<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    ...keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> })
  ): readonly string[] => keys;
}
