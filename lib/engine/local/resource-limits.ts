import type { ResourceLimits } from 'node:worker_threads';
import { checkKnownKeys, checkObject, optionError } from '../../util/options';

/**
 * The range each limit may take. Outside it Node either ignores the value or, for a tiny or huge
 * stack, throws a `RangeError` in the *calling* thread while starting the worker, which no
 * listener can catch: such values are refused here instead.
 */
const ranges: Record<keyof ResourceLimits, readonly [min: number, max: number]> = {
  maxYoungGenerationSizeMb: [0, 1 << 20],
  maxOldGenerationSizeMb: [0, 1 << 20],
  codeRangeSizeMb: [0, 1 << 20],
  stackSizeMb: [0.5, 1024],
};

/** Checks `resourceLimits`: known keys only, each a number within the range Node can start with. */
export function checkResourceLimits(limits: unknown): void {
  checkObject('resourceLimits', limits);
  if (limits === undefined) return;
  checkKnownKeys('resourceLimits', limits as object, Object.keys(ranges));
  for (const [key, value] of Object.entries(limits as Record<string, unknown>)) {
    const range = ranges[key as keyof ResourceLimits]!;
    if (value === undefined) continue;
    const [min, max] = range;
    if (typeof value !== 'number' || !(value >= min && value <= max)) {
      throw optionError(`resourceLimits.${key}`, `a number from ${min} to ${max}`, value);
    }
  }
}
