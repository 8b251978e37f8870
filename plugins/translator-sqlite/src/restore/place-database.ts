import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Database } from 'better-sqlite3';
import { EbmError } from '@ebm/sdk';
import { openReadWrite } from '../database/open-database';
import { isBusy, sqliteCode, toEbmError } from '../database/sqlite-errors';
import { SIDE_FILE_SUFFIXES } from './verify-database';

/**
 * Puts the verified temporary file `temp` in place as `finalPath` (same
 * directory, so the rename is atomic) and fsyncs the directory.
 *
 * When `finalPath` exists (only allowed with `overwrite`) and is an SQLite
 * database, it must not be in use: this process takes SQLite's exclusive lock
 * on it without waiting (busy timeout 0, exclusive locking mode). That fails —
 * E_TARGET_IN_USE, and nothing is replaced — when another process is writing
 * it (rollback journal) or has it open at all (WAL mode, where every
 * connection holds a shared lock). An idle connection to a rollback-journal
 * database holds no lock and cannot be detected: stop applications before
 * restoring over their files.
 *
 * The checking connection closes before the rename — as the last connection
 * of a WAL database it checkpoints and deletes the old -wal — so nothing of
 * this process refers to the old file by name afterwards. Then any remaining
 * -wal/-shm/-journal of the old file is removed, so no old log can be
 * replayed into the restored file, and the new file is renamed over the old.
 */
export async function placeDatabase(temp: string, finalPath: string, overwrite: boolean): Promise<void> {
  const existing = await lstatOrUndefined(finalPath);
  const sideFiles: string[] = [];
  for (const suffix of SIDE_FILE_SUFFIXES) if ((await lstatOrUndefined(`${finalPath}${suffix}`)) !== undefined) sideFiles.push(`${finalPath}${suffix}`);
  if ((existing !== undefined || sideFiles.length > 0) && !overwrite) {
    const what = existing !== undefined ? finalPath : sideFiles[0]!;
    throw new EbmError('E_TARGET_NOT_EMPTY', `${what} already exists; pass --overwrite to replace it`, { subject: what, op: 'restore' });
  }
  if (existing?.isDirectory()) {
    throw new EbmError('E_TARGET_NOT_EMPTY', `${finalPath} is a directory; a database cannot replace it (remove it or restore elsewhere)`, { subject: finalPath, op: 'restore' });
  }
  // A symlink is replaced itself; what it points to is never opened.
  if (existing?.isFile()) ensureNotInUse(finalPath);
  for (const suffix of SIDE_FILE_SUFFIXES) await fsp.rm(`${finalPath}${suffix}`, { force: true });
  await fsp.rename(temp, finalPath);
  await fsyncDirectory(path.dirname(finalPath));
}

/**
 * Fails with E_TARGET_IN_USE when another process holds (or is waiting in) a
 * lock on the database `file`. A file SQLite does not recognise as a
 * database, or finds damaged, cannot be in use as one and may be replaced.
 */
function ensureNotInUse(file: string): void {
  let db: Database | undefined;
  try {
    db = openReadWrite(file, 0);
    db.pragma('locking_mode = EXCLUSIVE'); // in WAL mode: the lock below is on the database file, which every open connection shares
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    db.exec('COMMIT');
  } catch (err) {
    const code = sqliteCode(err);
    if (isBusy(err)) {
      throw new EbmError('E_TARGET_IN_USE', `${file} is open in another process, so it was not replaced; stop the application using it, or restore to another directory`, {
        subject: file, op: 'restore', cause: err,
      });
    }
    if (code !== 'SQLITE_NOTADB' && code?.startsWith('SQLITE_CORRUPT') !== true) {
      throw toEbmError(err, { path: file, op: 'restore', busyTimeoutMs: 0, role: 'target' });
    }
  } finally {
    db?.close();
  }
}

async function lstatOrUndefined(file: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await fsp.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
