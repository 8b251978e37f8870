import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { EbmError } from '@ebm/sdk';
import { HASH_BYTES } from '../manifest/page-manifest';

/** `runPages` consecutive pages (fewer for the last run) and their SHA-256 hashes. */
export interface PageRun {
  /** 0-based: the run holds pages index·runPages+1 … */
  readonly index: number;
  readonly pages: readonly Buffer[];
  /** HASH_BYTES per page, concatenated (the manifest's record layout). */
  readonly hashes: Buffer;
}

/**
 * Reads pages 1 … pageCount through the `sqlite_dbpage` virtual table — that
 * is, through SQLite's pager, inside the caller's read transaction, so a WAL
 * database's newest pages come from its -wal file and every page belongs to
 * the same committed state. One statement scans the table in page order
 * (sqlite_dbpage only seeks on `pgno = ?`; a range query would rescan from
 * page 1 every time).
 *
 * Synchronous, as better-sqlite3 is: the caller may await between runs (the
 * statement stays open), but must not run other statements on `db` until the
 * generator is done or closed.
 */
export function* readPageRuns(db: Database, pageCount: number, pageSize: number, runPages: number, path: string): Generator<PageRun> {
  const rows = db.prepare('SELECT pgno, data FROM sqlite_dbpage').raw(true).iterate() as IterableIterator<[number, Buffer | null]>;
  let next = 1;
  let index = 0;
  let pages: Buffer[] = [];
  for (const [pgno, data] of rows) {
    if (next > pageCount) break;
    if (pgno !== next || data === null || data.length !== pageSize) {
      throw new EbmError(
        'E_SOURCE_CHANGED',
        `${path}: SQLite returned page ${pgno} (${data?.length ?? 0} bytes) where page ${next} of ${pageSize} bytes was expected inside one read transaction; back up again`,
        { subject: path, op: 'backup' },
      );
    }
    pages.push(data);
    next++;
    if (pages.length === runPages) {
      yield { index: index++, pages, hashes: hashPages(pages) };
      pages = [];
    }
  }
  if (pages.length > 0) yield { index: index++, pages, hashes: hashPages(pages) };
  if (next !== pageCount + 1) {
    throw new EbmError('E_SOURCE_CHANGED', `${path}: SQLite returned ${next - 1} pages but the database has ${pageCount}; back up again`, { subject: path, op: 'backup' });
  }
}

function hashPages(pages: readonly Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(pages.length * HASH_BYTES);
  pages.forEach((page, i) => createHash('sha256').update(page).digest().copy(out, i * HASH_BYTES));
  return out;
}
