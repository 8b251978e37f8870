/**
 * Runs async tasks with at most `limit` in flight, and with their weights
 * (what each may hold in memory) summing to at most `budget` — except that a
 * task always runs when nothing else does, however heavy. `run` waits for
 * room; the first failure is kept and rethrown by `run` and `drain`, after
 * which no new task starts (the caller stops too).
 */
export class TaskPool {
  readonly #running = new Set<Promise<void>>();
  #weightInFlight = 0;
  #failure: { error: unknown } | undefined;

  constructor(
    private readonly limit: number,
    private readonly budget = Number.POSITIVE_INFINITY,
  ) {}

  async run(task: () => Promise<void>, weight = 0): Promise<void> {
    while (this.#running.size >= this.limit || (this.#running.size > 0 && this.#weightInFlight + weight > this.budget)) {
      await Promise.race(this.#running);
    }
    this.#throwIfFailed();
    this.#weightInFlight += weight;
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => {
        this.#weightInFlight -= weight;
        this.#running.delete(p);
      });
    this.#running.add(p);
  }

  /** Waits for every task; rethrows the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.#throwIfFailed();
  }

  /** Waits for every task, ignoring failures (used while the caller is already failing). */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}
