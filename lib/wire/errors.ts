import { TaskError } from '../util/errors';

/** An error as it crosses the boundary: enough to rebuild it with its name, stack and properties. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly props: Record<string, unknown>;
}

/** Turns anything thrown into a cloneable description of it. */
export function toWire(thrown: unknown, message?: string): WireError {
  if (!(thrown instanceof Error)) {
    const props: Record<string, unknown> = {};
    try {
      props.thrown = structuredClone(thrown);
    } catch {
      // not cloneable: the message says what it was
    }
    return { name: 'Error', message: message ?? `Non-error value thrown: ${String(thrown)}`, stack: undefined, props };
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
  return { name: String(thrown.name), message: message ?? String(thrown.message), stack: thrown.stack, props };
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
  return new TaskError(wire.message, { cause: rebuildError(wire) });
}
