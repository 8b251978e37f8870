import { EbmError } from '@ebm/sdk';
import { deadlineError, failureOutcome } from './failure-outcome';
import { JobHistory } from './job-history';
import type { JobRecord } from '../jobs/job-types';

const POLICY = { attempts: 3, backoffMs: 1_000, maxBackoffMs: 3_000 };
const live = (attempt: number) => ({ signal: new AbortController().signal, attempt });
const stopped = (reason: unknown, attempt = 1) => {
  const c = new AbortController();
  c.abort(reason);
  return { signal: c.signal, attempt };
};
const storage = () => new EbmError('E_STORAGE_IO', 'disk hiccup', { retryable: true });

describe('failureOutcome: what becomes of a failed attempt', () => {
  it('retries a retryable error with backoff while attempts are left, then fails noting that none are left', () => {
    expect(failureOutcome(storage(), live(1), POLICY)).toMatchObject({ kind: 'retry', delayMs: 1_000, error: { code: 'E_STORAGE_IO' }, note: expect.stringMatching(/attempt 1 of 3 .* retrying in 1000 ms/) });
    expect(failureOutcome(storage(), live(2), POLICY)).toMatchObject({ kind: 'retry', delayMs: 2_000 });
    expect(failureOutcome(storage(), live(3), POLICY)).toEqual({ kind: 'failed', error: expect.objectContaining({ code: 'E_STORAGE_IO' }), note: 'attempt 3 of 3 failed with E_STORAGE_IO; no attempts left' });
  });

  it('fails a plugin error at once, without a note, and keeps no stack in the record', () => {
    const outcome = failureOutcome(new EbmError('E_PLUGIN_FAILED', 'boom'), live(1), POLICY);
    expect(outcome).toEqual({ kind: 'failed', error: expect.objectContaining({ code: 'E_PLUGIN_FAILED', message: 'boom' }) });
    expect(outcome.error).not.toHaveProperty('stack');
  });

  it('a job stopped by its deadline fails with E_DEADLINE_EXCEEDED, the executor error as the cause, even when retryable', () => {
    const reason = deadlineError('j1', 'running', Date.UTC(2026, 0, 1), 'backup');
    expect(failureOutcome(storage(), stopped(reason), POLICY)).toEqual({
      kind: 'failed',
      error: expect.objectContaining({ code: 'E_DEADLINE_EXCEEDED', message: 'job j1 passed its deadline 2026-01-01T00:00:00.000Z while running', cause: expect.objectContaining({ code: 'E_STORAGE_IO' }) }),
    });
  });

  it('a job stopped otherwise is cancelled with the reason', () => {
    const outcome = failureOutcome(storage(), stopped(new EbmError('E_CANCELLED', 'job j2 cancelled by the operator')), POLICY);
    expect(outcome).toMatchObject({ kind: 'cancelled', error: { code: 'E_CANCELLED', message: 'job j2 cancelled by the operator', cause: { code: 'E_STORAGE_IO' } } });
  });
});

describe('JobHistory', () => {
  const record = (id: string) => ({ id, state: 'done' }) as unknown as JobRecord;
  it('keeps the newest `limit` records, newest first; remembering again makes a record the newest', () => {
    const history = new JobHistory(3);
    for (const id of ['a', 'b', 'c', 'd']) history.remember(record(id));
    expect(history.newestFirst().map((r) => r.id)).toEqual(['d', 'c', 'b']);
    expect(history.get('a')).toBeUndefined();
    history.remember(record('b'));
    expect(history.newestFirst().map((r) => r.id)).toEqual(['b', 'd', 'c']);
  });
});
