/** What {@link Reorder.take} returns for a position that holds nothing. */
export const absent: unique symbol = Symbol('rxthreads.absent');

const initialSize = 64;
/** The largest ring kept for reuse (512 KB of slots). */
const maxSpare = 1 << 16;
/**
 * A grown ring given back empty (every slot `absent`) by a finished stream: the next stream that
 * grows that far takes it, rather than rebuilding it by doublings (about a millisecond of each
 * 200,000-value ordered stream, copying and filling 45,000 slots).
 */
let spare: unknown[] | undefined;

/**
 * Results that arrived before the one to emit next, held by their position: a ring indexed by the
 * position's low bits, grown as the span of waiting positions grows. Unlike a Map, holding and
 * taking a result allocates nothing, and positions are read back in order as they are emitted.
 */
export class Reorder {
  private slots: unknown[] = new Array(initialSize).fill(absent);
  private mask = initialSize - 1;
  private size = 0;

  /** Holds `value` for position `at`; `base` is the position to emit next (at > base). */
  set(at: number, value: unknown, base: number): void {
    if (at - base > this.mask) this.grow(at - base, base);
    this.slots[at & this.mask] = value;
    this.size++;
  }

  /** Takes the value held for position `at` (the one to emit next), or `absent`. */
  take(at: number): unknown {
    if (this.size === 0) return absent;
    const index = at & this.mask;
    const value = this.slots[index];
    if (value !== absent) {
      this.slots[index] = absent;
      this.size--;
    }
    return value;
  }

  clear(): void {
    if (this.size === 0 && this.mask === initialSize - 1) return;
    // Empty, every slot of it is `absent`: each value held was taken, and taking one clears its slot.
    if (this.size === 0 && this.mask < maxSpare && (spare === undefined || spare.length <= this.mask)) {
      spare = this.slots;
    }
    this.slots = new Array(initialSize).fill(absent);
    this.mask = initialSize - 1;
    this.size = 0;
  }

  // Every held position lies in [base, base + old size): each was set within the span of an older,
  // smaller base, and positions are taken only in order.
  private grow(span: number, base: number): void {
    let size = this.mask + 1;
    while (size <= span) size *= 2;
    let slots: unknown[];
    if (spare !== undefined && spare.length >= size) {
      slots = spare;
      spare = undefined;
      size = slots.length;
    } else slots = new Array(size).fill(absent);
    for (let at = base; at <= base + this.mask; at++) {
      const value = this.slots[at & this.mask];
      if (value !== absent) slots[at & (size - 1)] = value;
    }
    this.slots = slots;
    this.mask = size - 1;
  }
}
