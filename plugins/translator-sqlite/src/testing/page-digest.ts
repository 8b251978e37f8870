import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * SHA-256 of every page of a database, read through SQLite (sqlite_dbpage),
 * so a WAL database's pages include what is still in its -wal. Two files with
 * equal digests hold the same database, page for page, header included.
 */
export function pageDigests(file: string): string[] {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.exec('BEGIN');
    const rows = db.prepare('SELECT data FROM sqlite_dbpage ORDER BY pgno').pluck().all() as Buffer[];
    db.exec('COMMIT');
    return rows.map((page) => createHash('sha256').update(page).digest('hex'));
  } finally {
    db.close();
  }
}

/** Runs SQL through a short-lived connection (tests: VACUUM, page-size changes, deletes). */
export function execSql(file: string, sql: string): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}
