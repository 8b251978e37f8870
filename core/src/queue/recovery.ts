import type { Job } from '../jobs/job';
import type { JobRecord } from '../jobs/job-types';
import type { RecoveredJournal } from '../jobs/journal-recovery';
import type { JobHistory } from './job-history';
import { plainRecord } from './queue-errors';

/**
 * After a restart: finished and interrupted jobs go to `history`; queued ones
 * are submitted again with `resubmit` (same id, creation time and attempt).
 * A job the queue refuses now (its cost no longer fits the budgets, the queue
 * is full) is failed with the refusal and remembered, not lost.
 */
export function requeueRecovered(recovered: RecoveredJournal, history: JobHistory, resubmit: (record: JobRecord) => Job): { readonly requeued: Job[]; readonly rejected: JobRecord[] } {
  for (const record of [...recovered.finished].reverse()) history.remember(record);
  for (const record of recovered.interrupted) history.remember(record);
  const requeued: Job[] = [];
  const rejected: JobRecord[] = [];
  for (const record of recovered.requeued) {
    try {
      requeued.push(resubmit(record));
    } catch (err) {
      const failed: JobRecord = { ...record, state: 'failed', finishedAt: new Date().toISOString(), error: plainRecord(err) };
      history.remember(failed);
      rejected.push(failed);
    }
  }
  return { requeued, rejected };
}
