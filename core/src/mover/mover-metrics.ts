/**
 * Counters of one data mover (one repository), for the host's /metrics
 * endpoint. Monotonic counters only grow; the two gauges say what is
 * happening now. Read them with `DataMover.metrics` (a copy).
 */
export interface MoverMetrics {
  /** Objects saved and verified (one per successful save call, retries not counted twice). */
  readonly objectsSaved: number;
  /** Bytes of those objects. */
  readonly bytesSaved: number;
  /** Bytes returned to callers by load (verification read-back not included). */
  readonly bytesLoaded: number;
  /** Bytes read back to verify saves. */
  readonly bytesVerified: number;
  /** Operations re-attempted after a retryable failure (each re-attempt counts once). */
  readonly retries: number;
  /** Saves whose stored object did not match what was sent (or had vanished). */
  readonly verificationFailures: number;
  /** Saves and removes that failed for good (after any retries). */
  readonly failures: number;
  /** Gauge: backend operations running now (under the concurrency limit). */
  readonly activeOperations: number;
  /** Gauge: operations waiting for a concurrency slot now. */
  readonly waitingOperations: number;
}

/** The mutable counters the wrappers share; `snapshot()` gives the read-only view. */
export class MoverCounters {
  objectsSaved = 0;
  bytesSaved = 0;
  bytesLoaded = 0;
  bytesVerified = 0;
  retries = 0;
  verificationFailures = 0;
  failures = 0;
  activeOperations = 0;
  waitingOperations = 0;

  snapshot(): MoverMetrics {
    return {
      objectsSaved: this.objectsSaved,
      bytesSaved: this.bytesSaved,
      bytesLoaded: this.bytesLoaded,
      bytesVerified: this.bytesVerified,
      retries: this.retries,
      verificationFailures: this.verificationFailures,
      failures: this.failures,
      activeOperations: this.activeOperations,
      waitingOperations: this.waitingOperations,
    };
  }
}
