/**
 * Promises that resolve when the queue goes idle: `activeOnly` waiters when
 * nothing runs (shutdown), the others when nothing runs or waits (drain).
 * The queue calls check() after every change of its counts.
 */
export class IdleWaiters {
  readonly #waiters: Array<{ activeOnly: boolean; resolve: () => void }> = [];

  constructor(private readonly counts: () => { readonly active: number; readonly waiting: number }) {}

  wait(activeOnly: boolean): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ activeOnly, resolve });
      this.check();
    });
  }

  check(): void {
    const { active, waiting } = this.counts();
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (active === 0 && (w.activeOnly || waiting === 0)) {
        this.#waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
