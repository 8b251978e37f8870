import { availableParallelism } from 'node:os';
import { DEFAULT_WORKER_OLD_SPACE_FLOOR_MIB } from './worker-heap';

/**
 * Limits and timings of the plugin host. Register a (partial) HostConfig under
 * HOST_CONFIG in the container; missing fields take the defaults below.
 */
export interface HostConfig {
  /** A plugin's worker pool is torn down (the plugin unloaded) after this long without jobs. */
  readonly idleTimeoutMs: number;
  /**
   * A job fails with E_PLUGIN_TIMEOUT when its worker sends nothing for this
   * long (time the host spends serving its requests excluded; starting the
   * worker and loading the plugin included). 0 disables the check.
   */
  readonly stallTimeoutMs: number;
  /** Per-plugin stall timeouts, by plugin id (e.g. a database translator that waits on a long checkpoint). */
  readonly stallTimeoutMsOverrides: Readonly<Record<string, number>>;
  /** After a cancel message, how long the plugin has to stop before its worker is terminated. */
  readonly cancelGraceMs: number;
  /** Concurrent jobs (worker threads) per plugin; further jobs wait in the host. */
  readonly maxThreads: number;
  /** Floor of a worker's V8 heap limit, whatever the manifest says. */
  readonly minHeapMiB: number;
  /** Heap limit for plugins whose manifest declares no resources.memoryMiB. */
  readonly defaultHeapMiB: number;
  /** Operator overrides of the heap limit, by plugin id (take precedence over the manifest). */
  readonly heapMiBOverrides: Readonly<Record<string, number>>;
  /**
   * How far a worker's old generation may grow before V8 collects it in full
   * (see applyWorkerOldSpaceFloor: fewer full collections for workers that
   * stream data; per process). 0 keeps V8's default.
   */
  readonly workerOldSpaceFloorMiB: number;
}

/** Injection token of the host configuration (a Partial<HostConfig>). */
export const HOST_CONFIG = Symbol.for('ebm.HostConfig');

export const DEFAULT_HOST_CONFIG: HostConfig = Object.freeze({
  idleTimeoutMs: 30_000,
  stallTimeoutMs: 120_000,
  stallTimeoutMsOverrides: Object.freeze({}),
  cancelGraceMs: 5_000,
  maxThreads: Math.max(1, Math.min(4, availableParallelism())),
  minHeapMiB: 64,
  defaultHeapMiB: 512,
  heapMiBOverrides: Object.freeze({}),
  workerOldSpaceFloorMiB: DEFAULT_WORKER_OLD_SPACE_FLOOR_MIB,
});

/** Fills defaults and rejects nonsense up front with a RangeError naming the field. */
export function resolveHostConfig(partial: Partial<HostConfig> = {}): HostConfig {
  const config: HostConfig = { ...DEFAULT_HOST_CONFIG, ...stripUndefined(partial) };
  for (const key of ['idleTimeoutMs', 'stallTimeoutMs', 'cancelGraceMs'] as const) {
    if (!Number.isFinite(config[key]) || config[key] < 0) throw new RangeError(`host config ${key} must be a non-negative number of milliseconds, got ${config[key]}`);
  }
  for (const key of ['maxThreads', 'minHeapMiB', 'defaultHeapMiB'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) throw new RangeError(`host config ${key} must be a positive integer, got ${config[key]}`);
  }
  if (!Number.isInteger(config.workerOldSpaceFloorMiB) || config.workerOldSpaceFloorMiB < 0) {
    throw new RangeError(`host config workerOldSpaceFloorMiB must be a non-negative integer (MiB; 0 keeps V8's default), got ${config.workerOldSpaceFloorMiB}`);
  }
  for (const [id, ms] of Object.entries(config.stallTimeoutMsOverrides)) {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`host config stallTimeoutMsOverrides.${id} must be a non-negative number of milliseconds, got ${ms}`);
  }
  for (const [id, mib] of Object.entries(config.heapMiBOverrides)) {
    if (!Number.isInteger(mib) || mib < 1) throw new RangeError(`host config heapMiBOverrides.${id} must be a positive integer, got ${mib}`);
  }
  return Object.freeze(config);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
