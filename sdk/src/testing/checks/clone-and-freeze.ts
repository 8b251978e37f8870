import { isDeepStrictEqual } from 'node:util';
import type { CaseRun } from '../case-run';
import { CheckFailed } from '../conformance-failure';
import { backupOf, restoreOf, runBounded } from '../tasks';
import type { TranslatorFixture } from '../tester-options';
import { expectClones, expectErrorSurvives } from './structured-clone';

/**
 * Results and errors survive a structured clone (what crossing a worker or a
 * network does to them), and the inputs are frozen: the fixture's options
 * reach the plugin deep-frozen (a plugin that writes to ctx.options or to an
 * entry it was given throws, and the backup fails with that error), and are
 * unchanged afterwards.
 */
export async function cloneAndFreezeCase(run: CaseRun, fixture: TranslatorFixture): Promise<void> {
  const built = await run.build(fixture);
  const options = fixture.options ?? Object.freeze({});
  const bound = run.options.timeouts.taskMs;
  await run.eachMode(async (mode) => {
    if (!Object.isFrozen(options)) throw new CheckFailed('the fixture options were not frozen by the tester');
    const before = structuredClone(options);
    const repo = await run.repository();
    const backupOutcome = await runBounded(repo, { op: 'backup', request: { source: built.source, options } }, mode, bound, 'the backup with frozen options');
    const backup = backupOf(backupOutcome, 'the backup with frozen options');
    expectClones(backupOutcome.result, 'the backup result');
    const parentOutcome = await runBounded(repo, { op: 'backup', request: { source: built.source, options, parentTree: backup.tree, ...(backup.meta !== undefined ? { parentMeta: backup.meta } : {}) } }, mode, bound, 'the incremental backup (frozen parent entries)');
    backupOf(parentOutcome, 'the incremental backup (frozen parent entries)');
    expectClones(parentOutcome.result, 'the incremental backup result');
    const target = await run.dirs.make(`restore-${mode}`);
    const restoreOutcome = await runBounded(repo, { op: 'restore', request: { tree: backup.tree, target, options } }, mode, bound, 'the restore with frozen options');
    restoreOf(restoreOutcome, 'the restore with frozen options');
    expectClones(restoreOutcome.result, 'the restore result');
    const failed = await runBounded(repo, { op: 'backup', request: { source: run.dirs.missing('clone'), options } }, mode, bound, 'the backup of a missing source');
    if (failed.result.ok) throw new CheckFailed('the backup of a missing source succeeded');
    expectErrorSurvives(failed.result.error, `the error record of a failed backup (${failed.result.error.code})`);
    if (!isDeepStrictEqual(structuredClone(options), before)) throw new CheckFailed('the options changed during the tasks');
    return { errorCode: failed.result.error.code };
  });
}
