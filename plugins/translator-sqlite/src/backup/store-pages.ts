import type { Database } from 'better-sqlite3';
import { BackupContext, BlobId, isEbmError, throwIfCancelled } from '@ebm/sdk';
import type { DatabaseInfo } from '../database/database-info';
import { diffRun } from '../delta/run-delta';
import type { PreviousPages } from '../manifest/previous-pages';
import type { PageDelta } from '../options';
import { PageRun, readPageRuns } from './page-runs';
import { SegmentWriter, StoredRun } from './segment-writer';

/** The database's content as stored, and how it was stored. */
export interface StoredPages {
  /** Bytes of the database entry's content (delta blocks + key images). */
  readonly size: number;
  /** The database entry's content: per segment, its delta block's blobs, then its runs' key images'. */
  readonly content: readonly BlobId[];
  /** The page-hash manifest, one buffer per segment. */
  readonly manifest: readonly Buffer[];
  /** Runs stored as a new key image / as a delta against the parent's key / unchanged since the parent. */
  readonly runsStored: number;
  readonly runsDelta: number;
  readonly runsReused: number;
}

/** Runs per segment (one delta block each): 4 MiB of database at the default run size. */
export const SEGMENT_RUNS = 16;
/**
 * A delta larger than this part of its run is not kept: the run becomes a new
 * key image. Below it the delta costs less than the run whole (patches and
 * pages compress alike); the margin pays for the key image a restore also
 * reads, and for the next delta, which is taken against the same key.
 */
export const MAX_DELTA_FRACTION = 0.75;
/** Runs read ahead while key images of earlier runs load (their pages stay in memory). */
const WINDOW_RUNS = 16;
/** Reused runs are not awaited on; give the event loop a turn (host replies, cancel) this often. */
const YIELD_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * Stores every page of the database, run by run, inside the caller's read
 * transaction. Against a comparable parent (same page size and run length):
 *
 * - a run whose page hashes equal the parent's run reuses the parent's key
 *   image and delta: nothing is read, chunked or shipped for it;
 * - a changed run of the same length reads the parent's key image of that
 *   run from the repository and stores only the delta against it (the bytes
 *   that differ), keeping the key; a delta larger than MAX_DELTA_FRACTION
 *   of the run, or a key image that cannot be read, makes it a new key;
 * - any other run (and every changed run with --page-delta off) is stored
 *   whole as a new key image with `writeContent`.
 *
 * Key images load while later runs are read (up to WINDOW_RUNS ahead);
 * results are assembled in run order (segment-writer.ts).
 */
export async function storePages(
  ctx: BackupContext, db: Database, info: DatabaseInfo, runPages: number, pageDelta: PageDelta, previous: PreviousPages | undefined, name: string, path: string,
): Promise<StoredPages> {
  const parent = previous !== undefined && previous.pageSize === info.pageSize && previous.runPages === runPages ? previous : undefined;
  if (previous !== undefined && parent === undefined) {
    ctx.log.info(`page size or run length of ${name} changed since the parent snapshot; every page is stored again`, {
      pageSize: info.pageSize, parentPageSize: previous.pageSize, runPages, parentRunPages: previous.runPages,
    });
  }
  const totalBytes = info.pageCount * info.pageSize;
  const limit = Math.floor(runPages * info.pageSize * MAX_DELTA_FRACTION);
  const writer = new SegmentWriter(ctx, SEGMENT_RUNS, parent);
  const counts = { stored: 0, delta: 0, reused: 0 };
  let keyReadFailed = false;
  const window: Promise<StoredRun>[] = [];
  let done = 0;
  let sinceYield = 0;

  const storeWhole = async (run: PageRun): Promise<StoredRun> => {
    counts.stored++;
    const stored = await ctx.tree.writeContent(run.pages);
    return { index: run.index, hashes: run.hashes, keyIds: stored.content, delta: Buffer.alloc(0) };
  };
  const storeDelta = async (run: PageRun, keyIds: readonly BlobId[]): Promise<StoredRun> => {
    let key: Buffer;
    try {
      key = await parent!.readKey(run.index);
    } catch (err) {
      if (isEbmError(err) && err.code === 'E_CANCELLED') throw err;
      if (!keyReadFailed) ctx.log.warn(`could not read the parent's key image of run ${run.index} of ${name} (${(err as Error).message}); such runs are stored whole`);
      keyReadFailed = true;
      return storeWhole(run);
    }
    const delta = diffRun(run.pages, key, info.pageSize, limit, pageDelta === 'deflate');
    if (delta === undefined) return storeWhole(run);
    counts.delta++;
    return { index: run.index, hashes: run.hashes, keyIds, delta };
  };
  const finishOldest = async (): Promise<void> => {
    const stored = await window.shift()!;
    const pages = Math.min(runPages, info.pageCount - stored.index * runPages);
    await writer.add(stored, pages * info.pageSize, (stored.index + 1) * runPages >= info.pageCount);
  };

  for (const run of readPageRuns(db, info.pageCount, info.pageSize, runPages, path)) {
    throwIfCancelled(ctx.signal, 'backup');
    const old = parent?.run(run.index);
    let next: Promise<StoredRun>;
    if (old !== undefined && old.hashes.equals(run.hashes)) {
      counts.reused++;
      // The pages stay until the segment is written: if the parent's delta block cannot be read then, the run is stored whole.
      next = Promise.resolve({ index: run.index, hashes: run.hashes, keyIds: old.keyIds, delta: 'parent', ...(old.deltaLength > 0 ? { pages: run.pages } : {}) });
    } else if (old !== undefined && old.pages === run.pages.length && pageDelta !== 'off') {
      next = storeDelta(run, old.keyIds);
    } else {
      next = storeWhole(run);
    }
    next.catch(() => undefined); // observed in turn by finishOldest; no unhandled rejection if an earlier run fails first
    window.push(next);
    if (window.length >= WINDOW_RUNS) await finishOldest();
    const bytes = run.pages.length * info.pageSize;
    done += bytes;
    sinceYield += bytes;
    if (sinceYield >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    ctx.progress.update({ files: 0, bytes: done, totalFiles: 1, totalBytes, currentPath: name });
  }
  while (window.length > 0) await finishOldest();
  const damaged = writer.wholeAfterDamagedParent;
  return {
    size: writer.size, content: writer.content, manifest: writer.manifest, runsStored: counts.stored + damaged, runsDelta: counts.delta, runsReused: counts.reused - damaged,
  };
}
