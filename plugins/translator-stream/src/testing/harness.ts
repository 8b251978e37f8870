import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BackupTaskResult, ErrorRecord, JsonValue, MemoryBackupRequest, MemoryRepository, MemoryRestoreRequest, MemoryTaskOutcome, RestoreTaskResult,
  createMemoryRepository,
} from '@ebm/sdk';
import translator from '../index';

/** The compiled test producer (see generate-cli.ts). */
export const GENERATOR = path.join(__dirname, 'generate-cli.js');

/** argv of the test producer, as `ebm backup --from-command --` would pass it (a JSON array). */
export function generatorSource(...args: string[]): string {
  return JSON.stringify([process.execPath, GENERATOR, ...args]);
}

/** A memory repository with the default (file-tree) chunk sizes, as a real repository has. */
/** A memory repository for the stream translator; fixed `keys` make its cut points (and so what it ships) repeatable. */
export function testRepository(keys?: { readonly idKey: Uint8Array; readonly gearKey: Uint8Array }): MemoryRepository {
  return createMemoryRepository({ pluginId: 'stream', ...(keys !== undefined ? { keys } : {}) });
}

/** Backs up through the real SDK runtime; fails the test with the error record if the task failed. */
export async function backupOk(repo: MemoryRepository, request: MemoryBackupRequest): Promise<BackupTaskResult & { outcome: MemoryTaskOutcome }> {
  const outcome = await repo.backup(translator, request);
  if (!outcome.result.ok) throw new Error(`backup failed: ${outcome.result.error.code} ${outcome.result.error.message}`);
  return { ...(outcome.result.result as BackupTaskResult), outcome };
}

/** Restores with the snapshot meta the host would pass (the backup's meta). */
export async function restoreOk(repo: MemoryRepository, backup: BackupTaskResult, request: Omit<MemoryRestoreRequest, 'tree'>): Promise<RestoreTaskResult> {
  const outcome = await restore(repo, backup, request);
  if (!outcome.result.ok) throw new Error(`restore failed: ${outcome.result.error.code} ${outcome.result.error.message}`);
  return outcome.result.result as RestoreTaskResult;
}

export function restore(repo: MemoryRepository, backup: BackupTaskResult, request: Omit<MemoryRestoreRequest, 'tree'>): Promise<MemoryTaskOutcome> {
  return repo.restore(translator, { ...request, tree: backup.tree, snapshot: { meta: backup.meta!, ...request.snapshot } });
}

/** The error record of a task that must fail. */
export function failure(outcome: MemoryTaskOutcome): ErrorRecord {
  if (outcome.result.ok) throw new Error('the task succeeded but was expected to fail');
  return outcome.result.error;
}

/** The stream description a backup recorded. */
export function streamMeta(backup: BackupTaskResult): { readonly [key: string]: JsonValue } {
  return (backup.meta as { stream: { readonly [key: string]: JsonValue } }).stream;
}

export async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `ebm-stream-${prefix}-`));
}

export async function removeAll(...dirs: (string | undefined)[]): Promise<void> {
  for (const dir of dirs) if (dir !== undefined) await fsp.rm(dir, { recursive: true, force: true });
}
