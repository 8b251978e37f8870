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

export interface Backend {
  /** Human-readable location, e.g. the directory path. */
  readonly location: string;
  /**
   * Stores a whole file atomically: after it resolves the file is durable
   * (fsynced) and complete; a crash before leaves no file (or the old one)
   * under the name. Overwrites an existing file of the same handle.
   * A list of parts is stored as their concatenation, in order (so a caller
   * that builds a file from pieces never has to copy them into one buffer).
   * Errors: E_DISK_FULL when out of space, E_STORAGE_IO otherwise.
   */
  save(handle: Handle, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
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
