import { read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { throwIfCancelled } from '@ebm/sdk';

/** Bytes per read: large enough to amortise the thread-pool hop, small enough to bound memory. */
export const READ_BYTES = 256 * 1024;

/**
 * Reads a file handle to its end, from `position` (a byte offset of a regular
 * file) or from where it stands (null: a pipe). Each yielded buffer is fresh.
 * One read at a time: the consumer's pace is the producer's pace.
 */
export async function* readHandle(handle: FileHandle, position: number | null, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  let at = position;
  for (;;) {
    throwIfCancelled(signal, 'backup');
    const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, at);
    if (bytesRead === 0) return;
    if (at !== null) at += bytesRead;
    yield bytesRead === READ_BYTES ? buffer : buffer.subarray(0, bytesRead);
  }
}

/** Reads a raw descriptor (fd 0 when /dev/stdin cannot be reopened), waiting out EAGAIN on a non-blocking one. */
export async function* readFd(fd: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  for (;;) {
    throwIfCancelled(signal, 'backup');
    const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
    const n = await new Promise<number>((resolve, reject) => {
      const attempt = (): void =>
        read(fd, buffer, 0, READ_BYTES, null, (err, bytesRead) => {
          if (err && (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK')) setTimeout(attempt, 10);
          else if (err) reject(err);
          else resolve(bytesRead);
        });
      attempt();
    });
    if (n === 0) return;
    yield n === READ_BYTES ? buffer : buffer.subarray(0, n);
  }
}

/** Reads exactly [position, position + length) of a regular file (fewer bytes only at its end). */
export async function readRange(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}
