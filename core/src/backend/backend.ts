/**
 * The one storage interface every backend implements (local directory now,
 * S3-compatible object storage later). It knows files, not formats: names,
 * bytes, ranges. Retry, limits, checksums and logging are wrappers around it,
 * not code inside each backend. Every backend passes the shared conformance
 * suite in `backend-conformance.ts`.
 */
export type FileType = 'config' | 'keys' | 'data' | 'index' | 'snapshots' | 'locks';

export const FILE_TYPES: readonly FileType[] = ['config', 'keys', 'data', 'index', 'snapshots', 'locks'];

/** A file in the repository. For 'config' the name is ignored (there is one config file). */
export interface Handle {
  readonly type: FileType;
  readonly name: string;
}

export interface FileInfo {
  readonly name: string;
  readonly size: number;
}

/**
 * Bytes that live elsewhere than in memory, e.g. a pack spooled to a local
 * file while it filled (SpooledPackBody, pack-body.ts). `pieces()` may be called again (a
 * retried save reads them again); each piece it yields is valid only until
 * the next is asked for.
 */
export interface ByteSource {
  readonly size: number;
  pieces(): AsyncIterable<Uint8Array>;
}

/**
 * A ByteSource that is a file written in a backend's staging directory
 * (StagingCapable): that backend's `save` may move it into place instead of
 * copying its bytes. Any other backend reads it through `pieces()`.
 */
export interface StagedFile extends ByteSource {
  /** The staging directory it was written in, or undefined once it has no name there. */
  readonly stagedIn: string | undefined;
  /**
   * Writes it out durably (fsync) and renames it to `target` (same file
   * system); false when it was moved before (copy it from `pieces()` then).
   */
  moveTo(target: string): Promise<boolean>;
}

/** What `save` stores: one buffer, a list of parts (stored as their concatenation), or a ByteSource. */
export type SaveData = Uint8Array | readonly Uint8Array[] | ByteSource;

/** True for a StagedFile. */
export function isStagedFile(data: SaveData): data is StagedFile {
  return isByteSource(data) && typeof (data as Partial<StagedFile>).moveTo === 'function';
}

/** True for a ByteSource (as opposed to bytes in memory). */
export function isByteSource(data: SaveData): data is ByteSource {
  return !(data instanceof Uint8Array) && !Array.isArray(data);
}

/** The whole of `data` in one buffer (a copy): for in-memory stores and tests, not the backup path. */
export async function collectBytes(data: SaveData): Promise<Buffer> {
  if (data instanceof Uint8Array) return Buffer.from(data);
  if (!isByteSource(data)) return Buffer.concat(data);
  const pieces: Buffer[] = [];
  for await (const piece of data.pieces()) pieces.push(Buffer.from(piece));
  const whole = Buffer.concat(pieces);
  if (whole.length !== data.size) throw new RangeError(`a byte source of ${data.size} bytes yielded ${whole.length}`);
  return whole;
}

export interface Backend {
  /** Human-readable location, e.g. the directory path. */
  readonly location: string;
  /**
   * Stores a whole file atomically: after it resolves the file is durable
   * (fsynced) and complete; a crash before leaves no file (or the old one)
   * under the name. Overwrites an existing file of the same handle.
   * A list of parts is stored as their concatenation, in order (so a caller
   * that builds a file from pieces never has to copy them into one buffer);
   * a ByteSource is read piece by piece, and its size is the file's size.
   * Errors: E_DISK_FULL when out of space, E_STORAGE_IO otherwise.
   */
  save(handle: Handle, data: SaveData): Promise<void>;
  /** Reads `length` bytes at `offset` (whole file by default). E_STORAGE_NOT_FOUND if missing; short files give E_CORRUPT_OBJECT. */
  load(handle: Handle, offset?: number, length?: number): Promise<Buffer>;
  /** E_STORAGE_NOT_FOUND if missing. */
  stat(handle: Handle): Promise<FileInfo>;
  /** All complete files of a type (never temporary files of an unfinished save). */
  list(type: FileType): AsyncIterable<FileInfo>;
  /** Removes a file; removing a missing file is not an error (idempotent). */
  remove(handle: Handle): Promise<void>;
  /** Creates the layout for a new repository (idempotent). */
  create(): Promise<void>;
  /** True if the location holds anything at all (used by init to refuse a non-empty location). */
  isEmpty(): Promise<boolean>;
  /**
   * Releases what the backend holds open (cached file handles, connections).
   * The backend stays usable: a later call reopens what it needs.
   */
  close(): Promise<void>;
}
