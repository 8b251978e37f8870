import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { EbmError, resolveInside, RestoreContext, TreeEntry } from '@ebm/sdk';
import type { DatabaseMeta } from '../manifest/entry-meta';
import type { IntegrityCheck, SqliteOptions } from '../options';
import { placeDatabase } from './place-database';
import { removeSideFiles, verifyDatabaseFile } from './verify-database';
import { writeDatabaseFile } from './write-database';

/**
 * Restores one database entry to `<target>/<path>`: the pages are written to
 * a temporary file in the same directory and fsynced, the file gets the
 * recorded permission bits (and owner, when running as root), SQLite checks
 * it (verify-database.ts), and only then does it replace anything
 * (place-database.ts). On any failure the temporary file is removed and the
 * target is as it was.
 */
export async function restoreDatabase(ctx: RestoreContext, relPath: string, entry: TreeEntry, meta: DatabaseMeta, options: SqliteOptions): Promise<void> {
  const finalPath = resolveInside(ctx.target, relPath);
  const temp = path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.ebm-restore-${randomBytes(6).toString('hex')}`);
  try {
    await fsp.mkdir(path.dirname(finalPath), { recursive: true });
    await writeDatabaseFile(ctx, entry, meta, temp, finalPath);
    await applyOwnership(ctx, temp, entry, relPath);
    await verifyDatabaseFile(temp, meta, restoreCheck(options, meta), finalPath);
    await placeDatabase(temp, finalPath, ctx.overwrite);
  } catch (err) {
    await fsp.rm(temp, { force: true }).catch(() => undefined);
    await removeSideFiles(temp).catch(() => undefined);
    throw fileSystemError(err, finalPath);
  }
  ctx.log.info(`restored ${finalPath}`, { pages: meta.pageCount, pageSize: meta.pageSize, journalMode: meta.journalMode });
}

async function applyOwnership(ctx: RestoreContext, file: string, entry: TreeEntry, relPath: string): Promise<void> {
  if (typeof entry.mode === 'number') await fsp.chmod(file, entry.mode & 0o7777);
  if (process.getuid?.() !== 0 || typeof entry.uid !== 'number' || typeof entry.gid !== 'number') return;
  try {
    await fsp.lchown(file, entry.uid, entry.gid);
  } catch (err) {
    ctx.warn({ path: relPath, code: 'E_PERMISSION', message: `could not restore the owner ${entry.uid}:${entry.gid} of ${relPath}: ${(err as Error).message}` });
  }
}

/**
 * The check a restored file gets: the operator's choice, else none when the
 * backup already checked these very pages (the blobs are verified against
 * their ids, so the bytes are the ones that passed), else quick.
 */
function restoreCheck(options: SqliteOptions, meta: DatabaseMeta): IntegrityCheck {
  if (options.integrityCheck !== undefined) return options.integrityCheck;
  return meta.integrityChecked === 'quick' || meta.integrityChecked === 'full' ? 'none' : 'quick';
}

/** Typed errors for what the target's file system refuses; anything else passes through. */
function fileSystemError(err: unknown, finalPath: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const options = { subject: finalPath, op: 'restore', cause: err };
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new EbmError('E_PERMISSION', `cannot write ${finalPath} (${(err as Error).message}); restore as a user who may write there, or to another directory`, options);
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new EbmError('E_DISK_FULL', `no space left to restore ${finalPath} (${(err as Error).message}); free space or restore to another file system`, options);
  }
  return err;
}
