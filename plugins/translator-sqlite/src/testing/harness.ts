import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BackupTaskResult, createMemoryRepository, ErrorRecord, MemoryBackupRequest, MemoryRepository, MemoryRestoreRequest, MemoryTaskOutcome,
  RestoreTaskResult, TreeEntry, decodeTree,
} from '@ebm/sdk';
import translator from '../index';

/** An in-memory repository with the default (production) chunk sizes: a 64 KiB run is one blob. */
export function testRepository(chunker?: { minSize: number; avgSize: number; maxSize: number }): MemoryRepository {
  return createMemoryRepository(chunker ? { chunker } : {});
}

export type BackupOk = BackupTaskResult & { readonly outcome: MemoryTaskOutcome };

/** Backs up through the real SDK runtime (MessageChannel protocol); throws with the error record if the task failed. */
export async function backupOk(repo: MemoryRepository, request: MemoryBackupRequest): Promise<BackupOk> {
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

/** The root entries of a stored snapshot tree, by name. */
export function rootEntries(repo: MemoryRepository, tree: string): Map<string, TreeEntry> {
  const data = repo.get(tree);
  if (data === undefined) throw new Error(`tree ${tree} is not stored`);
  return new Map(decodeTree(data, 'root').entries.map((e) => [e.name, e]));
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ebm-sqlite-${prefix}-`));
}

export function removeAll(...dirs: (string | undefined)[]): void {
  for (const dir of dirs) if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
}
