import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { EbmError } from '@ebm/sdk';
import { carryOverDiscoveries, upgradeDiscoveries } from './discoveries';
import { createSchema, SCHEMA_VERSION } from './schema';

/** Why an existing catalog file was not used as it was. */
export interface CatalogRecovery {
  /** 'corrupt': unreadable or failed PRAGMA quick_check, moved aside; 'schema': another schema version, replaced (its discoveries carried over). */
  readonly kind: 'corrupt' | 'schema';
  readonly reason: string;
  /** Where a corrupt file was moved (kept for inspection; safe to delete). */
  readonly movedTo?: string;
}

export interface OpenedCatalogFile {
  readonly db: Db;
  /** True when the file holds no catalog yet (new, or replaced after a recovery): everything must be indexed. */
  readonly fresh: boolean;
  readonly recovered?: CatalogRecovery;
}

/**
 * Where the CLI keeps the catalog of a repository:
 * `$XDG_CACHE_HOME/ebm/catalog-<repository id>.sqlite` (or `~/.cache/ebm/…`).
 * It is a cache on the host, never inside the repository.
 */
export function defaultCatalogFile(repositoryId: string, env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(cache, 'ebm', `catalog-${repositoryId}.sqlite`);
}

/**
 * Opens (creating if needed) a catalog file in WAL mode and checks it. The
 * catalog is derived data, so nothing in it is worth an error: a file that
 * SQLite cannot read, or that fails `PRAGMA quick_check`, is moved aside to
 * `<file>.corrupt-<time>` and replaced by an empty catalog; a file of another
 * schema version is replaced, its discoveries (not derived from the
 * repository) carried over. The caller then re-indexes from the
 * repository (`fresh` is true) and tells the operator (`recovered`).
 *
 * The file is only ever renamed or deleted after its connection is closed:
 * closing any descriptor of an SQLite file in a process that holds a lock on
 * it drops that process's POSIX locks.
 */
export function openCatalogFile(file: string): OpenedCatalogFile {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let db: Db | undefined;
  try {
    db = new Database(file);
    configure(db);
    const problem = quickCheck(db);
    if (problem) throw new CorruptCatalog(problem);
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number }).n;
    if (version === SCHEMA_VERSION) {
      upgradeDiscoveries(db);
      return { db, fresh: false };
    }
    if (version === 0 && tables === 0) {
      createSchema(db);
      return { db, fresh: true };
    }
    db.close();
    db = undefined;
    // Everything but the discoveries is rebuilt from the repository; those are carried over.
    const previous = `${file}.schema-${version}`;
    removeCatalogFiles(previous);
    moveCatalogFiles(file, previous);
    const fresh = freshFile(file);
    carryOverDiscoveries(fresh.db, previous);
    removeCatalogFiles(previous);
    return { ...fresh, recovered: { kind: 'schema', reason: `catalog schema version ${version} is not this ebm's version ${SCHEMA_VERSION}` } };
  } catch (err) {
    db?.close();
    if (!(err instanceof CorruptCatalog) && !isCorruptionError(err)) {
      // Not damage (permissions, a full disk, a lock held too long): nothing to rebuild.
      throw new EbmError('E_STORAGE_IO', `cannot open the catalog ${file}: ${err instanceof Error ? err.message : String(err)}`, { subject: file, cause: err });
    }
    const reason = err instanceof Error ? err.message : String(err);
    const movedTo = moveAside(file);
    return { ...freshFile(file), recovered: { kind: 'corrupt', reason, movedTo } };
  }
}

class CorruptCatalog extends Error {}

/** True for the errors SQLite raises on a damaged file (so a caller can recover and retry once). */
export function isCorruptionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/** Moves a damaged catalog (and its WAL) aside; returns the new name of the main file. */
export function moveAside(file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = `${file}.corrupt-${stamp}`;
  try {
    moveCatalogFiles(file, target);
  } catch (err) {
    throw new EbmError('E_STORAGE_IO', `cannot move the damaged catalog ${file} aside: ${(err as Error).message}; delete it by hand`, { subject: file, cause: err });
  }
  return target;
}

/**
 * Renames a catalog file (if it exists) with its WAL and journal: a stale WAL
 * must never be replayed into a new file of the old name. The shared-memory
 * file is only an index of the WAL: it is deleted.
 */
function moveCatalogFiles(file: string, target: string): void {
  for (const suffix of ['', '-wal', '-journal']) renameIfExists(`${file}${suffix}`, `${target}${suffix}`);
  unlinkIfExists(`${file}-shm`);
}

/** Deletes a catalog file with its WAL and shared-memory files. */
export function removeCatalogFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) unlinkIfExists(`${file}${suffix}`);
}

function freshFile(file: string): { db: Db; fresh: true } {
  const db = new Database(file);
  configure(db);
  createSchema(db);
  return { db, fresh: true };
}

function configure(db: Db): void {
  db.pragma('busy_timeout = 5000'); // another ebm process (serve, a CLI find) may be syncing
  db.pragma('journal_mode = WAL'); // first read of the header: a non-database fails here
  db.pragma('synchronous = NORMAL'); // a cache: losing the last transaction on power loss is fine
}

/** undefined when `PRAGMA quick_check` says ok, else the first problems it reports. */
function quickCheck(db: Db): string | undefined {
  const rows = db.pragma('quick_check(5)', { simple: false }) as Array<{ quick_check: string }>;
  const messages = rows.map((r) => r.quick_check);
  return messages.length === 1 && messages[0] === 'ok' ? undefined : `PRAGMA quick_check: ${messages.join('; ')}`;
}

function renameIfExists(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function unlinkIfExists(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
