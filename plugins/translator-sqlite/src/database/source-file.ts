import { promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';

/** The database file an operator named, resolved. */
export interface SourceFile {
  /** Absolute path as given (symlinks not resolved): what messages name. */
  readonly absPath: string;
  /** Real path (symlinks resolved): what SQLite opens, so its -wal/-journal are found beside the real file. */
  readonly realPath: string;
  /** The entry name in the snapshot: the file name the operator gave. */
  readonly name: string;
  readonly stats: BigIntStats;
}

/**
 * Resolves and examines a database path without opening it (stat only: no
 * descriptor on the file is ever opened or closed with `fs`, which would drop
 * this process's SQLite locks on it). Missing → E_SOURCE_NOT_FOUND; not a
 * regular file → E_INVALID_SOURCE; inaccessible → E_PERMISSION.
 */
export async function resolveSourceFile(given: string, op: 'backup' | 'discover'): Promise<SourceFile> {
  if (typeof given !== 'string' || given.trim() === '') {
    throw new EbmError('E_INVALID_SOURCE', 'no database path was given: name an SQLite database file', { op });
  }
  const absPath = path.resolve(given);
  let realPath: string;
  let stats: BigIntStats;
  try {
    realPath = await fsp.realpath(absPath);
    stats = await fsp.stat(realPath, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new EbmError('E_SOURCE_NOT_FOUND', `database ${absPath} does not exist`, { subject: absPath, op });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new EbmError('E_PERMISSION', `database ${absPath} is not accessible: permission denied`, { subject: absPath, op });
    }
    throw new EbmError('E_INVALID_SOURCE', `database ${absPath} cannot be examined: ${(err as Error).message}`, { subject: absPath, op, cause: err });
  }
  if (stats.isDirectory()) {
    throw new EbmError('E_INVALID_SOURCE', `${absPath} is a directory; the sqlite translator backs up one database file (name the file, e.g. ${path.join(absPath, 'app.db')})`, { subject: absPath, op });
  }
  if (!stats.isFile()) {
    throw new EbmError('E_INVALID_SOURCE', `${absPath} is not a regular file, so it cannot be an SQLite database`, { subject: absPath, op });
  }
  return { absPath, realPath, name: path.basename(absPath), stats };
}
