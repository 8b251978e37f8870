import { lstatSync, readdirSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { childPath } from './walk';
import type { WalkOptions } from './walk';

export interface Totals {
  readonly totalFiles: number;
  readonly totalBytes: number;
}

/** Backups that finish sooner need no ETA, so they never pay for the count. */
export const TOTALS_DELAY_MS = 1000;

/**
 * Counts what a backup will visit (entries that are not directories, and
 * their bytes) with the same walk and exclude rules as the backup, so the
 * operator sees an ETA. Starts only after `delayMs`, runs interleaved with the
 * backup (the walk is async), never warns (the backup's own walk does), and
 * reports once, when the count is complete. `stop()` ends it early.
 */
export function startTotalsCount(rootAbs: string, options: Omit<WalkOptions, 'warn'>, onTotals: (totals: Totals) => void, delayMs = TOTALS_DELAY_MS): { stop(): void } {
  const abort = new AbortController();
  const stopOnParent = () => abort.abort();
  options.signal.addEventListener('abort', stopOnParent, { once: true });
  const timer = setTimeout(() => {
    void countTree(rootAbs, options, abort.signal)
      .then((totals) => {
        if (totals !== undefined && !abort.signal.aborted) onTotals(totals);
      })
      .catch(() => undefined); // a count that fails only costs the ETA
  }, delayMs);
  return {
    stop() {
      clearTimeout(timer);
      abort.abort();
      options.signal.removeEventListener('abort', stopOnParent);
    },
  };
}

/**
 * The count itself: the backup walk's rules (excludes before any lstat, no
 * descent into excluded directories or, with rootDev, other filesystems) at
 * less cost, since it runs on the same thread as the backup: directory
 * entries' types come from readdir, and only regular files (for their size)
 * and entries of unknown type get an lstat — a plain one (no BigInts: sizes
 * fit in a double). Undefined when stopped.
 */
async function countTree(rootAbs: string, options: Omit<WalkOptions, 'warn'>, signal: AbortSignal): Promise<Totals | undefined> {
  let totalFiles = 0;
  let totalBytes = 0;
  let sinceYield = 0;
  const dirs: { abs: string; rel: string }[] = [{ abs: rootAbs, rel: '' }];
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir.abs, { withFileTypes: true }); // synchronous, as the backup's walk (see walk.ts)
    } catch {
      continue; // the backup's walk warns about it
    }
    for (const d of entries) {
      if (signal.aborted) return undefined;
      // Let the backup's own work and the host's messages through now and then.
      if (++sinceYield >= 256) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const relPath = dir.rel === '' ? d.name : `${dir.rel}/${d.name}`;
      const absPath = childPath(dir.abs, d.name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      const known = isDir || isFile || d.isSymbolicLink() || d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice();
      if (options.exclude.excludes(relPath, isDir)) continue;
      let size = 0;
      if (!known || isFile || (isDir && options.rootDev !== undefined)) {
        const st = lstatSync(absPath, { throwIfNoEntry: false });
        if (st === undefined) continue;
        isDir = st.isDirectory();
        isFile = st.isFile();
        size = st.size;
        if (!known && options.exclude.excludes(relPath, isDir)) continue;
        if (isDir && options.rootDev !== undefined && BigInt(st.dev) !== options.rootDev) continue;
      }
      if (isDir) {
        dirs.push({ abs: absPath, rel: relPath });
      } else {
        totalFiles++;
        if (isFile) totalBytes += size;
      }
    }
  }
  return { totalFiles, totalBytes };
}
