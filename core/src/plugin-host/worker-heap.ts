import { setFlagsFromString } from 'node:v8';

/** Default of HostConfig.workerOldSpaceFloorMiB. */
export const DEFAULT_WORKER_OLD_SPACE_FLOOR_MIB = 0;

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
 * peak RSS, no time saved; bench/README.md). A restore's worker no longer
 * needs one either since it borrows its pieces from the host's ring
 * (restores of the bench corpus: 0 MiB 3.65-3.79 s and 180-183 MiB peak,
 * 32 MiB 3.48-4.03 s and 186-200 MiB).
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

/**
 * Keeps every young generation at the size it starts with: V8's
 * --semi-space-growth-factor=1 for every isolate from now on (the host's own
 * thread included, whose semi-spaces are already set up at 1 MiB), and
 * --min-semi-space-size=2 for workers started later (their cap, from
 * maxYoungGenerationSizeMb 6, so they start where they would grow to).
 *
 * Why: the host's thread handles every blob of a job in small objects that
 * mostly live across a few awaits; V8 answers that by doubling the host's
 * semi-spaces up to 16 MiB each, 32 MiB of resident memory that a backup or
 * restore keeps to its end. Kept at 1 MiB, the bench corpus's first backup
 * peaked at 210-215 MiB instead of 226-234, its restore at 190-193 instead
 * of 193-205, in the same time (3 runs each, side by side). Returns false
 * when this Node refuses to change flags at run time (V8's defaults stay).
 *
 * Contract: call it at start-up, before the young generation has grown, and
 * again at the start of every worker thread: Node 20 puts V8's flags back to
 * their start-up values whenever it starts a worker (measured: the host's
 * new space then grew to 32 MiB again), and the worker's call sets them
 * again. The CLI calls it first thing, PluginHost when it is created, and
 * the bootstrap worker when it loads.
 */
export function applyYoungGenerationLimits(): boolean {
  try {
    setFlagsFromString('--semi-space-growth-factor=1');
    setFlagsFromString('--min-semi-space-size=2');
    return true;
  } catch {
    return false;
  }
}
