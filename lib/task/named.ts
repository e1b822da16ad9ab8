import { optionError } from '../util/options';
import { intern, type Task, type TaskDefinition } from './definition';

/**
 * A task that a remote worker runs by name: its `serveTasks({ tasks })` map says which code the
 * name means. Only an engine that runs named tasks (a `RemotePool`) accepts one.
 */
export function namedTask<I, O>(name: string): Task<I, O> {
  if (typeof name !== 'string' || name === '') throw optionError('name', 'a non-empty string', name);
  return intern<I, O>(`named\0${name}`, (key) => ({ key, kind: 'named', name }));
}

/** The name of a named task's definition, or `undefined` for a task that runs from code. */
export function nameOf(def: TaskDefinition): string | undefined {
  return def.kind === 'named' ? def.name : undefined;
}

/**
 * What an engine that runs tasks from code (local threads, an `inThread` stage) says of a task: a
 * named one is a `TypeError`, since only a remote worker knows what its name means.
 */
export function checkRunsFromCode(def: TaskDefinition): void {
  if (def.kind === 'named') {
    throw new TypeError(
      `Expected a RemotePool as \`pool\` for remoteTask('${def.name}'): a local pool runs only tasks from code (moduleTask, inlineTask)`,
    );
  }
}
