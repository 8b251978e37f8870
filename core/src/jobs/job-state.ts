import { EbmError } from '@ebm/sdk';
import type { JobState } from './job-types';
import { TERMINAL_STATES } from './job-types';

/**
 * The legal moves of a job (see docs/runtime.md):
 *
 *   queued    → running | cancelled | failed
 *   running   → verifying | done | failed | cancelled | queued
 *   verifying → done | failed | cancelled
 *
 * running → queued is a retry: the attempt failed with a retryable error and
 * the job waits for its backoff in the queue again (keeping its age).
 * queued → failed is for a job that can never start (e.g. found interrupted
 * by journal recovery, or its plugin disappeared). Terminal states are final.
 */
const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['verifying', 'done', 'failed', 'cancelled', 'queued'],
  verifying: ['done', 'failed', 'cancelled'],
  done: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws E_INTERNAL naming the job and both states: an illegal move is a bug in the runtime, never an operator error. */
export function assertTransition(jobId: string, from: JobState, to: JobState): void {
  if (!canTransition(from, to)) {
    const legal = TRANSITIONS[from];
    throw new EbmError('E_INTERNAL', `job ${jobId}: illegal state change ${from} → ${to} (from ${from} only ${legal.length > 0 ? legal.join(', ') : 'nothing: it is final'})`, { subject: jobId });
  }
}
