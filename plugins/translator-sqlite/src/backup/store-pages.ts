import type { Database } from 'better-sqlite3';
import { BackupContext, BlobId, throwIfCancelled } from '@ebm/sdk';
import type { DatabaseInfo } from '../database/database-info';
import type { RunRecord } from '../manifest/page-manifest';
import type { PreviousPages } from '../manifest/previous-pages';
import { readPageRuns } from './page-runs';

/** The database's content as stored, and how it was stored. */
export interface StoredPages {
  readonly size: number;
  /** Blob ids of all runs in page order: the database entry's content. */
  readonly content: readonly BlobId[];
  /** One manifest record per run. */
  readonly records: readonly RunRecord[];
  readonly runsStored: number;
  readonly runsReused: number;
}

/** Reused runs are not awaited on; give the event loop a turn (host replies, cancel) this often. */
const YIELD_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * Stores every page of the database, run by run, inside the caller's read
 * transaction. A run whose page hashes equal the parent's run at the same
 * position (same page size and run length) reuses the parent's blob ids:
 * nothing is chunked, queried or shipped for it. Any other run goes through
 * `writeContent`, which ships only the blobs the repository lacks.
 */
export async function storePages(
  ctx: BackupContext, db: Database, info: DatabaseInfo, runPages: number, previous: PreviousPages | undefined, name: string, path: string,
): Promise<StoredPages> {
  const reusable = previous !== undefined && previous.pageSize === info.pageSize && previous.runPages === runPages ? previous : undefined;
  if (previous !== undefined && reusable === undefined) {
    ctx.log.info(`page size or run length of ${name} changed since the parent snapshot; every page is stored again`, {
      pageSize: info.pageSize, parentPageSize: previous.pageSize, runPages, parentRunPages: previous.runPages,
    });
  }
  const totalBytes = info.pageCount * info.pageSize;
  const content: BlobId[] = [];
  const records: RunRecord[] = [];
  let runsStored = 0;
  let runsReused = 0;
  let done = 0;
  let sinceYield = 0;
  for (const run of readPageRuns(db, info.pageCount, info.pageSize, runPages, path)) {
    throwIfCancelled(ctx.signal, 'backup');
    const old = reusable?.run(run.index);
    if (old !== undefined && old.hashes.equals(run.hashes)) {
      content.push(...old.ids);
      records.push({ blobCount: old.ids.length, hashes: run.hashes });
      runsReused++;
      sinceYield += run.pages.length * info.pageSize;
      if (sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } else {
      const stored = await ctx.tree.writeContent(run.pages);
      content.push(...stored.content);
      records.push({ blobCount: stored.content.length, hashes: run.hashes });
      runsStored++;
    }
    done += run.pages.length * info.pageSize;
    ctx.progress.update({ files: 0, bytes: done, totalFiles: 1, totalBytes, currentPath: name });
  }
  return { size: totalBytes, content, records, runsStored, runsReused };
}
