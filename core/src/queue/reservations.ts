import { EbmError } from '@ebm/sdk';
import type { JobCost } from '../jobs/job-types';
import type { LedgerEntry, ResourceLedger } from './resource-ledger';

/** Live queries hold no repository and are never exclusive. */
const LIVE: LedgerEntry = Object.freeze({ repository: '\0live queries', exclusive: false });

interface Waiter {
  readonly cost: JobCost;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Work outside jobs charged to the queue's budgets like a job: an operator's
 * live query (a discovered layer's files asked of its provider) takes a
 * worker thread and the plugin's memory while it runs. Reservations wait in
 * order, ahead of queued jobs: they are interactive and short, and a job
 * that passed them whenever a worker freed could keep them waiting for good.
 */
export class Reservations {
  readonly #waiting: Waiter[] = [];

  constructor(private readonly ledger: ResourceLedger) {}

  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `fn` once `cost` is taken from the budgets, and gives it back after.
   * `changed` asks the queue to admit again (a reservation waits, or freed room).
   */
  async run<T>(cost: JobCost, what: string, signal: AbortSignal | undefined, fn: () => Promise<T>, changed: () => void): Promise<T> {
    const admitted = this.wait(cost, what, signal);
    changed();
    await admitted;
    try {
      return await fn();
    } finally {
      this.release(cost);
      changed();
    }
  }

  /** Resolves once `cost` is taken from the budgets (see admit); rejects with E_CANCELLED when `signal` aborts first. */
  wait(cost: JobCost, what: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new EbmError('E_CANCELLED', `${what} was cancelled before it started`));
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(waiter);
        if (at < 0) return; // admitted already: the caller's own work sees the signal
        this.#waiting.splice(at, 1);
        reject(new EbmError('E_CANCELLED', `${what} was cancelled while it waited for a worker`));
      };
      const waiter: Waiter = {
        cost,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /**
   * Admits waiting reservations in order while they fit. False when one is
   * still waiting: the queue then starts no job (reservations go first).
   */
  admit(): boolean {
    while (this.#waiting.length > 0) {
      const first = this.#waiting[0]!;
      if (this.ledger.verdict(LIVE, first.cost) !== 'fits') return false;
      this.#waiting.shift();
      this.ledger.take(LIVE, first.cost);
      first.resolve();
    }
    return true;
  }

  /** Gives back what an admitted reservation took. */
  release(cost: JobCost): void {
    this.ledger.release(LIVE, cost);
  }

  /** Rejects every waiting reservation (the queue is closing). */
  failAll(err: unknown): void {
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }
}
