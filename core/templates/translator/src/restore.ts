import { promises as fsp } from 'node:fs';
import { RestoreContext, RestoreOutcome, resolveInside, throwIfCancelled } from '@ebm/sdk';

/**
 * Writes each record of the snapshot under `ctx.target` (only there:
 * resolveInside refuses any path that would leave it), with its mode and
 * mtime. A cancelled restore leaves only records it was writing, never
 * temporary files; every file it opens is closed.
 */
export async function restoreRecords(ctx: RestoreContext): Promise<RestoreOutcome> {
  for await (const { path, entry } of ctx.entries()) {
    throwIfCancelled(ctx.signal, 'restore');
    if (entry.kind !== 'file') continue;
    const file = resolveInside(ctx.target, path);
    const out = await fsp.open(file, ctx.overwrite ? 'w' : 'wx', (entry.mode ?? 0o644) & 0o777);
    try {
      for await (const data of ctx.readContent(entry)) await out.write(data);
    } finally {
      await out.close();
    }
    if (entry.mtimeNs !== undefined) {
      const seconds = Number(BigInt(entry.mtimeNs) / 1000n) / 1e6; // microsecond precision
      await fsp.utimes(file, seconds, seconds);
    }
  }
  return {};
}
