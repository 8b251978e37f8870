import { EbmError } from '@ebm/sdk';
import type { ErrorCode } from '@ebm/sdk';
import { backoffDelay, resolveRetryPolicy, shouldRetry } from './retry';

const record = (code: ErrorCode, retryable?: boolean) => new EbmError(code, 'x', retryable === undefined ? {} : { retryable }).toRecord();

describe('retry policy', () => {
  const policy = resolveRetryPolicy({ attempts: 3, backoffMs: 100, maxBackoffMs: 250 });

  it('retries retryable errors while attempts remain', () => {
    expect(shouldRetry(record('E_PLUGIN_CRASHED'), 1, policy)).toBe(true);
    expect(shouldRetry(record('E_PLUGIN_TIMEOUT'), 2, policy)).toBe(true);
    expect(shouldRetry(record('E_PLUGIN_CRASHED'), 3, policy)).toBe(false);
    expect(shouldRetry(record('E_PLUGIN_FAILED'), 1, policy)).toBe(false);
  });

  it('never retries a cancel or a passed deadline, even if a record calls it retryable', () => {
    expect(record('E_DEADLINE_EXCEEDED').retryable).toBe(false);
    expect(shouldRetry(record('E_DEADLINE_EXCEEDED', true), 1, policy)).toBe(false);
    expect(shouldRetry(record('E_CANCELLED', true), 1, policy)).toBe(false);
  });

  it('doubles the backoff up to its cap', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, policy))).toEqual([100, 200, 250, 250]);
  });
});
