import type { CaseRun } from '../case-run';
import { CheckFailed } from '../conformance-failure';
import { added, listPaths } from '../file-listing';
import type { HarnessRepository, Mode } from '../harness-host';
import { expectNothingLeft, resourceBaseline } from '../leaks';
import { SeededRandom } from '../seeded-random';
import { backupOf, restoreOf, runBounded, TimedOutcome } from '../tasks';
import type { TranslatorFixture } from '../tester-options';

/**
 * Cancellation: a backup and a restore cancelled at seeded random points
 * (after the Nth message the host received; N never beyond the number of
 * requests of an uncancelled run, so the plugin is always still waiting on
 * the host when the cancel arrives) end with E_CANCELLED within the cancel
 * bound, and leave nothing behind: no new file in the source directory
 * (compared with what an uncancelled backup leaves), no file in the restore
 * target that a full restore does not write, no open file under the case's
 * directories, no pending handle.
 */
export async function cancellationCase(run: CaseRun, fixture: TranslatorFixture): Promise<void> {
  const built = await run.build(fixture);
  const options = fixture.options ?? {};
  const { taskMs } = run.options.timeouts;
  await run.eachMode(async (mode) => {
    const ref = await run.repository();
    const base = await runBounded(ref, { op: 'backup', request: { source: built.source, options } }, mode, taskMs, 'the uncancelled backup');
    const tree = backupOf(base, 'the uncancelled backup').tree;
    const sourcePaths = await listPaths(built.dir);
    const fullTarget = await run.dirs.make(`full-restore-${mode}`);
    const full = await runBounded(ref, { op: 'restore', request: { tree, target: fullTarget, options } }, mode, taskMs, 'the uncancelled restore');
    restoreOf(full, 'the uncancelled restore');
    const restoredPaths = await listPaths(fullTarget);
    const seed = run.options.seed;
    const label = `${run.caseName}\0${fixture.name}`;
    const observed = { backup: [] as string[], restore: [] as string[] };

    for (const n of new SeededRandom(seed, `${label}\0backup`).points(base.requests, run.options.cancelPoints)) {
      const what = `the backup cancelled after message ${n} (of ${base.messages}; seed ${seed})`;
      const repo = await run.repository();
      const before = resourceBaseline();
      const outcome = await cancelled(repo, mode, { op: 'backup', source: built.source }, n, base, run, options, what);
      const left = added(sourcePaths, await listPaths(built.dir));
      if (left.length > 0) throw new CheckFailed(`${what} left new files in the source directory: ${left.slice(0, 5).join(', ')}`);
      await expectNothingLeft(what, [built.dir], before, outcome);
      observed.backup.push('E_CANCELLED');
    }
    for (const n of new SeededRandom(seed, `${label}\0restore`).points(full.requests, run.options.cancelPoints)) {
      const what = `the restore cancelled after message ${n} (of ${full.messages}; seed ${seed})`;
      const target = await run.dirs.make(`cancelled-restore-${mode}`);
      const before = resourceBaseline();
      const outcome = await cancelled(ref, mode, { op: 'restore', tree, target }, n, full, run, options, what);
      const left = added(restoredPaths, await listPaths(target));
      if (left.length > 0) throw new CheckFailed(`${what} left files a complete restore does not write (temporary files?): ${left.slice(0, 5).join(', ')}`);
      await expectNothingLeft(what, [built.dir, target], before, outcome);
      observed.restore.push('E_CANCELLED');
    }
    return observed;
  });
}

type CancelSpec = { readonly op: 'backup'; readonly source: string } | { readonly op: 'restore'; readonly tree: string; readonly target: string };

/** Runs the task with a cancel after message `n` and requires E_CANCELLED, promptly. */
async function cancelled(repo: HarnessRepository, mode: Mode, spec: CancelSpec, n: number, uncancelled: TimedOutcome, run: CaseRun, options: NonNullable<TranslatorFixture['options']>, what: string): Promise<TimedOutcome> {
  const { cancelMs } = run.options.timeouts;
  // Long enough for the uncancelled run plus the cancel bound; a plugin that ignores the cancel is a hang.
  const bound = Math.max(1000, 2 * uncancelled.durationMs) + cancelMs;
  const outcome = spec.op === 'backup'
    ? await runBounded(repo, { op: 'backup', request: { source: spec.source, options, cancelAfterMessages: n } }, mode, bound, what)
    : await runBounded(repo, { op: 'restore', request: { tree: spec.tree, target: spec.target, options, cancelAfterMessages: n } }, mode, bound, what);
  if (outcome.result.ok) throw new CheckFailed(`${what} completed anyway: the plugin ignored the cancel`);
  const { code, message } = outcome.result.error;
  if (code !== 'E_CANCELLED') throw new CheckFailed(`${what} ended with ${code} (${message}) instead of E_CANCELLED`);
  const latency = outcome.cancelLatencyMs;
  if (latency !== undefined && latency > cancelMs) throw new CheckFailed(`${what} took ${Math.round(latency)} ms to stop after the cancel (bound ${cancelMs} ms): ${message}`);
  if (latency === undefined && outcome.durationMs > uncancelled.durationMs + cancelMs) {
    throw new CheckFailed(`${what} took ${Math.round(outcome.durationMs)} ms, longer than the uncancelled run (${Math.round(uncancelled.durationMs)} ms) plus the cancel bound (${cancelMs} ms)`);
  }
  return outcome;
}
