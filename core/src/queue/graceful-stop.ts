import { EbmError } from '@ebm/sdk';
import type { QueueEntry } from './queue-entry';

/** How long running jobs may take to finish at shutdown before they are cancelled, by default. */
export const DEFAULT_GRACE_MS = 30_000;

/**
 * Waits for `idle` (nothing runs any more) for up to `graceMs`; then cancels
 * every entry still in `active` (E_CANCELLED, naming the grace period) and
 * waits for them to stop. Never rejects.
 */
export async function stopWithGrace(idle: Promise<void>, active: Iterable<QueueEntry>, graceMs = DEFAULT_GRACE_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace'>((resolve) => {
    timer = setTimeout(() => resolve('grace'), graceMs);
  });
  const first = await Promise.race([idle.then(() => 'idle' as const), graceOver]);
  clearTimeout(timer);
  if (first === 'idle') return;
  for (const entry of active) {
    entry.job.abort(new EbmError('E_CANCELLED', `job ${entry.job.id} was cancelled: the host is shutting down and the grace period of ${graceMs} ms is over`));
  }
  await idle;
}
