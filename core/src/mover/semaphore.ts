/**
 * A counting semaphore with a FIFO queue: at most `limit` holders at once,
 * waiters served in arrival order. Waiting is a pending promise, never a
 * poll. `onChange` reports the holder and waiter counts (for gauges).
 */
export class Semaphore {
  readonly limit: number;
  #active = 0;
  readonly #waiters: Array<() => void> = [];
  readonly #onChange: ((active: number, waiting: number) => void) | undefined;

  constructor(limit: number, onChange?: (active: number, waiting: number) => void) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`concurrency must be an integer ≥ 1, not ${limit}`);
    this.limit = limit;
    this.#onChange = onChange;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Runs `fn` holding one slot; the slot is released however `fn` ends. */
  async use<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#active < this.limit) {
      this.#active++;
      this.#changed();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      this.#changed();
    });
  }

  #release(): void {
    const next = this.#waiters.shift();
    // Hand the slot straight to the next waiter: `active` stays the same, so
    // no newcomer can slip in between and exceed the limit.
    if (next !== undefined) next();
    else this.#active--;
    this.#changed();
  }

  #changed(): void {
    this.#onChange?.(this.#active, this.#waiters.length);
  }
}
