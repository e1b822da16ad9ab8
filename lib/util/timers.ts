/**
 * Lets a timer run without holding the process. Node's timers are objects with `unref()`; a
 * browser's are numbers, and there is no process to hold.
 */
export function unrefTimer(timer: unknown): void {
  (timer as { unref?: () => void } | null)?.unref?.();
}
