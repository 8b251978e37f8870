import { write } from 'node:fs';

/**
 * Writes all of `data` to a raw descriptor on the thread pool, looping over
 * partial writes and waiting out EAGAIN (a descriptor the main thread made
 * non-blocking, e.g. the process's stdout pipe). Resolves when the kernel has
 * every byte, so the caller's next read from the repository waits for a slow
 * reader: backpressure.
 */
export async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += await new Promise<number>((resolve, reject) => {
      const attempt = (): void =>
        write(fd, data, offset, data.length - offset, null, (err, written) => {
          if (err && (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK')) setTimeout(attempt, 5);
          else if (err) reject(err);
          else resolve(written);
        });
      attempt();
    });
  }
}
