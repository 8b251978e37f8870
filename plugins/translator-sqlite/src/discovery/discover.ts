import type { Database } from 'better-sqlite3';
import type { JournalMode } from '../database/database-info';
import { beginReadTransaction } from '../database/read-transaction';
import { openForReading } from '../database/open-database';
import { resolveSourceFile } from '../database/source-file';
import { toEbmError } from '../database/sqlite-errors';
import { DEFAULT_BUSY_TIMEOUT_MS } from '../options';

export type TableReport = {
  readonly name: string;
  /** Rows at the moment of discovery; null when SQLite cannot count them (e.g. a virtual table whose module is not loaded). */
  readonly rows: number | null;
};

/** What `discoverDatabase` reports: one consistent view of a database (one read transaction). */
export type DatabaseReport = {
  readonly path: string;
  /** pageSize × pageCount: the size a backup stores. */
  readonly sizeBytes: number;
  readonly pageSize: number;
  readonly pageCount: number;
  readonly freelistCount: number;
  readonly journalMode: JournalMode;
  readonly encoding: string;
  readonly userVersion: number;
  readonly applicationId: number;
  readonly tables: readonly TableReport[];
  readonly indexes: readonly string[];
  readonly views: readonly string[];
  readonly triggers: readonly string[];
};

export interface DiscoverOptions {
  /** How long to wait for another process's lock (ms, default 5000). */
  readonly busyTimeoutMs?: number;
  /** Aborts a wait for a lock (E_CANCELLED). */
  readonly signal?: AbortSignal;
}

/**
 * Describes an SQLite database for the catalog and `ebm discover`: tables
 * with row counts, other schema objects, size and journal mode. Reads inside
 * one read transaction through SQLite (never with `fs`), so it is safe while
 * applications write. Errors are the backup's: E_SOURCE_NOT_FOUND,
 * E_INVALID_SOURCE (not a database), E_SOURCE_CORRUPT, E_SOURCE_BUSY.
 */
export async function discoverDatabase(source: string, options: DiscoverOptions = {}): Promise<DatabaseReport> {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const file = await resolveSourceFile(source, 'discover');
  let db: Database | undefined;
  try {
    db = openForReading(file.realPath);
    const info = await beginReadTransaction(db, busyTimeoutMs, options.signal ?? new AbortController().signal);
    const objects = db.prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as { type: string; name: string }[];
    const named = (type: string): string[] => objects.filter((o) => o.type === type).map((o) => o.name);
    const tables = named('table').map((name) => ({ name, rows: countRows(db!, name) }));
    db.exec('COMMIT');
    return {
      path: file.absPath,
      sizeBytes: info.pageSize * info.pageCount,
      pageSize: info.pageSize,
      pageCount: info.pageCount,
      freelistCount: info.freelistCount,
      journalMode: info.journalMode,
      encoding: info.encoding,
      userVersion: info.userVersion,
      applicationId: info.applicationId,
      tables,
      indexes: named('index'),
      views: named('view'),
      triggers: named('trigger'),
    };
  } catch (err) {
    throw toEbmError(err, { path: file.absPath, op: 'discover', busyTimeoutMs, role: 'source' });
  } finally {
    db?.close();
  }
}

function countRows(db: Database, table: string): number | null {
  try {
    return Number(db.prepare(`SELECT count(*) FROM "${table.replace(/"/g, '""')}"`).pluck().get());
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_CORRUPT')) throw err;
    return null;
  }
}
