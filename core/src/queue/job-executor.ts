import type { JsonValue } from '@ebm/sdk';
import type { Job } from '../jobs/job';

/**
 * How the queue runs jobs. The queue owns states, budgets and retries; an
 * executor only does the work. It may call `job.log` and `job.setProgress`,
 * never `job.transition`.
 */
export interface JobExecutor {
  /**
   * Runs one attempt of the job. Resolves with the result summary (a backup's
   * must contain `snapshotId`); rejects with an EbmError (its `retryable`
   * decides a retry). Must stop promptly when `signal` aborts, rejecting with
   * E_CANCELLED and leaving nothing a later job would trust.
   */
  run(job: Job, signal: AbortSignal): Promise<Record<string, JsonValue>>;
  /**
   * Verifies what a finished backup (`job.result`) wrote: re-reads its data
   * and checks every byte. Rejects with E_CHECK_FAILED naming the damage.
   * Called in the serial verification lane, one job at a time.
   */
  verify(job: Job, signal: AbortSignal): Promise<Record<string, JsonValue>>;
}
