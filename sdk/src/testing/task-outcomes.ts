import type { ErrorRecord } from '../errors/ebm-error';
import type { BackupTaskResult, RestoreTaskResult } from '../protocol/messages';
import type { Translator } from '../translator/translator';
import type { MemoryBackupRequest, MemoryRepository, MemoryRestoreRequest, MemoryTaskOutcome } from '../runtime/memory-host';

/**
 * Small helpers for a plugin's own tests on the in-memory repository: run a
 * task and insist on its success (the test fails with the error record) or
 * on its failure (returns the error record to assert on).
 */
export type BackupOk = BackupTaskResult & { readonly outcome: MemoryTaskOutcome };

export async function backupOk(repo: MemoryRepository, translator: Translator, request: MemoryBackupRequest): Promise<BackupOk> {
  const outcome = await repo.backup(translator, request);
  if (!outcome.result.ok) throw new Error(`backup failed: ${outcome.result.error.code} ${outcome.result.error.message}`);
  return { ...(outcome.result.result as BackupTaskResult), outcome };
}

export async function restoreOk(repo: MemoryRepository, translator: Translator, request: MemoryRestoreRequest): Promise<RestoreTaskResult> {
  const outcome = await repo.restore(translator, request);
  if (!outcome.result.ok) throw new Error(`restore failed: ${outcome.result.error.code} ${outcome.result.error.message}`);
  return outcome.result.result as RestoreTaskResult;
}

/** The error record of a task that must fail. */
export function failure(outcome: MemoryTaskOutcome): ErrorRecord {
  if (outcome.result.ok) throw new Error('the task succeeded but was expected to fail');
  return outcome.result.error;
}
