import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createMemoryRepository, MemoryBackupRequest, MemoryRepository, MemoryRestoreRequest,
  RestoreTaskResult, TreeEntry, decodeTree,
} from '@ebm/sdk';
import { backupOk as sdkBackupOk, failure, restoreOk as sdkRestoreOk } from '@ebm/sdk/testing';
import type { BackupOk } from '@ebm/sdk/testing';
import translator from '../index';

export type { BackupOk };

/** An in-memory repository with the default (production) chunk sizes: a 64 KiB run is one blob. */
export function testRepository(chunker?: { minSize: number; avgSize: number; maxSize: number }): MemoryRepository {
  return createMemoryRepository(chunker ? { chunker } : {});
}

/** Backs up through the real SDK runtime (MessageChannel protocol); fails the test with the error record if the task failed. */
export function backupOk(repo: MemoryRepository, request: MemoryBackupRequest): Promise<BackupOk> {
  return sdkBackupOk(repo, translator, request);
}

export function restoreOk(repo: MemoryRepository, request: MemoryRestoreRequest): Promise<RestoreTaskResult> {
  return sdkRestoreOk(repo, translator, request);
}

export { failure };

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
