import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EbmError } from '@ebm/sdk';
import * as os from 'node:os';
import type { Backend, SaveData, StagedFile } from '../backend/backend';
import { stagingDirectory } from '../mover/backend-capabilities';
import { TEMP_PREFIX } from '../backend/local-backend';

/**
 * Where a pack's sealed blobs wait from the moment they are packed until the
 * pack is saved: in memory (MemoryPackBody) or in a spool file
 * (SpooledPackBody). PackWriter appends; the saver hands `contents` to
 * Backend.save and calls `release` once the save settled.
 */
export interface PackBody {
  /** Appends sealed pieces, in file order. The body owns them from now on. */
  append(pieces: readonly Uint8Array[]): void;
  /** Bytes [offset, offset + length) appended earlier (a blob of a pack not yet saved, read back). */
  read(offset: number, length: number): Promise<Buffer>;
  /** Everything appended, as Backend.save takes it. */
  readonly contents: SaveData;
  /** Bytes appended and not yet written out (0 in memory). */
  readonly unwritten: number;
  /** Resolves once everything appended so far is written out; rejects with the first write error. */
  flushed(): Promise<void>;
  /** Frees what the body holds. Idempotent. */
  release(): Promise<void>;
}

/** Makes the body of each new pack. */
export type PackBodyFactory = () => PackBody;

/**
 * Where a store's packs wait until saved (BlobStoreOptions.spoolDir): null
 * keeps them in memory; a directory spools them there; by default they are
 * built in place in the backend's staging directory, or spooled to TMPDIR.
 */
export function packBodiesFor(backend: Backend, spoolDir: string | null | undefined): PackBodyFactory | undefined {
  if (spoolDir === null) return undefined; // PackWriter's default: in memory
  if (spoolDir !== undefined) return SpooledPackBody.factory(spoolDir);
  const staging = stagingDirectory(backend);
  return staging !== undefined ? SpooledPackBody.factory(staging, true) : SpooledPackBody.factory(os.tmpdir());
}

/** Keeps the pieces: for tests and tools, and wherever no spool directory is wanted. */
export class MemoryPackBody implements PackBody {
  readonly #parts: Uint8Array[] = [];
  readonly unwritten = 0;

  append(pieces: readonly Uint8Array[]): void {
    for (const piece of pieces) this.#parts.push(piece);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    for (const part of this.#parts) {
      const start = Math.max(offset - at, 0);
      const end = Math.min(offset + length - at, part.length);
      if (start < end) out.set(part.subarray(start, end), at + start - offset);
      at += part.length;
      if (at >= offset + length) break;
    }
    return out;
  }

  get contents(): readonly Uint8Array[] {
    return this.#parts;
  }

  async flushed(): Promise<void> {}

  async release(): Promise<void> {}
}

/** A spooled pack is read back (for a save that copies it) in pieces of this size, into one buffer per pass. */
export const SPOOL_READ_BYTES = 1024 * 1024;
/** Appended pieces are written out together (one writev) once they hold this many bytes, or when asked to flush. */
export const SPOOL_WRITE_BATCH_BYTES = 1024 * 1024;

/**
 * Writes a pack's sealed blobs to a spool file as they are packed, so a pack
 * being filled or saved holds (almost) no memory: sealed blobs are written
 * out in batches and dropped while still young, not kept for seconds until
 * the pack is saved. restic's packer spools the same way.
 *
 * Two kinds of spool file:
 * - in a backend's staging directory (StagingCapable, e.g. a local
 *   repository's `data/`): a named temporary file that the backend's save
 *   moves into place (fsync, rename) instead of copying: the pack is written
 *   once, where it will stay. A crash leaves a `.tmp-` file there, as an
 *   interrupted save does.
 * - anywhere else (the system's temporary directory): nameless (unlinked at
 *   once), so nothing is left behind, and a save reads it back in
 *   SPOOL_READ_BYTES pieces, mostly from the page cache.
 *
 * Writes are positioned and may complete in any order; reads and moves wait
 * until everything appended is written. A failed write (a full disk) fails
 * every later read and move, so the save fails with it: E_DISK_FULL or
 * E_STORAGE_IO naming the spool directory.
 */
export class SpooledPackBody implements PackBody {
  readonly #fd: number;
  readonly #dir: string;
  readonly #staged: boolean;
  /** The file's name while it has one (a staged file not yet moved into place). */
  #path: string | undefined;
  #size = 0;
  #unwritten = 0;
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #writesInFlight = 0;
  #drainWaiters: (() => void)[] = [];
  #failure: EbmError | undefined;
  #released: Promise<void> | undefined;

  /** Bodies spooled in `dir` (created if missing); `staged`: a backend's staging directory (see above). */
  static factory(dir: string, staged = false): PackBodyFactory {
    return () => new SpooledPackBody(dir, staged);
  }

  constructor(dir: string, staged = false) {
    this.#dir = dir;
    this.#staged = staged;
    const file = path.join(dir, `${TEMP_PREFIX}pack-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      this.#fd = fs.openSync(file, 'wx+', 0o600);
    } catch (err) {
      throw spoolError(err, 'create a pack spool file in', dir, staged);
    }
    if (staged) this.#path = file;
    else fs.unlinkSync(file); // nameless from now on: nothing to clean up after a crash
  }

  get unwritten(): number {
    return this.#unwritten;
  }

  append(pieces: readonly Uint8Array[]): void {
    if (this.#released !== undefined) throw new EbmError('E_INTERNAL', 'append to a released pack spool');
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      this.#batch.push(piece);
      this.#batchBytes += piece.length;
      this.#unwritten += piece.length;
    }
    if (this.#batchBytes >= SPOOL_WRITE_BATCH_BYTES) this.#writeBatch();
  }

  /** Starts writing the batched pieces (one positioned writev; continued after a short write). */
  #writeBatch(): void {
    if (this.#batchBytes === 0) return;
    const pieces = this.#batch;
    const position = this.#size;
    this.#size += this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#writesInFlight++;
    const write = (rest: Uint8Array[], at: number): void => {
      fs.writev(this.#fd, rest, at, (err, written) => {
        if (err === null) {
          this.#unwritten -= written;
          const left = skipBytes(rest, written);
          if (left.length > 0) return write(left, at + written);
        } else {
          this.#failure ??= spoolError(err, 'write a pack spool file in', this.#dir, this.#staged);
          this.#unwritten -= byteCount(rest);
        }
        if (--this.#writesInFlight === 0) for (const wake of this.#drainWaiters.splice(0)) wake();
      });
    };
    write(pieces, position);
  }

  async flushed(): Promise<void> {
    this.#writeBatch();
    if (this.#writesInFlight > 0) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    if (this.#failure !== undefined) throw this.#failure;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    await this.flushed();
    return this.#readInto(Buffer.allocUnsafe(length), offset);
  }

  get contents(): StagedFile {
    const size = this.#size + this.#batchBytes;
    const pieces = async function* (this: SpooledPackBody): AsyncGenerator<Uint8Array> {
      await this.flushed();
      const buffer = Buffer.allocUnsafe(Math.min(SPOOL_READ_BYTES, size));
      for (let offset = 0; offset < size; offset += buffer.length) yield await this.#readInto(buffer.subarray(0, Math.min(buffer.length, size - offset)), offset);
    };
    return { size, pieces: pieces.bind(this), stagedIn: this.#path === undefined ? undefined : this.#dir, moveTo: (target) => this.#moveTo(target) };
  }

  /** Makes the staged file durable and renames it to `target`; false when it has no name here any more (copy it then). */
  async #moveTo(target: string): Promise<boolean> {
    await this.flushed();
    const from = this.#path;
    if (from === undefined || this.#released !== undefined) return false;
    await new Promise<void>((resolve, reject) => fs.fsync(this.#fd, (err) => (err ? reject(spoolError(err, 'sync a pack spool file in', this.#dir, this.#staged)) : resolve())));
    await fs.promises.rename(from, target);
    this.#path = undefined;
    return true;
  }

  async #readInto(target: Buffer, offset: number): Promise<Buffer> {
    if (this.#released !== undefined) throw new EbmError('E_INTERNAL', 'read from a released pack spool');
    let filled = 0;
    while (filled < target.length) {
      const n = await new Promise<number>((resolve, reject) =>
        fs.read(this.#fd, target, filled, target.length - filled, offset + filled, (err, bytesRead) => (err ? reject(spoolError(err, 'read a pack spool file in', this.#dir, this.#staged)) : resolve(bytesRead))),
      );
      if (n === 0) throw new EbmError('E_INTERNAL', `a pack spool file in ${this.#dir} ended at ${offset + filled} bytes, ${this.#size} were written`);
      filled += n;
    }
    return target;
  }

  /** Closes the file; a staged file never moved into place is removed. */
  release(): Promise<void> {
    this.#released ??= this.flushed()
      .catch(() => undefined)
      .then(() => new Promise<void>((resolve) => fs.close(this.#fd, () => resolve())))
      .then(() => (this.#path === undefined ? undefined : fs.promises.rm(this.#path, { force: true }).catch(() => undefined)));
    return this.#released;
  }
}

/** The arrays after the first `bytes` bytes of `pieces` (the unwritten rest of a short write). */
function skipBytes(pieces: readonly Uint8Array[], bytes: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = bytes;
  for (const piece of pieces) {
    if (skip >= piece.length) {
      skip -= piece.length;
      continue;
    }
    rest.push(skip > 0 ? piece.subarray(skip) : piece);
    skip = 0;
  }
  return rest;
}

function byteCount(pieces: readonly Uint8Array[]): number {
  let n = 0;
  for (const piece of pieces) n += piece.length;
  return n;
}

/** A spool failure naming the directory; the hint depends on whose directory it is (the repository's, or TMPDIR). */
function spoolError(err: unknown, what: string, dir: string, staged = false): EbmError {
  const code = (err as NodeJS.ErrnoException).code;
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  const hint = staged
    ? full ? 'free space on the repository\'s disk' : 'check the permissions of the repository'
    : full ? 'free space there, or set TMPDIR to a directory with room' : 'set TMPDIR to a writable directory';
  return new EbmError(full ? 'E_DISK_FULL' : 'E_STORAGE_IO', `could not ${what} ${dir} (${code ?? (err as Error).message}): ${hint}`, { subject: dir, op: 'spool', cause: err });
}
