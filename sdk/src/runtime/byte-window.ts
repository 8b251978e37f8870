/**
 * Counts bytes in flight and makes producers wait while the window is full.
 * Waiters are served first-in, first-out. A single item larger than the whole
 * window is let through when nothing else is in flight (otherwise it could
 * never be sent).
 */
export class ByteWindow {
  readonly #limit: number;
  #inFlight = 0;
  #waiters: { readonly bytes: number; readonly resolve: () => void; readonly reject: (err: unknown) => void }[] = [];
  #failure: unknown;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`ByteWindow: the window must be a positive integer of bytes, got ${limit}`);
    this.#limit = limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Producers queued for room. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes `bytes` if they fit now (and nobody is queued before us). */
  tryAcquire(bytes: number): boolean {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#waiters.length > 0 || !this.#fits(bytes)) return false;
    this.#inFlight += bytes;
    return true;
  }

  /** Waits until `bytes` fit, then takes them. Rejects once the window has failed. */
  acquire(bytes: number): Promise<void> {
    if (this.tryAcquire(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ bytes, resolve, reject }));
  }

  release(bytes: number): void {
    this.#inFlight -= bytes;
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0]!.bytes)) {
      const waiter = this.#waiters.shift()!;
      this.#inFlight += waiter.bytes;
      waiter.resolve();
    }
  }

  /** Rejects every current and future waiter with `err` (the job failed or was cancelled). */
  fail(err: unknown): void {
    if (this.#failure === undefined) this.#failure = err;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(this.#failure);
  }

  #fits(bytes: number): boolean {
    return this.#inFlight + bytes <= this.#limit || this.#inFlight === 0;
  }
}
