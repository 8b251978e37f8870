import type { Repository } from '../repository/repository';
import { LockRecord, readLockFiles } from './lock-file';
import { DEFAULT_STALE_AFTER_MS, isStale } from './lock-staleness';

/** A lock as `ebm unlock` / `ebm locks` shows it. Unreadable lock files have `problem` and count as stale. */
export interface LockInfo {
  readonly id: string;
  readonly record?: LockRecord;
  readonly problem?: string;
  readonly stale: boolean;
  /** Milliseconds since the lock was taken or last refreshed (undefined when unreadable). */
  readonly ageMs?: number;
}

export interface StaleOptions {
  readonly staleAfterMs?: number;
}

export async function listLocks(repo: Repository, options: StaleOptions = {}): Promise<LockInfo[]> {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const now = Date.now();
  return (await readLockFiles(repo)).map((lock) =>
    'problem' in lock
      ? { id: lock.id, problem: lock.problem, stale: true }
      : { id: lock.id, record: lock.record, stale: isStale(lock.record, staleAfterMs, now), ageMs: now - Date.parse(lock.record.time) },
  );
}

/**
 * `ebm unlock`: removes stale lock files (too old, dead process on this host,
 * or unreadable), or every lock file with `all` (`--remove-all`, for when the
 * operator knows nothing else is running). Returns how many were removed.
 */
export async function removeStaleLocks(repo: Repository, options: StaleOptions & { readonly all?: boolean } = {}): Promise<number> {
  let removed = 0;
  for (const lock of await listLocks(repo, options)) {
    if (!options.all && !lock.stale) continue;
    await repo.backend.remove({ type: 'locks', name: lock.id });
    removed++;
  }
  return removed;
}
