import type { Database } from 'better-sqlite3';
import { throwIfCancelled } from '@ebm/sdk';
import { DatabaseInfo, readDatabaseInfo } from './database-info';
import { isBusy } from './sqlite-errors';

/** Longest pause between two attempts to take the shared lock (ms). */
const MAX_RETRY_DELAY_MS = 8;

/**
 * Opens ONE read transaction on `db` (a connection with busy timeout 0) and
 * reads the database's settings and schema in it; every later statement on
 * `db` until COMMIT sees the same committed state.
 *
 * Why a retry loop of our own rather than SQLite's busy timeout: SQLite's
 * busy handler backs off to 100 ms sleeps, and in rollback-journal mode a
 * writer that commits continuously leaves the database free only between its
 * commits, for moments a 100 ms sleeper keeps missing (the reader starves).
 * Retrying every few milliseconds catches such a gap; once the shared lock is
 * held the writer waits for us. Gives up with SQLITE_BUSY (mapped to
 * E_SOURCE_BUSY by the caller) after `timeoutMs`.
 */
export async function beginReadTransaction(db: Database, timeoutMs: number, signal: AbortSignal): Promise<DatabaseInfo> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    db.exec('BEGIN'); // deferred: the first read below takes the shared lock
    try {
      return readDatabaseInfo(db);
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if (!isBusy(err) || Date.now() >= deadline) throw err;
    }
    throwIfCancelled(signal);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(delay, deadline - Date.now()))));
    delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
  }
}
