import { closeSync, constants, fstatSync, openSync, promises as fsp, readSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { StoredContent, TreeWriter, throwIfCancelled } from '@ebm/sdk';

/** Bytes per read of a large file: amortises the thread-pool round trip, bounds memory. */
export const READ_PIECE_BYTES = 1024 * 1024;
/** Files up to this size are read with one synchronous read (see readFileContent). */
export const SMALL_FILE_BYTES = 1024 * 1024;

/**
 * O_NOFOLLOW: never read through a symlink swapped in after the walk.
 * O_NONBLOCK: a FIFO swapped in after the walk must not hang the open
 * (it has no effect on regular files).
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface ReadOutcome {
  readonly stored: StoredContent;
  /** The file is not the one the walk saw, or changed while it was read. */
  readonly changed: boolean;
}

/**
 * Reads a regular file into the repository through `tree.writeContent`.
 *
 * Consistency check: `seen` is the walk's lstat (our "before"); after the last
 * read we fstat the open descriptor and compare inode, size, mtime and ctime.
 * Any difference means the content may be torn; the caller stores what was
 * read and warns E_SOURCE_CHANGED. At most `seen.size` bytes are read, so a
 * file that grows (or a device swapped in) cannot make us read forever.
 *
 * Small files (most files of a tree) are read with synchronous calls: four
 * syscalls of a few µs each, where the promise API costs ~15 µs of this
 * thread per call plus a thread-pool hop. This runs in the plugin's own worker
 * thread, so blocking it briefly blocks nobody else. Large files are read
 * asynchronously in 1 MiB pieces, so reading overlaps with chunking.
 */
export async function readFileContent(absPath: string, seen: BigIntStats, tree: TreeWriter, signal: AbortSignal): Promise<ReadOutcome> {
  const size = Number(seen.size);
  if (size <= SMALL_FILE_BYTES) {
    const { data, after } = readSmallFile(absPath, size);
    const stored = await tree.writeContent(data.length > 0 ? [data] : []);
    return { stored, changed: differs(seen, after, stored.size) };
  }
  const handle = await fsp.open(absPath, OPEN_FLAGS);
  try {
    const stored = await tree.writeContent(readPieces(handle, size, signal));
    return { stored, changed: differs(seen, await handle.stat({ bigint: true }), stored.size) };
  } finally {
    await handle.close();
  }
}

/**
 * The buffers reads go into, reused from file to file: the SDK copies what it
 * keeps (ContentSource's contract). A fresh buffer per read cost page faults
 * on every byte read (in `read`, ~1 s per GiB on the bench corpus) and
 * garbage that the worker's collector had to find again.
 * - one scratch for small files: writeContent consumes an array before it returns;
 * - 1 MiB pieces for large files, two per file (one read ahead), back to a
 *   small free list when the file is done.
 */
let smallFileScratch: Buffer | undefined;
const freePieces: Buffer[] = [];
const FREE_PIECES_KEPT = 8;

function scratchFor(size: number): Buffer {
  if (smallFileScratch === undefined || smallFileScratch.length < size) smallFileScratch = Buffer.allocUnsafeSlow(Math.max(size, SMALL_FILE_BYTES));
  return smallFileScratch;
}

function readSmallFile(absPath: string, size: number): { data: Buffer; after: BigIntStats } {
  const fd = openSync(absPath, OPEN_FLAGS);
  try {
    const buffer = scratchFor(size).subarray(0, size);
    let filled = 0;
    while (filled < size) {
      const n = readSync(fd, buffer, filled, size - filled, filled);
      if (n === 0) break; // the file shrank; the fstat below reports it
      filled += n;
    }
    const after = fstatSync(fd, { bigint: true });
    return { data: filled === size ? buffer : buffer.subarray(0, filled), after };
  } finally {
    closeSync(fd);
  }
}

/**
 * Yields the file in 1 MiB pieces, with the next read already in flight while
 * the consumer (chunking, hashing) works on the current piece.
 */
async function* readPieces(handle: FileHandle, size: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  // Two buffers in turn: the next read fills one while the consumer chunks the other, and the
  // consumer is done with a piece once it asks for the next (ContentSource's contract).
  const buffers = [freePieces.pop() ?? Buffer.allocUnsafeSlow(READ_PIECE_BYTES), freePieces.pop() ?? Buffer.allocUnsafeSlow(READ_PIECE_BYTES)];
  let turn = 0;
  const readAt = async (position: number): Promise<Buffer> => {
    const want = Math.min(READ_PIECE_BYTES, size - position);
    const buffer = buffers[turn++ % 2]!;
    const { bytesRead } = await handle.read(buffer, 0, want, position);
    return buffer.subarray(0, bytesRead);
  };
  let position = 0;
  let next: Promise<Buffer> | undefined = size > 0 ? readAt(0) : undefined;
  try {
    while (next !== undefined) {
      throwIfCancelled(signal, 'backup');
      const piece: Buffer = await next;
      next = undefined;
      if (piece.length === 0) return; // the file shrank; the after-fstat reports it
      position += piece.length;
      if (position < size) next = readAt(position);
      yield piece;
    }
  } finally {
    // Abandoned early (error or cancel): let the read in flight finish before the handle closes.
    await next?.catch(() => undefined);
    for (const buffer of buffers) if (freePieces.length < FREE_PIECES_KEPT) freePieces.push(buffer);
  }
}

function differs(seen: BigIntStats, after: BigIntStats, storedSize: number): boolean {
  return (
    !after.isFile() ||
    after.ino !== seen.ino ||
    after.dev !== seen.dev ||
    after.size !== seen.size ||
    after.mtimeNs !== seen.mtimeNs ||
    after.ctimeNs !== seen.ctimeNs ||
    storedSize !== Number(seen.size)
  );
}
