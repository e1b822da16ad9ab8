import type { Transferable } from '../task/context';
import { SerializationError } from '../util/errors';

/**
 * Fails with `SerializationError` if a listed ArrayBuffer is already detached (moved away earlier).
 * Node 20 has no `ArrayBuffer.prototype.detached`, and posting a message whose transfer list holds a
 * detached buffer either delivers it empty or, when the message holds a view on it, silently drops
 * the whole message: so this is checked before anything is sent. Only an empty buffer can be
 * detached, and cloning an empty one costs nothing.
 */
export function checkNotDetached(list: readonly Transferable[] | undefined): SerializationError | undefined {
  if (list === undefined) return undefined;
  for (const item of list) {
    if (!(item instanceof ArrayBuffer) || item.byteLength > 0) continue;
    try {
      structuredClone(item);
    } catch (error) {
      return new SerializationError(
        'A buffer listed in `transfer` is already detached (it was moved to another thread before); ' +
          'a moved buffer cannot be sent again: copy it, or transfer a fresh one',
        { cause: error },
      );
    }
  }
  return undefined;
}
