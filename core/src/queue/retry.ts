import { EbmError } from '@ebm/sdk';
import type { ErrorRecord } from '@ebm/sdk';
import type { RetryPolicy } from '../jobs/job-types';

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ attempts: 3, backoffMs: 2_000, maxBackoffMs: 60_000 });

export function resolveRetryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) } as RetryPolicy;
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) throw new EbmError('E_USAGE', `retry.attempts: must be an integer ≥ 1, got ${JSON.stringify(policy.attempts)}`);
  for (const key of ['backoffMs', 'maxBackoffMs'] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] < 0) throw new EbmError('E_USAGE', `retry.${key}: must be a non-negative number of milliseconds, got ${JSON.stringify(policy[key])}`);
  }
  return Object.freeze(policy);
}

/**
 * Codes never retried whatever a record's `retryable` says: a cancel is the
 * operator's (or shutdown's) decision, and a deadline is an absolute time
 * that a further attempt would start past.
 */
const NEVER_RETRIED: ReadonlySet<string> = new Set(['E_CANCELLED', 'E_DEADLINE_EXCEEDED']);

/**
 * Whether attempt `attempt` (1-based, just failed with `error`) gets another
 * try: only when the error is retryable (the catalogue's flag, e.g. a crashed,
 * stalled or out-of-memory worker, a storage hiccup, a held lock) and
 * attempts are left. A plugin that throws is not retried: it would throw again.
 * Cancelled jobs and jobs past their deadline are never retried.
 */
export function shouldRetry(error: ErrorRecord, attempt: number, policy: RetryPolicy): boolean {
  return error.retryable && !NEVER_RETRIED.has(error.code) && attempt < policy.attempts;
}

/** Delay before attempt `attempt + 1`: backoffMs · 2^(attempt−1), at most maxBackoffMs. No jitter: one host, few retries. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1));
}
