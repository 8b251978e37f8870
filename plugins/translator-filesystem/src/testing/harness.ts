import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BackupTaskResult, ErrorRecord, MemoryBackupRequest, MemoryRepository, MemoryRestoreRequest, MemoryTaskOutcome, RestoreTaskResult,
  createMemoryRepository,
} from '@ebm/sdk';
import translator from '../index';

/** Small chunks so multi-MiB test files span many chunks and tests stay fast. */
export function testRepository(): MemoryRepository {
  return createMemoryRepository({ chunker: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 } });
}

/** Backs up through the real SDK runtime (MessageChannel protocol); fails the test with the error record if the task failed. */
export async function backupOk(repo: MemoryRepository, request: MemoryBackupRequest): Promise<BackupTaskResult & { outcome: MemoryTaskOutcome }> {
  const outcome = await repo.backup(translator, request);
  if (!outcome.result.ok) throw new Error(`backup failed: ${outcome.result.error.code} ${outcome.result.error.message}`);
  return { ...(outcome.result.result as BackupTaskResult), outcome };
}

export async function restoreOk(repo: MemoryRepository, request: MemoryRestoreRequest): Promise<RestoreTaskResult> {
  const outcome = await repo.restore(translator, request);
  if (!outcome.result.ok) throw new Error(`restore failed: ${outcome.result.error.code} ${outcome.result.error.message}`);
  return outcome.result.result as RestoreTaskResult;
}

/** The error record of a task that must fail. */
export function failure(outcome: MemoryTaskOutcome): ErrorRecord {
  if (outcome.result.ok) throw new Error('the task succeeded but was expected to fail');
  return outcome.result.error;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `ebm-fs-${prefix}-`));
}

/** Removes directories even if a test left a 0o000 mode or read-only bits behind. */
export async function removeAll(...dirs: (string | undefined)[]): Promise<void> {
  for (const dir of dirs) if (dir !== undefined) await fsp.rm(dir, { recursive: true, force: true });
}
