import { walkTree, WalkOptions } from './walk';

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
    void (async () => {
      let totalFiles = 0;
      let totalBytes = 0;
      let sinceYield = 0;
      for await (const item of walkTree(rootAbs, { ...options, signal: abort.signal, warn: () => undefined })) {
        if (abort.signal.aborted) return;
        // Let the backup's own I/O and the host's messages through now and then.
        if (++sinceYield >= 256) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (!item.stats.isDirectory()) {
          totalFiles++;
          if (item.stats.isFile()) totalBytes += Number(item.stats.size);
        }
      }
      if (!abort.signal.aborted) onTotals({ totalFiles, totalBytes });
    })().catch(() => undefined); // a count that fails only costs the ETA
  }, delayMs);
  return {
    stop() {
      clearTimeout(timer);
      abort.abort();
      options.signal.removeEventListener('abort', stopOnParent);
    },
  };
}
