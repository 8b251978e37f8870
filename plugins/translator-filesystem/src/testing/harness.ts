import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MemoryBackupRequest, MemoryRepository, MemoryRestoreRequest, RestoreTaskResult,
  createMemoryRepository,
} from '@ebm/sdk';
import { backupOk as sdkBackupOk, failure, restoreOk as sdkRestoreOk } from '@ebm/sdk/testing';
import type { BackupOk } from '@ebm/sdk/testing';
import translator from '../index';

export type { BackupOk };

/** Small chunks so multi-MiB test files span many chunks and tests stay fast. */
export function testRepository(): MemoryRepository {
  return createMemoryRepository({ chunker: { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 } });
}

/** Backs up through the real SDK runtime (MessageChannel protocol); fails the test with the error record if the task failed. */
export function backupOk(repo: MemoryRepository, request: MemoryBackupRequest): Promise<BackupOk> {
  return sdkBackupOk(repo, translator, request);
}

export function restoreOk(repo: MemoryRepository, request: MemoryRestoreRequest): Promise<RestoreTaskResult> {
  return sdkRestoreOk(repo, translator, request);
}

export { failure };

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `ebm-fs-${prefix}-`));
}

/** Removes directories even if a test left a 0o000 mode or read-only bits behind. */
export async function removeAll(...dirs: (string | undefined)[]): Promise<void> {
  for (const dir of dirs) if (dir !== undefined) await fsp.rm(dir, { recursive: true, force: true });
}
