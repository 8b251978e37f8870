/**
 * Time as the scheduler sees it, so tests can drive it. Times are epoch
 * milliseconds. A timer fires once, at or after `at`, never before; a timer
 * set for a time already past fires as soon as possible.
 */
export interface Timer {
  /** Idempotent; a cancelled timer never fires. */
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimer(at: number, fn: () => void): Timer;
}

/** setTimeout caps delays at 2^31-1 ms (~24.8 days); longer waits are chained. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The wall clock. Timers are unref'd: a pending schedule alone does not keep
 * the process alive (the host's HTTP server does). A timer that Node fires a
 * little early, or whose wall-clock target moved (the clock was set back),
 * re-arms itself until Date.now() has reached `at`.
 */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(at: number, fn: () => void): Timer {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = (): void => {
      const delay = at - Date.now();
      if (delay <= 0) {
        handle = undefined;
        fn();
        return;
      }
      handle = setTimeout(() => {
        if (!cancelled) arm();
      }, Math.min(delay, MAX_DELAY));
      handle.unref();
    };
    // Never call fn synchronously from setTimer: callers may still be setting up.
    handle = setTimeout(() => {
      if (!cancelled) arm();
    }, 0);
    handle.unref();
    return {
      cancel: () => {
        cancelled = true;
        if (handle !== undefined) clearTimeout(handle);
      },
    };
  }
}

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock for tests: time stands still until advance() moves it. advance()
 * fires every timer that falls due, in order of their times (ties in the
 * order they were set), with now() equal to each timer's own time while it
 * runs, including timers that callbacks set during the advance.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start: number | Date | string) {
    this.#now = new Date(start).getTime();
    if (!Number.isFinite(this.#now)) throw new RangeError(`ManualClock: invalid start time ${String(start)}`);
  }

  now(): number {
    return this.#now;
  }

  setTimer(at: number, fn: () => void): Timer {
    const timer: ManualTimer = { at, seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.#timers = this.#timers.filter((t) => t !== timer);
      },
    };
  }

  /** Moves time forward by `ms`, firing due timers on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: need a non-negative number of ms, got ${ms}`);
    this.advanceTo(this.#now + ms);
  }

  /** Moves time forward to `time` (epoch ms, Date or ISO string). */
  advanceTo(time: number | Date | string): void {
    const target = new Date(time).getTime();
    if (target < this.#now) throw new RangeError('ManualClock.advanceTo: time cannot go backwards');
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = target;
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }
}
