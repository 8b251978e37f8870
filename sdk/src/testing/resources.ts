import { readdirSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

/**
 * What a task can leave open, as seen from inside one process. Two views:
 * `process.getActiveResourcesInfo()` (per thread: pending fs requests,
 * sockets, child processes, timers) and, on Linux, the process's open file
 * descriptors by path (shared by all threads, so it also sees a worker's).
 * Test runners keep their own handles open, so callers compare counts
 * before and after, and look only at descriptors under the case's own dirs.
 */

/** Resource types a finished task must not leave behind in the test's thread (timers are left out: hosts keep idle timers). */
export const WATCHED_RESOURCES: ReadonlySet<string> = new Set([
  'FSReqCallback', 'FSReqPromise', 'FileHandle', 'FileHandleCloseReq', 'FSEventWrap', 'StatWatcher',
  'TCPWrap', 'TCPSocketWrap', 'TCPServerWrap', 'PipeWrap', 'PipeServerWrap', 'ProcessWrap', 'UDPWrap', 'SignalWrap',
]);

/** In a harness worker nothing else runs, so timers left behind count too. */
export const WORKER_WATCHED_RESOURCES: ReadonlySet<string> = new Set([...WATCHED_RESOURCES, 'Timeout', 'Immediate']);

export function activeResourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** Types whose count grew from `before` to `after`, with how much, among `watched`. */
export function resourcesAbove(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>, watched: ReadonlySet<string> = WORKER_WATCHED_RESOURCES): Record<string, number> {
  const grown: Record<string, number> = {};
  for (const [type, count] of Object.entries(after)) {
    const delta = count - (before[type] ?? 0);
    if (delta > 0 && watched.has(type)) grown[type] = delta;
  }
  return grown;
}

/** Paths of this process's open file descriptors that lie under one of `dirs` (Linux; elsewhere always empty). */
export function openFilesUnder(dirs: readonly string[]): string[] {
  if (process.platform !== 'linux') return [];
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const roots = dirs.map((d) => path.resolve(d));
  const found: string[] = [];
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (e.g. the descriptor of the readdir itself)
    }
    if (roots.some((root) => target === root || target.startsWith(root + path.sep))) found.push(target);
  }
  return found.sort();
}

/**
 * Waits (up to `maxMs`) until `probe` finds nothing, and returns what it
 * still finds then. Closing a file completes asynchronously, so a task that
 * closed everything in a `finally` may still show it for a few milliseconds.
 */
export async function settled<T>(probe: () => T[], maxMs = 1000): Promise<T[]> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const left = probe();
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
