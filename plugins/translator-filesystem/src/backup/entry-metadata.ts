import type { BigIntStats } from 'node:fs';
import { EntryKind, EntryMetadata, Xattr } from '@ebm/sdk';
import { OwnerNames } from './owner-names';

/** The entry kind of an lstat result (regular files are 'file'; hardlinks are decided by the walker). */
export function kindOf(stats: BigIntStats): EntryKind {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isCharacterDevice()) return 'chardev';
  if (stats.isBlockDevice()) return 'blockdev';
  return 'socket';
}

/**
 * The metadata recorded for every entry: full st_mode, owner ids and names,
 * times as nanosecond decimal strings (exact: from `lstat(…, {bigint: true})`),
 * the inode (for change detection) and, when read, xattrs.
 */
export function metadataOf(stats: BigIntStats, names: OwnerNames, xattrs: readonly Xattr[] | undefined): EntryMetadata {
  const uid = Number(stats.uid);
  const gid = Number(stats.gid);
  return {
    mode: Number(stats.mode),
    uid,
    gid,
    user: names.user(uid),
    group: names.group(gid),
    mtimeNs: stats.mtimeNs.toString(),
    ctimeNs: stats.ctimeNs.toString(),
    // atime is deliberately not recorded: reading a file for a backup changes
    // it, which would change the directory's tree blob on every backup (no
    // tree dedup, and two backups of an unchanged source would differ).
    inode: stats.ino.toString(),
    xattrs: xattrs !== undefined && xattrs.length > 0 ? xattrs : undefined,
  };
}
