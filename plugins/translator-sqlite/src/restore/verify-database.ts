import { promises as fsp } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { EbmError } from '@ebm/sdk';
import { checkIntegrity } from '../database/database-info';
import { openReadWrite } from '../database/open-database';
import { toEbmError } from '../database/sqlite-errors';
import type { DatabaseMeta } from '../manifest/entry-meta';
import type { IntegrityCheck } from '../options';

/** Files SQLite keeps beside a database. */
export const SIDE_FILE_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

/**
 * Opens a freshly written database with SQLite and checks what an operator
 * would: it opens, in the journal mode it was backed up in, with the page
 * count of the snapshot, and passes `level` of SQLite's integrity check.
 * Failures are E_CORRUPT_OBJECT naming `displayPath`. Afterwards removes the
 * -wal/-shm files the check's own connection may have left beside `file`.
 */
export async function verifyDatabaseFile(file: string, meta: DatabaseMeta, level: IntegrityCheck, displayPath: string): Promise<void> {
  let db: Database | undefined;
  try {
    db = openReadWrite(file, 0);
    const journalMode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
    const pageCount = Number(db.pragma('page_count', { simple: true }));
    const wantMode = meta.journalMode === 'wal' ? 'wal' : 'delete';
    if (journalMode !== wantMode || pageCount !== meta.pageCount) {
      throw new EbmError('E_CORRUPT_OBJECT', `the restored ${displayPath} opens in ${journalMode} mode with ${pageCount} pages, but it was backed up in ${wantMode} mode with ${meta.pageCount}`, {
        subject: displayPath, op: 'restore',
      });
    }
    checkIntegrity(db, level, `the restored ${displayPath}`, 'restore');
  } catch (err) {
    throw toEbmError(err, { path: displayPath, op: 'restore', busyTimeoutMs: 0, role: 'target' });
  } finally {
    db?.close();
    await removeSideFiles(file);
  }
}

export async function removeSideFiles(file: string): Promise<void> {
  for (const suffix of SIDE_FILE_SUFFIXES) await fsp.rm(`${file}${suffix}`, { force: true });
}
