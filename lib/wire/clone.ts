import type { Transferable } from '../task/context';
import { checkNotDetached } from './transfer';

/** Finds the part of a value that structured clone refuses, for a `SerializationError` message. */

function kind(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'symbol') return 'a symbol';
  const name = (value as object | null)?.constructor?.name;
  return name ? `a ${name}` : 'an object';
}

function find(value: unknown, path: string, seen: Set<unknown>, depth: number): string | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return `\`${path}\` is ${kind(value)}`;
  if (typeof value !== 'object' || value === null || seen.has(value) || depth > 8) return undefined;
  seen.add(value);
  try {
    structuredClone(value);
    return undefined;
  } catch {
    // somewhere in here: look deeper
  }
  const entries: [string, unknown][] =
    value instanceof Map
      ? [...value].map(([key, entry]) => [`.get(${String(key)})`, entry])
      : value instanceof Set
        ? [...value].map((entry, index) => [`[set entry ${index}]`, entry])
        : Object.entries(value).map(([key, entry]) => [Array.isArray(value) ? `[${key}]` : `.${key}`, entry]);
  for (const [key, entry] of entries) {
    const found = find(entry, path + key, seen, depth + 1);
    if (found !== undefined) return found;
  }
  return `\`${path}\` is ${kind(value)}, which structured clone cannot copy`;
}

/**
 * "`input.onDone` is a function (…)": which part of `value` could not be cloned, and what crosses
 * threads. `name` is what the value is called (`input`, `result`, `value`).
 */
export function describeUnclonable(name: string, value: unknown, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  let part: string | undefined;
  try {
    part = find(value, name, new Set(), 0);
  } catch {
    part = undefined; // a getter that throws: the DataCloneError's message will have to do
  }
  const what = part === undefined ? reason : `${part} (${reason})`;
  return (
    `${what}. Values cross threads as structured clones: plain data, arrays, Maps, Sets, Dates, ` +
    'typed arrays and errors do; functions, symbols, class methods and native handles do not.'
  );
}

/** Bytes from which a binary input copied at the call is moved to its thread rather than copied again. */
const moveCopiesFrom = 1024 * 1024;

/** The buffer of a binary value (an ArrayBuffer, or a view on one), unless it is shared memory. */
function bufferOf(value: unknown): ArrayBuffer | undefined {
  const buffer = ArrayBuffer.isView(value) ? value.buffer : value;
  return buffer instanceof ArrayBuffer ? buffer : undefined;
}

/**
 * A call's input as it is at the call: a structured clone taken now, with the buffers in
 * `transfer` moved into it, as `postMessage` would take them. A job may wait for the end of the
 * turn (batching) or for a free thread; the caller may meanwhile change or reuse the object, and
 * the task must not see that. A primitive is its own copy. A binary input of 1 MiB or more is
 * copied here once and that copy moved to the thread, as if listed in `transfer` (so it is not
 * handed to a thread ahead of time, and fails rather than run again if its thread dies with it).
 * An input that cannot be cloned (or lists a buffer already moved) is left as it is: it fails with
 * `SerializationError` when it is sent.
 */
export function inputAtCall(
  input: unknown,
  transfer: readonly Transferable[] | undefined,
): { input: unknown; transfer: readonly Transferable[] | undefined } {
  if (typeof input !== 'object' || input === null) return { input, transfer };
  try {
    if (transfer === undefined || transfer.length === 0) {
      const copy = structuredClone(input);
      // A large buffer copied here is ours alone: it is moved to the thread rather than copied twice.
      const buffer = bufferOf(copy);
      return buffer !== undefined && buffer.byteLength >= moveCopiesFrom
        ? { input: copy, transfer: [buffer] }
        : { input: copy, transfer };
    }
    // A buffer moved away before would be cloned as an empty one: left for the send to refuse.
    if (checkNotDetached(transfer) !== undefined) return { input, transfer };
    // The list is cloned with the input, so that it names the moved buffers as the clone holds them.
    return structuredClone({ input, transfer }, { transfer: [...transfer] } as Parameters<typeof structuredClone>[1]);
  } catch {
    return { input, transfer };
  }
}
