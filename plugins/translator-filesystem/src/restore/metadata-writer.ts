import { chmodSync, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, lutimesSync } from 'node:fs';
import { setAttributeSync } from '@napi-rs/xattr';
import { TreeEntry, Warning } from '@ebm/sdk';
import { messageOf, xattrErrno } from '../fs-errors';
import { entryTimes } from './times';

/**
 * Applies an entry's metadata to what restore created. Order matters:
 * owner first (chown clears set-uid bits and file capabilities), then xattrs
 * (security.capability survives), then mode (restores set-uid), then times
 * (last, so nothing after them moves mtime).
 *
 * Owners are restored only when running as root (as restic does); as another
 * user the files simply belong to that user. Failures become warnings.
 * Calls are synchronous (single fast syscalls; see write-file.ts).
 */
export class MetadataWriter {
  readonly #asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

  constructor(private readonly warn: (w: Warning) => void) {}

  get asRoot(): boolean {
    return this.#asRoot;
  }

  /** A regular file or directory, through its open descriptor (no path lookups to race with). */
  applyToDescriptor(fd: number, abs: string, relPath: string, entry: TreeEntry): void {
    // Owner and mode are changed only where they differ: each change is an
    // inode update in the filesystem's journal, and creating 20k files with
    // three such updates each measured several times slower than with one
    // (the times). fstat costs no write. A skipped chown clears nothing, so
    // the mode compared after it is the mode the file really has.
    const now = fstatSync(fd);
    if (this.#asRoot && entry.uid !== undefined && entry.gid !== undefined && (now.uid !== entry.uid || now.gid !== entry.gid)) {
      this.#step(relPath, 'owner', () => fchownSync(fd, entry.uid!, entry.gid!));
    }
    this.#xattrs(abs, relPath, entry);
    if (entry.mode !== undefined) {
      const mode = entry.mode & 0o7777;
      // Set-id bits are always applied: they are not given at creation, and chown clears them.
      if ((now.mode & 0o7777) !== mode || mode & 0o6000) this.#step(relPath, 'mode', () => fchmodSync(fd, mode));
    }
    const times = entryTimes(entry);
    if (times) this.#step(relPath, 'times', () => futimesSync(fd, times[0], times[1]));
  }

  /** A symlink: owner and times of the link itself (symlinks have no mode on Linux). */
  applyToSymlink(abs: string, relPath: string, entry: TreeEntry): void {
    if (this.#asRoot && entry.uid !== undefined && entry.gid !== undefined) this.#step(relPath, 'owner', () => lchownSync(abs, entry.uid!, entry.gid!));
    this.#xattrs(abs, relPath, entry);
    const times = entryTimes(entry);
    if (times) this.#step(relPath, 'times', () => lutimesSync(abs, times[0], times[1]));
  }

  /**
   * A FIFO or device node this restore just created (it cannot be opened
   * without side effects). chmod takes a path and follows symlinks, but the
   * path was just created by mknod/mkfifo in a directory we verified.
   */
  applyToNode(abs: string, relPath: string, entry: TreeEntry): void {
    if (this.#asRoot && entry.uid !== undefined && entry.gid !== undefined) this.#step(relPath, 'owner', () => lchownSync(abs, entry.uid!, entry.gid!));
    this.#xattrs(abs, relPath, entry);
    if (entry.mode !== undefined) this.#step(relPath, 'mode', () => chmodSync(abs, entry.mode! & 0o7777));
    const times = entryTimes(entry);
    if (times) this.#step(relPath, 'times', () => lutimesSync(abs, times[0], times[1]));
  }

  /** Sets xattrs with lsetxattr (no symlink following); one warning per entry at most. */
  #xattrs(abs: string, relPath: string, entry: TreeEntry): void {
    if (entry.xattrs === undefined) return;
    for (const { name, value } of entry.xattrs) {
      try {
        setAttributeSync(abs, name, Buffer.from(value, 'base64'));
      } catch (err) {
        const errno = xattrErrno(err);
        this.warn({
          path: relPath,
          code: 'E_PERMISSION',
          message: `${relPath}: extended attribute ${name} could not be restored (${errno === 'ENOTSUP' ? 'the target filesystem does not support it' : messageOf(err)})`,
        });
        return;
      }
    }
  }

  #step(relPath: string, what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.warn({ path: relPath, code: 'E_PERMISSION', message: `${relPath}: could not restore ${what} (${messageOf(err)})` });
    }
  }
}
