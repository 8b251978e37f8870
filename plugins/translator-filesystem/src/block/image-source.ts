import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';

/** Where the bytes of a block-mode backup came from; recorded in the snapshot meta. */
export type ImageSourceKind =
  /** A reflink copy (FICLONE) made next to the file: a point-in-time image, immune to writers. */
  | 'reflink'
  /** The live file, with before/after and per-block consistency checks. */
  | 'live';

export interface OpenedImage {
  readonly handle: FileHandle;
  readonly kind: ImageSourceKind;
  /** Why a reflink copy was not used (when it was asked for). */
  readonly note?: string;
  close(): Promise<void>;
}

/** O_NOFOLLOW: never read through a symlink swapped in after the walk. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens the image for reading. With `reflink`, first tries
 * `copyFile(…, COPYFILE_FICLONE_FORCE)` to a hidden name next to the file
 * (btrfs, XFS with reflink, bcachefs, OCFS2…): the clone shares the file's
 * extents and is a consistent point-in-time copy, made in O(metadata). The
 * clone is unlinked as soon as it is open — the descriptor keeps it readable
 * and nothing is left behind whatever happens next; if the open itself fails
 * it is removed too. Any failure (the filesystem cannot clone, the directory
 * is read-only, …) falls back to the live file.
 */
export async function openImage(absPath: string, reflink: boolean): Promise<OpenedImage> {
  let note: string | undefined;
  if (reflink) {
    const clone = path.join(path.dirname(absPath), `.ebm-reflink-${randomBytes(6).toString('hex')}-${path.basename(absPath)}`.slice(0, 255));
    try {
      await fsp.copyFile(absPath, clone, constants.COPYFILE_FICLONE_FORCE | constants.COPYFILE_EXCL);
      try {
        const handle = await fsp.open(clone, OPEN_FLAGS);
        return { handle, kind: 'reflink', close: () => handle.close() };
      } finally {
        await fsp.rm(clone, { force: true });
      }
    } catch (err) {
      note = `no reflink copy (${(err as { code?: string }).code ?? (err as Error).message})`;
      await fsp.rm(clone, { force: true }).catch(() => undefined);
    }
  }
  const handle = await fsp.open(absPath, OPEN_FLAGS);
  return { handle, kind: 'live', note, close: () => handle.close() };
}
