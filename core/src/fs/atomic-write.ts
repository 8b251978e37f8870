import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Replaces `file` with `content` so that a crash at any moment leaves the old
 * file or the new one, never a mix: write a temporary file in the same
 * directory, fsync it, rename it over the target, fsync the directory.
 * Used for the host's small state files (job journal compaction, scheduler
 * state); repository files go through the backend, which does the same.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const temp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const handle = await fs.open(temp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, file);
  const dirHandle = await fs.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
