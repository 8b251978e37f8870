import { decodeTree } from '../../entry/tree-codec';
import type { RestoreTaskResult } from '../../protocol/messages';
import type { CaseRun } from '../case-run';
import { CheckFailed } from '../conformance-failure';
import { listPaths } from '../file-listing';
import type { ExpectedSource } from '../file-equality';
import type { HarnessRepository, Mode } from '../harness-host';
import { backupOf, restoreOf, runBounded, stableStats } from '../tasks';
import type { TranslatorFixture } from '../tester-options';
import { expectClones } from './structured-clone';

/**
 * Round trip: a backup restored gives back an equal source (by the author's
 * equality). Both modes back up the same built source, so with the host's
 * shared keys they must give the same tree id. With 'partial-restore'
 * declared, a restore of one top-level entry must succeed and write a strict
 * subset of the full restore.
 */
export async function roundTripCase(run: CaseRun, fixture: TranslatorFixture): Promise<void> {
  const built = await run.build(fixture);
  const bound = run.options.timeouts.taskMs;
  await run.eachMode(async (mode) => {
    const repo = await run.repository();
    const options = fixture.options ?? {};
    const backupOutcome = await runBounded(repo, { op: 'backup', request: { source: built.source, options } }, mode, bound, 'the backup');
    const backup = backupOf(backupOutcome, 'the backup');
    expectClones(backupOutcome.result, 'the backup result');
    const target = await run.dirs.make(`restore-${mode}`);
    const restoreOutcome = await runBounded(repo, { op: 'restore', request: { tree: backup.tree, target, options } }, mode, bound, 'the restore');
    const restore = restoreOf(restoreOutcome, 'the restore');
    expectClones(restoreOutcome.result, 'the restore result');
    await run.expectEqual(built, target, 'the restored data');
    const partial = run.plugin.manifest.capabilities.includes('partial-restore') ? await partialRestore(run, repo, mode, { tree: backup.tree, options }, target, restore, built) : null;
    return { tree: backup.tree, stats: stableStats(backup), restored: { files: restore.files, dirs: restore.dirs, bytes: restore.bytes }, partial };
  });
}

async function partialRestore(run: CaseRun, repo: HarnessRepository, mode: Mode, snapshot: { tree: string; options: TranslatorFixture['options'] }, fullTarget: string, full: RestoreTaskResult, built: ExpectedSource): Promise<{ include: string; files: number; dirs: number } | string> {
  const { tree } = snapshot;
  const root = decodeTree(await repo.readBlob(tree));
  if (root.entries.length < 2) return `not checked: fixture "${built.fixture}" has fewer than two top-level entries`;
  const include = root.entries[0]!.name;
  const target = await run.dirs.make(`partial-${mode}`);
  const outcome = await runBounded(repo, { op: 'restore', request: { tree, target, includes: [include], options: snapshot.options ?? {} } }, mode, run.options.timeouts.taskMs, `the restore of only "${include}" (capability 'partial-restore')`);
  const result = restoreOf(outcome, `the restore of only "${include}" (capability 'partial-restore')`);
  const [some, all] = [await listPaths(target), await listPaths(fullTarget)];
  const unexpected = some.filter((p) => !all.includes(p));
  if (unexpected.length > 0) throw new CheckFailed(`the restore of only "${include}" wrote paths a full restore does not: ${unexpected.slice(0, 5).join(', ')}`);
  if (some.length >= all.length) throw new CheckFailed(`the restore of only "${include}" wrote as much as a full restore (${some.length} paths): the manifest declares 'partial-restore'`);
  if (result.files + result.dirs >= full.files + full.dirs) throw new CheckFailed(`the restore of only "${include}" restored as many entries as a full restore`);
  return { include, files: result.files, dirs: result.dirs };
}
