import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { throwIfCancelled } from '@ebm/sdk';

/**
 * Creates a regular file at `abs` and writes `content` into it, piece by piece
 * as the repository yields them (chunks are ~1 MiB, so writes are large).
 * O_NOFOLLOW: never writes through a symlink; O_EXCL (when `exclusive`):
 * never touches an existing file. Returns the open handle with the number of
 * bytes written; the caller applies metadata through it and closes it.
 */
export async function createAndWrite(
  abs: string,
  content: AsyncIterable<Uint8Array>,
  exclusive: boolean,
  signal: AbortSignal,
): Promise<{ handle: FileHandle; bytes: number }> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | (exclusive ? constants.O_EXCL : 0);
  const handle = await fsp.open(abs, flags, 0o600);
  try {
    let position = 0;
    for await (const piece of content) {
      throwIfCancelled(signal, 'restore');
      let offset = 0;
      while (offset < piece.byteLength) {
        const { bytesWritten } = await handle.write(piece, offset, piece.byteLength - offset, position);
        offset += bytesWritten;
        position += bytesWritten;
      }
    }
    return { handle, bytes: position };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
