import { createHash } from 'node:crypto';
import { isByteSource } from '../backend/backend';
import type { Backend, FileType, Handle, SaveData } from '../backend/backend';

/**
 * Optional capabilities a Backend may offer beyond the one interface in
 * backend.ts. The mover detects them at run time, so backend.ts stays small
 * and a backend that lacks one still works (the mover falls back).
 */

/**
 * A backend that can tell the SHA-256 of a stored object without the caller
 * downloading it — e.g. an S3-compatible store answering HeadObject with its
 * `x-amz-checksum-sha256` (the backend converts it to lowercase hex). The
 * value must be computed by the storage over the bytes it actually holds, not
 * echoed from what the client sent; otherwise it verifies nothing.
 */
export interface ChecksumCapable {
  /** Lowercase hex SHA-256 of the stored object's complete bytes. E_STORAGE_NOT_FOUND if missing. */
  checksum(handle: Handle): Promise<string>;
}

/** `backend[name]` bound to the backend when it is a function (a capability it offers), else undefined. */
function boundMethod<F extends (...args: never[]) => unknown>(backend: Backend, name: string): F | undefined {
  const fn = (backend as unknown as Record<string, unknown>)[name];
  return typeof fn === 'function' ? (fn.bind(backend) as F) : undefined;
}

/** The backend's own checksum function, if it offers one (bound to it). */
export function backendChecksum(backend: Backend): ChecksumCapable['checksum'] | undefined {
  return boundMethod(backend, 'checksum');
}

/**
 * A backend that offers a directory on its own storage where a writer may
 * build a file in place (a pack, as it fills: SpooledPackBody), and whose
 * `save` of a StagedFile from there moves the file instead of copying it.
 * The local directory backend does (`<repository>/data`).
 */
export interface StagingCapable {
  readonly stagingDirectory: string;
}

/** The backend's staging directory, if it offers one (through any stack of wrappers). */
export function stagingDirectory(backend: Backend): string | undefined {
  const dir = (backend as Partial<StagingCapable>).stagingDirectory;
  return typeof dir === 'string' ? dir : undefined;
}

/**
 * A backend that can remove the temporary files interrupted writes left
 * behind (a local directory's `.tmp-*` files: a save cut short, a pack being
 * built in place when the process died). Only safe while nobody writes that
 * type: prune calls it for 'data' under its exclusive lock.
 */
export interface TemporaryFilesCapable {
  removeTemporaryFiles(type: FileType): Promise<TemporaryFilesRemoved>;
}

export interface TemporaryFilesRemoved {
  readonly files: number;
  readonly bytes: number;
}

/** The backend's removeTemporaryFiles, if it offers one (bound to it). */
export function temporaryFileRemover(backend: Backend): TemporaryFilesCapable['removeTemporaryFiles'] | undefined {
  return boundMethod(backend, 'removeTemporaryFiles');
}

/**
 * A backend that can read a range of a stored object into a buffer the
 * caller supplies, so a reader that reads many ranges (a restore's pack
 * windows) reuses its buffers instead of allocating one per read. It fills
 * `target` completely or rejects as `load` would (E_STORAGE_NOT_FOUND, and
 * E_CORRUPT_OBJECT for an object shorter than the range). The local
 * directory backend does.
 */
export interface ReadIntoCapable {
  loadInto(handle: Handle, offset: number, target: Uint8Array): Promise<void>;
}

/** The backend's loadInto, if it offers one (bound to it; through any stack of wrappers). */
export function readIntoFunction(backend: Backend): ReadIntoCapable['loadInto'] | undefined {
  return boundMethod(backend, 'loadInto');
}

/** File types whose names are the SHA-256 of their bytes (docs/format.md, "File id"). */
export const CONTENT_ADDRESSED_TYPES: ReadonlySet<FileType> = new Set<FileType>(['keys', 'data', 'index', 'snapshots']);

/** Lowercase hex SHA-256 of a buffer or of a list of parts' concatenation (without concatenating). */
export function sha256Hex(data: Uint8Array | readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  if (data instanceof Uint8Array) hash.update(data);
  else for (const part of data) hash.update(part);
  return hash.digest('hex');
}

/** sha256Hex of anything `save` takes (a ByteSource is read through once). */
export async function sha256Of(data: SaveData): Promise<string> {
  if (!isByteSource(data)) return sha256Hex(data);
  const hash = createHash('sha256');
  for await (const piece of data.pieces()) hash.update(piece);
  return hash.digest('hex');
}

/** Total byte length of what a save sends. */
export function byteLength(data: SaveData): number {
  if (data instanceof Uint8Array) return data.length;
  if (isByteSource(data)) return data.size;
  let n = 0;
  for (const part of data) n += part.length;
  return n;
}

/** `type/name` (or `config`) as errors and events name an object. */
export function describeHandle(handle: Handle): string {
  return handle.type === 'config' ? 'config' : `${handle.type}/${handle.name}`;
}
