import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { EbmError, isEbmError } from '@ebm/sdk';
import { Backend, FileInfo, FileType, FILE_TYPES, Handle, isByteSource, isStagedFile, SaveData } from './backend';
import { ReadHandleCache } from './read-handle-cache';
import { readRange, readRangeInto } from './read-range';

/** Prefix of the temporary name a file is written under before its atomic rename. */
export const TEMP_PREFIX = '.tmp-';

/**
 * A repository in a local directory:
 *   config, keys/<name>, data/<first two chars of name>/<name>,
 *   index/<name>, snapshots/<name>, locks/<name>.
 * Every save goes to a temporary name in the target directory, is fsynced,
 * renamed over the final name, and the directory is fsynced, so a crash
 * leaves either the complete file or nothing (plus perhaps an invisible
 * temporary file).
 */
export class LocalBackend implements Backend {
  readonly #readHandles = new ReadHandleCache();
  readonly location: string;

  constructor(directory: string) {
    this.location = path.resolve(directory);
  }

  /**
   * Where a pack may be built in place (StagingCapable): `data/` itself, on
   * the same file system as the packs, so a staged pack is renamed into
   * `data/<xx>/`, never copied. Its temporary name is never listed.
   */
  get stagingDirectory(): string {
    return path.join(this.location, 'data');
  }

  /** Absolute path of a handle's file. Rejects names that could escape their folder. */
  pathOf(handle: Handle): string {
    if (handle.type === 'config') return path.join(this.location, 'config');
    assertSafeName(handle);
    if (handle.type === 'data') return path.join(this.location, 'data', handle.name.slice(0, 2), handle.name);
    return path.join(this.location, handle.type, handle.name);
  }

  async save(handle: Handle, data: SaveData): Promise<void> {
    const target = this.pathOf(handle);
    const dir = path.dirname(target);
    const temp = path.join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    let file: fsp.FileHandle | undefined;
    try {
      if (handle.type === 'data') await fsp.mkdir(dir, { recursive: true });
      if (isStagedFile(data) && data.stagedIn === this.stagingDirectory && (await data.moveTo(target))) {
        // Built in place: durable (moveTo fsynced it) once its new name is.
        this.#readHandles.forget(target);
        await syncDirectory(dir);
        return;
      }
      file = await fsp.open(temp, 'wx', 0o600);
      if (isByteSource(data)) {
        let written = 0;
        for await (const piece of data.pieces()) {
          await writeAll(file, [piece]);
          written += piece.length;
        }
        if (written !== data.size) throw new EbmError('E_INTERNAL', `a byte source of ${data.size} bytes yielded ${written}; nothing was stored`);
      } else {
        await writeAll(file, data instanceof Uint8Array ? [data] : data);
      }
      await file.sync();
      await file.close();
      file = undefined;
      await fsp.rename(temp, target);
      this.#readHandles.forget(target);
      await syncDirectory(dir);
    } catch (err) {
      if (file) await file.close().catch(() => undefined);
      await fsp.rm(temp, { force: true }).catch(() => undefined);
      throw storageError(err, 'write', target);
    }
  }

  load(handle: Handle, offset = 0, length?: number): Promise<Buffer> {
    return this.#reading(handle, (fh, file) => readRange(fh, file, offset, length));
  }

  /** ReadIntoCapable: `load` of exactly `target.length` bytes at `offset`, into `target`. */
  loadInto(handle: Handle, offset: number, target: Uint8Array): Promise<void> {
    return this.#reading(handle, (fh, file) => readRangeInto(fh, file, offset, target));
  }

  /** Runs `read` on an open handle of the file; errors name the file (storageError). */
  async #reading<T>(handle: Handle, read: (fh: fsp.FileHandle, file: string) => Promise<T>): Promise<T> {
    const file = this.pathOf(handle);
    try {
      // Pack files never change once named (the name is the hash of the
      // bytes), so their handles are kept open across reads.
      if (handle.type === 'data') return await this.#readHandles.with(file, (fh) => read(fh, file));
      const fh = await fsp.open(file, 'r');
      try {
        return await read(fh, file);
      } finally {
        await fh.close().catch(() => undefined);
      }
    } catch (err) {
      throw storageError(err, 'read', file);
    }
  }

  async stat(handle: Handle): Promise<FileInfo> {
    const file = this.pathOf(handle);
    try {
      const st = await fsp.stat(file);
      return { name: handle.type === 'config' ? 'config' : handle.name, size: st.size };
    } catch (err) {
      throw storageError(err, 'stat', file);
    }
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      const info = await this.stat({ type, name: 'config' }).catch((err: unknown) => {
        if ((err as EbmError).code === 'E_STORAGE_NOT_FOUND') return undefined;
        throw err;
      });
      if (info) yield info;
      return;
    }
    const root = path.join(this.location, type);
    const dirs = type === 'data' ? await subfolders(root) : [root];
    for (const dir of dirs.sort()) {
      for (const entry of await readDirOrEmpty(dir)) {
        if (!entry.isFile() || entry.name.startsWith(TEMP_PREFIX)) continue;
        const file = path.join(dir, entry.name);
        try {
          const st = await fsp.stat(file);
          yield { name: entry.name, size: st.size };
        } catch (err) {
          // Removed between readdir and stat: it is simply gone.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw storageError(err, 'stat', file);
        }
      }
    }
  }

  async close(): Promise<void> {
    this.#readHandles.clear();
  }

  /**
   * Removes the `.tmp-*` files of a type's folders (for 'data', `data/` and
   * every `data/<xx>/`): what interrupted saves and packs built in place by a
   * process that died left behind (TemporaryFilesCapable). Only while nobody
   * writes that type: prune, under its exclusive lock.
   */
  async removeTemporaryFiles(type: FileType): Promise<{ files: number; bytes: number }> {
    const root = path.join(this.location, type);
    const dirs = type === 'data' ? [root, ...(await subfolders(root))] : [root];
    let files = 0;
    let bytes = 0;
    for (const dir of dirs) {
      for (const entry of await readDirOrEmpty(dir)) {
        if (!entry.isFile() || !entry.name.startsWith(TEMP_PREFIX)) continue;
        const file = path.join(dir, entry.name);
        try {
          const { size } = await fsp.stat(file);
          await fsp.unlink(file);
          files++;
          bytes += size;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw storageError(err, 'remove', file);
        }
      }
    }
    return { files, bytes };
  }

  async remove(handle: Handle): Promise<void> {
    const file = this.pathOf(handle);
    this.#readHandles.forget(file);
    try {
      await fsp.unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw storageError(err, 'remove', file);
    }
  }

  async create(): Promise<void> {
    try {
      await fsp.mkdir(this.location, { recursive: true, mode: 0o700 });
      for (const type of FILE_TYPES) {
        if (type !== 'config') await fsp.mkdir(path.join(this.location, type), { recursive: true, mode: 0o700 });
      }
      await syncDirectory(this.location);
    } catch (err) {
      throw storageError(err, 'create', this.location);
    }
  }

  async isEmpty(): Promise<boolean> {
    try {
      return (await fsp.readdir(this.location)).length === 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw storageError(err, 'read', this.location);
    }
  }
}

function assertSafeName(handle: Handle): void {
  const { name } = handle;
  const ok = name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\') && !name.includes('\0') && !name.startsWith(TEMP_PREFIX);
  if (!ok || (handle.type === 'data' && name.length < 2)) {
    throw new EbmError('E_INTERNAL', `invalid ${handle.type} file name ${JSON.stringify(name)}`, { subject: name });
  }
}

/** The folders in `dir` (data/'s fan-out folders), as paths. */
async function subfolders(dir: string): Promise<string[]> {
  return (await readDirOrEmpty(dir)).filter((d) => d.isDirectory()).map((d) => path.join(dir, d.name));
}

async function readDirOrEmpty(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw storageError(err, 'list', dir);
  }
}

/** Makes a rename durable: fsync of the directory that holds the new name. */
async function syncDirectory(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Maps a Node error to the catalogue: missing → E_STORAGE_NOT_FOUND, no space → E_DISK_FULL, rest → E_STORAGE_IO. */
/** Buffers per writev call (Linux's IOV_MAX is 1024). */
const WRITEV_PARTS = 1024;

/**
 * Writes `parts` in order with writev, many parts per call: a pack of small
 * blobs has thousands of parts, and one awaited write each cost a thread-pool
 * round trip per blob. A short write continues where it stopped.
 */
async function writeAll(file: fsp.FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  let next = 0;
  while (next < parts.length) {
    const group = parts.slice(next, next + WRITEV_PARTS);
    const groupBytes = group.reduce((n, p) => n + p.length, 0);
    const { bytesWritten } = await file.writev(group as Uint8Array[]);
    if (bytesWritten === groupBytes) {
      next += group.length;
      continue;
    }
    // Short write: skip the parts written whole, resume inside the first one that was not.
    let done = bytesWritten;
    let i = 0;
    while (done >= group[i]!.length) done -= group[i++]!.length;
    next += i;
    const rest = parts[next]!.subarray(done);
    let written = 0;
    while (written < rest.length) written += (await file.write(rest, written, rest.length - written)).bytesWritten;
    next++;
  }
}

function storageError(err: unknown, op: string, file: string): EbmError {
  if (isEbmError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  const detail = e.code ?? e.message;
  switch (e.code) {
    case 'ENOENT':
      if (op !== 'read' && op !== 'stat') break;
      return new EbmError('E_STORAGE_NOT_FOUND', `${file}: no such file`, { subject: file, op, cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new EbmError('E_DISK_FULL', `${file}: out of space while trying to ${op} (${detail})`, { subject: file, op, cause: err });
  }
  return new EbmError('E_STORAGE_IO', `${file}: failed to ${op} (${detail}: ${e.message})`, { subject: file, op, cause: err });
}
