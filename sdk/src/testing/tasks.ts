import { performance } from 'node:perf_hooks';
import type { BackupTaskResult, RestoreTaskResult } from '../protocol/messages';
import { CheckFailed } from './conformance-failure';
import type { HarnessBackupRequest, HarnessOutcome, HarnessRepository, HarnessRestoreRequest, Mode } from './harness-host';

/** How long a host may take to stop a task after the harness gave up on it (a host's own cancel grace period included). */
const HARD_STOP_GRACE_MS = 6_000;

export interface TimedOutcome extends HarnessOutcome {
  readonly durationMs: number;
}

export type TaskSpec =
  | { readonly op: 'backup'; readonly request: HarnessBackupRequest }
  | { readonly op: 'restore'; readonly request: HarnessRestoreRequest };

/**
 * Runs one task with a time bound. Past the bound the harness asks the host
 * to stop the task (a worker is terminated) and fails the check as a hang,
 * naming `what`; a task that cannot be stopped at all (in-process) is left
 * behind after a grace period.
 */
export async function runBounded(repo: HarnessRepository, spec: TaskSpec, mode: Mode, boundMs: number, what: string): Promise<TimedOutcome> {
  const stop = new AbortController();
  const started = performance.now();
  const task = spec.op === 'backup' ? repo.backup({ ...spec.request, signal: stop.signal }, mode) : repo.restore({ ...spec.request, signal: stop.signal }, mode);
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => {
      stop.abort();
      timer = setTimeout(() => resolve('hang'), HARD_STOP_GRACE_MS);
    }, boundMs);
  });
  try {
    const winner = await Promise.race([task, hang]);
    if (winner === 'hang' || stop.signal.aborted) {
      const stuck = winner === 'hang' ? `, and it could not be stopped${mode === 'in-process' ? ' (an in-process task cannot be terminated)' : ''}` : '';
      throw new CheckFailed(`${what} did not end within ${boundMs} ms: a hang${stuck}`);
    }
    return { ...winner, durationMs: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** The backup result of a task that must succeed; otherwise a CheckFailed naming `what` and the error. */
export function backupOf(outcome: HarnessOutcome, what: string): BackupTaskResult {
  if (!outcome.result.ok) throw new CheckFailed(`${what} failed with ${outcome.result.error.code}: ${outcome.result.error.message}`);
  if (outcome.result.result.op !== 'backup') throw new CheckFailed(`${what} returned a ${outcome.result.result.op} result`);
  return outcome.result.result;
}

export function restoreOf(outcome: HarnessOutcome, what: string): RestoreTaskResult {
  if (!outcome.result.ok) throw new CheckFailed(`${what} failed with ${outcome.result.error.code}: ${outcome.result.error.message}`);
  if (outcome.result.result.op !== 'restore') throw new CheckFailed(`${what} returned a ${outcome.result.result.op} result`);
  return outcome.result.result;
}

/** The statistics of a backup that do not depend on what the repository already held (comparable across modes). */
export function stableStats(result: BackupTaskResult): Record<string, number> {
  const { files, dirs, others, filesRead, filesReused, bytesTotal, bytesRead } = result.stats;
  return { files, dirs, others, filesRead, filesReused, bytesTotal, bytesRead };
}
