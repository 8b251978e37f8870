import { setFlagsFromString } from 'node:v8';

/** Default of HostConfig.workerOldSpaceFloorMiB. */
export const DEFAULT_WORKER_OLD_SPACE_FLOOR_MIB = 0;

/**
 * The floor `ebm restore` starts its workers with. A restore's worker
 * receives every blob in a buffer of its own; without a floor it spent ~1 s
 * of its ~4 s collecting them (CPU profile of the bench corpus). Restores of
 * it into a fresh ext4, 3 each: no floor 4.6–5.1 s, 16 MiB 4.1–4.3 s,
 * 32 MiB 4.0–4.1 s, 64 MiB 3.8 s but a peak RSS up to 278 MiB against ~250.
 * A CLI process runs one operation, so it can choose; the host runtime uses
 * its configured `plugins.workerGcFloorMiB` for every job.
 */
export const RESTORE_WORKER_GC_FLOOR_MIB = 32;

/**
 * Sets the size a plugin worker's old generation may reach before V8's first
 * full garbage collection, and below which later collections are not started
 * (V8's --initial-old-space-size), for every worker thread started after this
 * call. 0 leaves V8's own heuristics.
 *
 * Why: a translator keeps a small heap (~10 MiB) while it streams gigabytes
 * of buffers, and V8 sizes its limits by the heap: with V8's defaults a
 * restore's worker runs a full collection (marking the whole heap) every
 * ~20 MiB of data, ~57 per GiB (~0.35 s); with a 64 MiB floor it runs one.
 * The worker's memory may grow by up to the floor before it is collected,
 * within its heap limit. Off by default (0) since blobs reach the host
 * through a shared ring: a backup's worker allocates no buffer per chunk any
 * more, so the floor only let its heap fill with small garbage (+30 MiB of
 * peak RSS, no time saved; bench/README.md).
 *
 * Contract: V8 flags are per process, so the floor applies to every isolate
 * created later (all plugin workers, whatever their pool), never to the main
 * thread's heap, which exists already. The last call wins. A worker's heap
 * limit (resourceLimits) still caps it: V8 clamps the floor to that limit.
 * Returns false when this Node refuses to change flags at run time (then V8's
 * defaults stay; nothing else changes).
 */
export function applyWorkerOldSpaceFloor(mib: number): boolean {
  if (!Number.isInteger(mib) || mib < 0) throw new RangeError(`worker old-space floor must be a non-negative integer of MiB, got ${mib}`);
  try {
    setFlagsFromString(`--initial-old-space-size=${mib}`);
    return true;
  } catch {
    return false;
  }
}
