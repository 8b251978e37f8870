import { lstatSync, mkdirSync, promises as fsp, rmSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { EbmError, resolveInside } from '@ebm/sdk';
import { errnoCode, isNotFound, messageOf } from '../fs-errors';

/**
 * The restore target, guarded so nothing is ever written through a symlink:
 * - a directory is used as a parent only after this restore created it, or
 *   verified with lstat that it is a real directory (`#verified`);
 * - with `overwrite`, whatever non-directory stands where a directory must
 *   go (a symlink included) is removed, never followed, and whatever stands
 *   where a file must go is removed before the file is created;
 * - without `overwrite` the target was empty, so anything in the way means a
 *   hostile snapshot (or a concurrent writer) and the restore stops.
 * Leaves are created by the caller with O_NOFOLLOW (and O_EXCL without
 * overwrite), so the last component cannot be a symlink either.
 */
export class SafeTarget {
  readonly #verified = new Set<string>(['']);

  private constructor(
    /** Real absolute path of the target directory. */
    readonly root: string,
    readonly overwrite: boolean,
  ) {}

  /** Creates the target directory if needed and resolves it (a symlink named by the operator is followed once, here). */
  static async open(target: string, overwrite: boolean): Promise<SafeTarget> {
    const absolute = path.resolve(target);
    try {
      await fsp.mkdir(absolute, { recursive: true });
      const root = await fsp.realpath(absolute);
      if (!(await fsp.stat(root)).isDirectory()) throw new Error('not a directory');
      return new SafeTarget(root, overwrite);
    } catch (err) {
      throw new EbmError('E_PERMISSION', `restore target ${absolute} cannot be used as a directory: ${messageOf(err)}`, { subject: absolute, op: 'restore', cause: err });
    }
  }

  /** Absolute path of a snapshot path; E_UNSAFE_PATH for '..', absolute or empty components. */
  resolve(relPath: string): string {
    return resolveInside(this.root, relPath);
  }

  /**
   * Makes `relPath` (and its parents) real directories inside the target;
   * returns its absolute path. (Synchronous syscalls: see write-file.ts.)
   */
  ensureDir(relPath: string): string {
    if (this.#verified.has(relPath)) return relPath === '' ? this.root : this.resolve(relPath);
    const abs = this.resolve(relPath);
    this.ensureDir(parentOf(relPath));
    try {
      mkdirSync(abs, 0o700);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      const existing = lstatSync(abs);
      if (!existing.isDirectory()) {
        if (!this.overwrite) throw this.#inTheWay(relPath, existing.isSymbolicLink());
        unlinkSync(abs); // a symlink or file where a directory must go: replaced, never followed
        mkdirSync(abs, 0o700);
      }
    }
    this.#verified.add(relPath);
    return abs;
  }

  /**
   * Prepares the place of a non-directory entry: its parent is a verified
   * directory and, with overwrite, nothing stands at the path any more.
   */
  prepareLeaf(relPath: string): string {
    const abs = this.resolve(relPath);
    this.ensureDir(parentOf(relPath));
    if (this.overwrite && removeExisting(abs)) this.#forgetBelow(relPath);
    return abs;
  }

  /**
   * A directory this restore verified was removed (a snapshot naming a
   * directory and a leaf alike, which only a damaged or hostile one does):
   * it and everything below must be verified again, or a symlink the leaf
   * planted there would be written through.
   */
  #forgetBelow(relPath: string): void {
    for (const known of this.#verified) if (known === relPath || known.startsWith(`${relPath}/`)) this.#verified.delete(known);
  }

  /** The error for something found in the way in an empty-target restore. */
  #inTheWay(relPath: string, isSymlink: boolean): EbmError {
    return isSymlink
      ? new EbmError('E_UNSAFE_PATH', `refusing to restore below ${relPath}: it is a symlink inside the target; nothing was written through it`, { subject: relPath, op: 'restore' })
      : new EbmError('E_TARGET_NOT_EMPTY', `cannot restore ${relPath}: something already exists there in ${this.root}; restore into an empty directory or pass --overwrite`, {
          subject: relPath,
          op: 'restore',
        });
  }

  /** Maps an EEXIST from an exclusive create to the error above. */
  async explainExisting(relPath: string, abs: string): Promise<EbmError> {
    const existing = await fsp.lstat(abs).catch(() => undefined);
    return this.#inTheWay(relPath, existing?.isSymbolicLink() ?? false);
  }
}

/** Removes whatever is at `abs` (a directory with its contents); symlinks are removed, not followed. True if it removed a directory. */
function removeExisting(abs: string): boolean {
  let existing;
  try {
    existing = lstatSync(abs);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  if (!existing.isDirectory()) {
    unlinkSync(abs);
    return false;
  }
  rmSync(abs, { recursive: true, force: true });
  return true;
}

export function parentOf(relPath: string): string {
  const slash = relPath.lastIndexOf('/');
  return slash < 0 ? '' : relPath.slice(0, slash);
}
