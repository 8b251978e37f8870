import { createHash } from 'node:crypto';
import type { Backend, FileType, Handle } from '../backend/backend';

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

/** The backend's own checksum function, if it offers one (bound to it). */
export function backendChecksum(backend: Backend): ((handle: Handle) => Promise<string>) | undefined {
  const fn = (backend as Partial<ChecksumCapable>).checksum;
  return typeof fn === 'function' ? (handle: Handle) => fn.call(backend, handle) : undefined;
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

/** Total byte length of what a save sends. */
export function byteLength(data: Uint8Array | readonly Uint8Array[]): number {
  if (data instanceof Uint8Array) return data.length;
  let n = 0;
  for (const part of data) n += part.length;
  return n;
}

/** `type/name` (or `config`) as errors and events name an object. */
export function describeHandle(handle: Handle): string {
  return handle.type === 'config' ? 'config' : `${handle.type}/${handle.name}`;
}
