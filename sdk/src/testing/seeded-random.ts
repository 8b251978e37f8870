/**
 * A small seeded generator (mulberry32), so the "random" cancellation points
 * of a case are the same on every run and a failure can be reproduced.
 */
export class SeededRandom {
  #state: number;

  constructor(seed: number, label = '') {
    let h = seed >>> 0;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x9e3779b1) >>> 0;
    this.#state = h || 1;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** `count` distinct integers in [1, max], always including 1 (cancel at the very first message), ascending. */
  points(max: number, count: number): number[] {
    if (max <= count) return Array.from({ length: Math.max(0, max) }, (_, i) => i + 1);
    const picked = new Set<number>([1]);
    while (picked.size < count) picked.add(this.int(2, max));
    return [...picked].sort((a, b) => a - b);
  }
}
