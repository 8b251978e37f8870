import { CheckFailed } from './conformance-failure';
import type { HarnessOutcome } from './harness-host';
import { activeResourceCounts, openFilesUnder, resourcesAbove, settled, WATCHED_RESOURCES } from './resources';

/** Resource counts of this thread now, to compare with after a task (see expectNothingLeft). */
export function resourceBaseline(): Record<string, number> {
  return activeResourceCounts();
}

/**
 * After a (cancelled) task: no file under `dirs` is still open in this
 * process (Linux: /proc/self/fd, which also sees worker threads), no pending
 * fs request, socket or child process was added in this thread, and — when
 * the host can tell — nothing was left active or in TMPDIR in the worker.
 * Waits up to a second for closes that are already under way.
 */
export async function expectNothingLeft(what: string, dirs: readonly string[], before: Readonly<Record<string, number>>, outcome: HarnessOutcome): Promise<void> {
  const problems: string[] = [];
  const open = await settled(() => openFilesUnder(dirs));
  if (open.length > 0) problems.push(`files still open: ${open.slice(0, 5).join(', ')}`);
  const grown = await settled(() => Object.entries(resourcesAbove(before, activeResourceCounts(), WATCHED_RESOURCES)).map(([type, n]) => `${type} ×${n}`));
  if (grown.length > 0) problems.push(`active resources left in the test's thread: ${grown.join(', ')}`);
  const inWorker = Object.entries(outcome.workerResourcesLeft ?? {}).map(([type, n]) => `${type} ×${n}`);
  if (inWorker.length > 0) problems.push(`active resources left in the worker: ${inWorker.join(', ')}`);
  if ((outcome.workerTempLeft ?? []).length > 0) problems.push(`files left in the worker's temporary directory: ${outcome.workerTempLeft!.slice(0, 5).join(', ')}`);
  if (problems.length > 0) throw new CheckFailed(`${what} left things behind: ${problems.join('; ')}`);
}
