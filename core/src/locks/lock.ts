import * as os from 'node:os';
import { EbmError, isEbmError } from '@ebm/sdk';
import type { Repository } from '../repository/repository';
import { LockFileContent, LockRecord, newLockId, readLockFiles, writeLockFile } from './lock-file';
import { DEFAULT_STALE_AFTER_MS, describeHolder, isStale } from './lock-staleness';

export interface AcquireLockOptions {
  /** Exclusive locks (prune, key changes) exclude every other lock; shared ones (backup, restore) coexist. */
  readonly exclusive: boolean;
  /** Shown to whoever finds the lock, e.g. "backup home". */
  readonly operation: string;
  /** A lock not refreshed for this long is ignored and may be removed (default 30 min). */
  readonly staleAfterMs?: number;
  /** How often the holder rewrites its lock with a fresh time (default 5 min). */
  readonly refreshMs?: number;
  /** Called when a background refresh fails (the error is also kept in `refreshError`). */
  readonly onRefreshError?: (err: EbmError) => void;
}

export interface LockHandle {
  /** The lock file's name under locks/. */
  readonly id: string;
  readonly exclusive: boolean;
  /** The last background refresh failure, if any. */
  readonly refreshError: EbmError | undefined;
  /** Rewrites the lock with the current time (the timer does this; callable by hand). */
  refresh(): Promise<void>;
  /** Stops refreshing and removes the lock file. Idempotent. */
  release(): Promise<void>;
}

export const DEFAULT_REFRESH_MS = 5 * 60 * 1000;

/**
 * Takes a lock on the repository:
 *   1. fail if a conflicting, non-stale lock exists;
 *   2. write ours;
 *   3. re-read (another process may have written at the same moment); if a
 *      conflicting lock appeared, remove ours and fail.
 * Conflicting = any other lock when we want exclusive, an exclusive lock when
 * we want shared. Lock files that cannot be read count as conflicting
 * exclusive locks (never silently ignored); `ebm unlock` removes them.
 * Two processes racing for exclusive locks may both fail; neither wins
 * wrongly. Failure is E_REPOSITORY_LOCKED naming the holder.
 */
export async function acquireLock(repo: Repository, options: AcquireLockOptions): Promise<LockHandle> {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
  const id = newLockId();
  const record = (): LockRecord => ({
    v: 1,
    time: new Date().toISOString(),
    exclusive: options.exclusive,
    host: os.hostname(),
    pid: process.pid,
    username: username(),
    operation: options.operation,
  });

  throwIfConflict(repo, await readLockFiles(repo), id, options.exclusive, staleAfterMs);
  await writeLockFile(repo, id, record());
  try {
    throwIfConflict(repo, await readLockFiles(repo), id, options.exclusive, staleAfterMs);
  } catch (err) {
    await repo.backend.remove({ type: 'locks', name: id });
    throw err;
  }
  return new HeldLock(repo, id, options.exclusive, record, refreshMs, options.onRefreshError);
}

/** Runs `fn` while holding a lock, releasing it afterwards whatever happens. */
export async function withLock<T>(repo: Repository, options: AcquireLockOptions, fn: (lock: LockHandle) => Promise<T>): Promise<T> {
  const lock = await acquireLock(repo, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

class HeldLock implements LockHandle {
  readonly id: string;
  readonly exclusive: boolean;
  refreshError: EbmError | undefined;
  readonly #repo: Repository;
  readonly #record: () => LockRecord;
  readonly #timer: NodeJS.Timeout;
  readonly #onRefreshError: ((err: EbmError) => void) | undefined;
  #released = false;
  #refreshing: Promise<void> | undefined;

  constructor(repo: Repository, id: string, exclusive: boolean, record: () => LockRecord, refreshMs: number, onRefreshError?: (err: EbmError) => void) {
    this.#repo = repo;
    this.id = id;
    this.exclusive = exclusive;
    this.#record = record;
    this.#onRefreshError = onRefreshError;
    // unref: a forgotten lock must not keep the process alive.
    this.#timer = setInterval(() => void this.#backgroundRefresh(), refreshMs).unref();
  }

  async refresh(): Promise<void> {
    if (this.#released) return;
    await writeLockFile(this.#repo, this.id, this.#record());
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    // Do not let an in-flight refresh re-create the file after we removed it.
    await this.#refreshing?.catch(() => undefined);
    await this.#repo.backend.remove({ type: 'locks', name: this.id });
  }

  async #backgroundRefresh(): Promise<void> {
    this.#refreshing = this.refresh();
    try {
      await this.#refreshing;
      this.refreshError = undefined;
    } catch (err) {
      const e = isEbmError(err) ? err : new EbmError('E_STORAGE_IO', `refreshing lock ${this.id} failed: ${(err as Error).message}`, { cause: err });
      this.refreshError = e;
      this.#onRefreshError?.(e);
    } finally {
      this.#refreshing = undefined;
    }
  }
}

function throwIfConflict(repo: Repository, locks: readonly LockFileContent[], ownId: string, exclusive: boolean, staleAfterMs: number): void {
  const now = Date.now();
  for (const lock of locks) {
    if (lock.id === ownId) continue;
    if ('problem' in lock) {
      throw new EbmError('E_REPOSITORY_LOCKED', `${repo.backend.location} is locked: lock file locks/${lock.id} cannot be read (${lock.problem}); if no ebm process is running, \`ebm unlock\` removes it`, { subject: lock.id });
    }
    if (isStale(lock.record, staleAfterMs, now)) continue;
    if (exclusive || lock.record.exclusive) {
      throw new EbmError('E_REPOSITORY_LOCKED', `${repo.backend.location} is locked: ${describeHolder(lock.record, now)} (locks/${lock.id})`, { subject: lock.id });
    }
  }
}

function username(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
