import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

/**
 * Opens a database to read it (backup, discovery). The connection is
 * read-write at the file level but `query_only`: no statement of ours can
 * change the data, yet SQLite can do what every reader must — roll back a hot
 * journal a crashed writer left, or recover a WAL index — which a read-only
 * connection cannot. (Without write permission SQLite opens it read-only.)
 * Busy timeout 0: statements fail at once with SQLITE_BUSY when another
 * process holds a conflicting lock; beginReadTransaction does the waiting.
 */
export function openForReading(file: string): Db {
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('query_only = ON');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Opens an existing database read-write (restore: checking a restored file, probing a replaced one). */
export function openReadWrite(file: string, busyTimeoutMs: number): Db {
  return new Database(file, { fileMustExist: true, timeout: busyTimeoutMs });
}
