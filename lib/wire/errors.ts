import { TaskError } from '../util/errors';

/** An error as it crosses the boundary: enough to rebuild it with its name, stack and properties. */
export interface WireError {
  readonly name: string;
  /** The error's own message, which the rebuilt error keeps. */
  readonly message: string;
  readonly stack: string | undefined;
  readonly props: Record<string, unknown>;
  /** What the caller's error (the `TaskError` or `SerializationError` around it) says instead, if anything. */
  readonly display?: string;
}

/** What the caller's error around `wire` says: its `display` if it has one, else its own message. */
export const displayOf = (wire: WireError): string => wire.display ?? wire.message;

/**
 * Turns anything thrown into a cloneable description of it. `display`: what the caller's error
 * says instead of the thrown error's own message (advice, or what could not be cloned), which the
 * rebuilt error (the caller's `cause`) keeps as it was.
 */
export function toWire(thrown: unknown, display?: string): WireError {
  if (!(thrown instanceof Error)) {
    const props: Record<string, unknown> = {};
    try {
      props.thrown = structuredClone(thrown);
    } catch {
      // not cloneable: the message says what it was
    }
    const message = `Non-error value thrown: ${String(thrown)}`;
    return { name: 'Error', message, stack: undefined, props, ...(display === undefined ? {} : { display }) };
  }
  const props: Record<string, unknown> = {};
  for (const name of Object.keys(thrown)) {
    if (name === 'name' || name === 'message' || name === 'stack') continue;
    try {
      props[name] = structuredClone((thrown as unknown as Record<string, unknown>)[name]);
    } catch {
      // a property that cannot be cloned stays behind
    }
  }
  if (thrown.cause !== undefined && !('cause' in props)) {
    try {
      props.cause = structuredClone(thrown.cause);
    } catch {
      props.cause = String(thrown.cause);
    }
  }
  const wire = { name: String(thrown.name), message: String(thrown.message), stack: thrown.stack, props };
  return display === undefined ? wire : { ...wire, display };
}

/** Rebuilds an error that crossed from a thread, keeping its name, stack and properties. */
export function rebuildError(wire: WireError): Error {
  const error = new Error(wire.message);
  Object.defineProperty(error, 'name', {
    value: wire.name,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  if (wire.stack !== undefined) error.stack = wire.stack;
  Object.assign(error, wire.props);
  return error;
}

/** The error for a task that threw, rebuilt from the wire. */
export function taskErrorFrom(wire: WireError): TaskError {
  return new TaskError(displayOf(wire), { cause: rebuildError(wire) });
}
