import { EbmError, toErrorRecord } from '@ebm/sdk';
import type { ErrorRecord } from '@ebm/sdk';

/** An error as a record without its stack (records go to the API and the journal). */
export function plainRecord(err: unknown): ErrorRecord {
  const { stack: _stack, ...rest } = toErrorRecord(err);
  return rest;
}

/** A cancelled job reports why it was cancelled (operator, deadline, shutdown), with what the executor said as the cause. */
export function cancelRecord(signal: AbortSignal, fromExecutor: ErrorRecord): ErrorRecord {
  const reason = plainRecord(signal.reason ?? new EbmError('E_CANCELLED', 'the job was cancelled'));
  const record = reason.code === 'E_CANCELLED' ? reason : { ...reason, code: 'E_CANCELLED' as const, retryable: false };
  return fromExecutor.message !== record.message ? { ...record, cause: fromExecutor } : record;
}
