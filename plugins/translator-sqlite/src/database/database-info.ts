import type { Database } from 'better-sqlite3';
import { EbmError } from '@ebm/sdk';
import type { IntegrityCheck } from '../options';

/** 'wal' when the file header says WAL (bytes 18–19 = 2), otherwise a rollback-journal database. */
export type JournalMode = 'wal' | 'delete';

/** Names of the schema objects, for the catalog and `ebm ls` (capped: a schema can hold thousands). */
export interface SchemaSummary {
  readonly tables: readonly string[];
  readonly tableCount: number;
  readonly indexCount: number;
  readonly viewCount: number;
  readonly triggerCount: number;
}

/** What a backup records about a database, read inside its read transaction. */
export interface DatabaseInfo {
  readonly pageSize: number;
  readonly pageCount: number;
  readonly journalMode: JournalMode;
  /** 'UTF-8', 'UTF-16le' or 'UTF-16be'. */
  readonly encoding: string;
  readonly userVersion: number;
  readonly applicationId: number;
  readonly schemaVersion: number;
  readonly freelistCount: number;
  /** 0 none, 1 full, 2 incremental. */
  readonly autoVacuum: number;
  readonly schema: SchemaSummary;
}

/** At most this many table names are recorded (the counts are always complete). */
export const MAX_TABLE_NAMES = 200;

/**
 * Reads the database's settings and schema. Call inside a read transaction:
 * the first of these reads takes SQLite's shared lock (waiting up to the busy
 * timeout), and everything read afterwards belongs to the same snapshot.
 */
export function readDatabaseInfo(db: Database): DatabaseInfo {
  const pragma = (name: string): unknown => db.pragma(name, { simple: true });
  const schemaRows = db.prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as { type: string; name: string }[];
  const tables = schemaRows.filter((r) => r.type === 'table').map((r) => r.name);
  const count = (type: string): number => schemaRows.filter((r) => r.type === type).length;
  return {
    pageSize: Number(pragma('page_size')),
    pageCount: Number(pragma('page_count')),
    journalMode: String(pragma('journal_mode')).toLowerCase() === 'wal' ? 'wal' : 'delete',
    encoding: String(pragma('encoding')),
    userVersion: Number(pragma('user_version')),
    applicationId: Number(pragma('application_id')),
    schemaVersion: Number(pragma('schema_version')),
    freelistCount: Number(pragma('freelist_count')),
    autoVacuum: Number(pragma('auto_vacuum')),
    schema: {
      tables: tables.slice(0, MAX_TABLE_NAMES),
      tableCount: tables.length,
      indexCount: count('index'),
      viewCount: count('view'),
      triggerCount: count('trigger'),
    },
  };
}

/**
 * Runs SQLite's own check ('quick': PRAGMA quick_check, 'full': PRAGMA
 * integrity_check) and fails with E_SOURCE_CORRUPT listing the first
 * problems. `what` names the file in the message.
 */
export function checkIntegrity(db: Database, level: IntegrityCheck, what: string, op: 'backup' | 'restore'): void {
  if (level === 'none') return;
  const pragma = level === 'quick' ? 'quick_check' : 'integrity_check';
  const rows = db.pragma(`${pragma}(10)`, { simple: false }) as Record<string, unknown>[];
  const problems = rows.map((r) => String(Object.values(r)[0]));
  if (problems.length === 1 && problems[0] === 'ok') return;
  const code = op === 'backup' ? 'E_SOURCE_CORRUPT' : 'E_CORRUPT_OBJECT';
  throw new EbmError(code, `${what} failed SQLite's ${pragma}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`, { subject: what, op });
}
