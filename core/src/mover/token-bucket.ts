import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket in bytes that may go into debt: `take(n)` subtracts n at
 * once and then waits until the balance is back to zero, so one large
 * transfer waits for its own bytes (n / rate seconds, minus the burst that
 * had accumulated) and the next one waits only for its own. Requests are
 * served one after another in arrival order; waiting is a timer, never a
 * poll. The balance refills at `rate` bytes per second up to `burst`.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last: number;
  #tail: Promise<void> = Promise.resolve();
  readonly #now: () => number;

  /** `burst` defaults to 1/50 s of traffic (at least 16 KiB, at most 1 MiB). */
  constructor(bytesPerSecond: number, burst?: number, now: () => number = () => performance.now()) {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) throw new RangeError(`bytesPerSecond must be a positive number, not ${bytesPerSecond}`);
    this.rate = bytesPerSecond;
    this.burst = burst ?? Math.min(1024 * 1024, Math.max(16 * 1024, bytesPerSecond / 50));
    if (!Number.isFinite(this.burst) || this.burst < 0) throw new RangeError(`burst must be ≥ 0, not ${burst}`);
    this.#now = now;
    this.#tokens = this.burst;
    this.#last = now();
  }

  /** Resolves once `bytes` may be considered transferred under the rate. */
  take(bytes: number): Promise<void> {
    if (bytes <= 0) return Promise.resolve();
    const run = this.#tail.then(() => this.#takeNow(bytes));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #takeNow(bytes: number): Promise<void> {
    this.#refill();
    this.#tokens -= bytes;
    if (this.#tokens < 0) await sleep(Math.ceil((-this.#tokens / this.rate) * 1000));
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
  }
}
