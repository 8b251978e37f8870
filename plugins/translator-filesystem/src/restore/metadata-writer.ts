import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
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
 */
export class MetadataWriter {
  readonly #asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

  constructor(private readonly warn: (w: Warning) => void) {}

  get asRoot(): boolean {
    return this.#asRoot;
  }

  /** A regular file or directory, through its open descriptor (no path lookups to race with). */
  async applyToHandle(handle: FileHandle, abs: string, relPath: string, entry: TreeEntry): Promise<void> {
    await this.#step(relPath, 'owner', async () => {
      if (this.#asRoot && entry.uid !== undefined && entry.gid !== undefined) await handle.chown(entry.uid, entry.gid);
    });
    this.#xattrs(abs, relPath, entry);
    await this.#step(relPath, 'mode', async () => {
      if (entry.mode !== undefined) await handle.chmod(entry.mode & 0o7777);
    });
    const times = entryTimes(entry);
    if (times) await this.#step(relPath, 'times', () => handle.utimes(times[0], times[1]));
  }

  /** A symlink: owner and times of the link itself (symlinks have no mode on Linux). */
  async applyToSymlink(abs: string, relPath: string, entry: TreeEntry): Promise<void> {
    await this.#step(relPath, 'owner', async () => {
      if (this.#asRoot && entry.uid !== undefined && entry.gid !== undefined) await fsp.lchown(abs, entry.uid, entry.gid);
    });
    this.#xattrs(abs, relPath, entry);
    const times = entryTimes(entry);
    if (times) await this.#step(relPath, 'times', () => fsp.lutimes(abs, times[0], times[1]));
  }

  /**
   * A FIFO or device node this restore just created (it cannot be opened
   * without side effects). chmod takes a path and follows symlinks, but the
   * path was created by mknod/mkfifo in a directory we verified.
   */
  async applyToNode(abs: string, relPath: string, entry: TreeEntry): Promise<void> {
    await this.#step(relPath, 'owner', async () => {
      if (this.#asRoot && entry.uid !== undefined && entry.gid !== undefined) await fsp.lchown(abs, entry.uid, entry.gid);
    });
    this.#xattrs(abs, relPath, entry);
    await this.#step(relPath, 'mode', async () => {
      if (entry.mode !== undefined) await fsp.chmod(abs, entry.mode & 0o7777);
    });
    const times = entryTimes(entry);
    if (times) await this.#step(relPath, 'times', () => fsp.lutimes(abs, times[0], times[1]));
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

  async #step(relPath: string, what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.warn({ path: relPath, code: 'E_PERMISSION', message: `${relPath}: could not restore ${what} (${messageOf(err)})` });
    }
  }
}
