import * as os from 'node:os';
import type { LockRecord } from './lock-file';

/** Locks older than this (not refreshed) are stale. Holders refresh every 5 minutes. */
export const DEFAULT_STALE_AFTER_MS = 30 * 60 * 1000;

/**
 * A lock is stale when it was not refreshed for `staleAfterMs`, or when it
 * was taken on this host by a process that no longer exists.
 */
export function isStale(record: LockRecord, staleAfterMs: number, now = Date.now()): boolean {
  if (now - Date.parse(record.time) > staleAfterMs) return true;
  return record.host === os.hostname() && !processIsAlive(record.pid);
}

/** kill(pid, 0): ESRCH means no such process; EPERM means it exists but is not ours. */
export function processIsAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** "host pid 123 (alice), backup home, 4 min ago" */
export function describeHolder(record: LockRecord, now = Date.now()): string {
  const kind = record.exclusive ? 'exclusive' : 'shared';
  return `${kind} lock by ${record.username}@${record.host} pid ${record.pid} for "${record.operation}", taken or refreshed ${formatAge(now - Date.parse(record.time))} ago`;
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
