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
