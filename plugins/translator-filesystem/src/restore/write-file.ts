import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { throwIfCancelled } from '@ebm/sdk';

/**
 * Creates a regular file at `abs` and writes `content` into it, piece by piece
 * as the repository yields them (chunks are ~1 MiB, so writes are large).
 * O_NOFOLLOW: never writes through a symlink; O_EXCL (when `exclusive`):
 * never touches an existing file. Returns the open descriptor and the number
 * of bytes written; the caller applies metadata through it and closes it.
 * `mode` is the permission set to create with (the umask still applies): the
 * entry's own, so that the metadata pass usually need not change it. Each
 * piece is written before the next is asked for, so `content` may lend its
 * pieces (ReadContentOptions.borrow): none is used after the loop moves on.
 *
 * The file calls are synchronous on purpose: this is the plugin's own worker
 * thread, and on a local filesystem creating 20k files with the promise API
 * (each call a thread-pool hop, several pool threads contending for the same
 * directories) measured 4x slower than plain syscalls. Waiting for content
 * (a message round trip to the host) stays asynchronous, so a few files are
 * still in progress at once.
 */
export async function createAndWrite(abs: string, content: AsyncIterable<Uint8Array>, exclusive: boolean, signal: AbortSignal, mode = 0o600): Promise<{ fd: number; bytes: number }> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | (exclusive ? constants.O_EXCL : 0);
  const fd = openSync(abs, flags, mode & 0o777);
  try {
    let position = 0;
    for await (const piece of content) {
      throwIfCancelled(signal, 'restore');
      let offset = 0;
      while (offset < piece.byteLength) {
        const written = writeSync(fd, piece, offset, piece.byteLength - offset, position);
        offset += written;
        position += written;
      }
    }
    return { fd, bytes: position };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
