import { EbmError, isEbmError } from '@ebm/sdk';
import type { ErrorRecord } from '@ebm/sdk';
import type { RetryPolicy } from '../jobs/job-types';
import { cancelRecord, plainRecord } from './queue-errors';
import { backoffDelay, shouldRetry } from './retry';

/** What becomes of a job whose run failed (see failureOutcome). */
export type FailureOutcome =
  | { readonly kind: 'failed'; readonly error: ErrorRecord; readonly note?: string }
  | { readonly kind: 'cancelled'; readonly error: ErrorRecord }
  | { readonly kind: 'retry'; readonly error: ErrorRecord; readonly delayMs: number; readonly note: string };

/**
 * Decides the fate of attempt `job.attempt` that failed with `err`, in this order:
 * - stopped by its deadline: failed with E_DEADLINE_EXCEEDED (the executor's
 *   error as the cause), never retried: the deadline is an absolute time;
 * - stopped through its signal otherwise: cancelled, with the reason;
 * - a retryable error with attempts left: queued again after the backoff;
 * - anything else: failed (with a note when the attempts ran out).
 * A pure function: the queue carries the outcome out.
 */
export function failureOutcome(err: unknown, job: { readonly signal: AbortSignal; readonly attempt: number }, policy: RetryPolicy): FailureOutcome {
  const error = plainRecord(err);
  if (job.signal.aborted && isDeadline(job.signal.reason)) return { kind: 'failed', error: deadlineRecord(job.signal.reason as EbmError, error) };
  if (job.signal.aborted) return { kind: 'cancelled', error: cancelRecord(job.signal, error) };
  if (shouldRetry(error, job.attempt, policy)) {
    const delayMs = backoffDelay(job.attempt, policy);
    return { kind: 'retry', error, delayMs, note: `attempt ${job.attempt} of ${policy.attempts} failed with ${error.code}: ${error.message}; retrying in ${delayMs} ms` };
  }
  const exhausted = error.retryable && job.attempt >= policy.attempts;
  return exhausted ? { kind: 'failed', error, note: `attempt ${job.attempt} of ${policy.attempts} failed with ${error.code}; no attempts left` } : { kind: 'failed', error };
}

/** The error a job's deadline stops it with (through its signal, like a cancel). */
export function deadlineError(jobId: string, state: string, deadline: number, op: string): EbmError {
  return new EbmError('E_DEADLINE_EXCEEDED', `job ${jobId} passed its deadline ${new Date(deadline).toISOString()} while ${state}`, { subject: jobId, op });
}

/** Whether a job was stopped by its deadline (the abort reason deadlineError gives). */
export function isDeadline(reason: unknown): boolean {
  return isEbmError(reason) && reason.code === 'E_DEADLINE_EXCEEDED';
}

/** The deadline's error, with what the executor said when it stopped as the cause. */
function deadlineRecord(reason: EbmError, fromExecutor: ErrorRecord): ErrorRecord {
  const record = plainRecord(reason);
  return fromExecutor.message !== record.message ? { ...record, cause: fromExecutor } : record;
}
