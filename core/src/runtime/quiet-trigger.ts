/** When a QuietTrigger fires; the defaults are the host catalog's. */
export interface QuietTiming {
  /** How long no job must have run. */
  readonly quietMs: number;
  /** The longest a request waits for quiet: a host that is never quiet still gets its action. */
  readonly maxDeferMs: number;
  /** How often the trigger looks. */
  readonly pollMs: number;
}

export const CATALOG_QUIET_TIMING: QuietTiming = { quietMs: 1_000, maxDeferMs: 60_000, pollMs: 250 };

/**
 * Runs `action` once the host is quiet — `idleForMs()` (how long no job has
 * run; 0 while one runs) reaches `quietMs` — or `maxDeferMs` after the first
 * request, whichever comes first. Requests made while one is pending join it.
 * For background work that competes with jobs for the host's main thread.
 */
export class QuietTrigger {
  #timer: NodeJS.Timeout | undefined;
  #since = 0;

  constructor(
    private readonly idleForMs: () => number,
    private readonly action: () => void,
    private readonly timing: QuietTiming = CATALOG_QUIET_TIMING,
  ) {}

  get pending(): boolean {
    return this.#timer !== undefined;
  }

  request(): void {
    if (this.#timer !== undefined) return;
    this.#since = Date.now();
    this.#arm();
  }

  /** Drops a pending request (shutdown); its action does not run. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#timer = setTimeout(() => this.#check(), this.timing.pollMs);
    this.#timer.unref();
  }

  #check(): void {
    if (this.idleForMs() < this.timing.quietMs && Date.now() - this.#since < this.timing.maxDeferMs) {
      this.#arm();
      return;
    }
    this.#timer = undefined;
    this.action();
  }
}
