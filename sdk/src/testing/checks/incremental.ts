import type { CaseRun } from '../case-run';
import { CheckFailed } from '../conformance-failure';
import { backupOf, restoreOf, runBounded, stableStats } from '../tasks';
import type { SourceMutation, TranslatorFixture } from '../tester-options';

/**
 * Incremental: after a mutation, an incremental backup (parent = the
 * baseline) restores to the mutated source and stores fewer bytes than a
 * new baseline of the mutated source would (measured: the repository's
 * stored bytes before and after, against a fresh repository). The
 * 'incremental' capability is checked both ways: declared, the plugin must
 * consult its parent (load-tree requests) and reuse a file or read less than
 * the baseline; not declared, it must not reuse its parent.
 * Each mode builds its own source (the mutation changes it), so only
 * observations that do not depend on the particular files are compared.
 */
export async function incrementalCase(run: CaseRun, fixture: TranslatorFixture, mutation: SourceMutation): Promise<void> {
  const bound = run.options.timeouts.taskMs;
  const options = fixture.options ?? {};
  const declared = run.plugin.manifest.capabilities.includes('incremental');
  await run.eachMode(async (mode) => {
    const built = await run.build(fixture, `source-${mode}`);
    const repo = await run.repository();
    const base = backupOf(await runBounded(repo, { op: 'backup', request: { source: built.source, options } }, mode, bound, 'the baseline backup'), 'the baseline backup');
    const before = await repo.storedBytes();
    await mutation.apply(built.source, built.dir);
    const incOutcome = await runBounded(repo, { op: 'backup', request: { source: built.source, options, parentTree: base.tree, ...(base.meta !== undefined ? { parentMeta: base.meta } : {}) } }, mode, bound, 'the incremental backup');
    const inc = backupOf(incOutcome, 'the incremental backup');
    const incStored = (await repo.storedBytes()) - before;

    const target = await run.dirs.make(`restore-${mode}`);
    restoreOf(await runBounded(repo, { op: 'restore', request: { tree: inc.tree, target, options } }, mode, bound, 'the restore of the incremental backup'), 'the restore of the incremental backup');
    await run.expectEqual(built, target, 'the restore of the incremental backup');

    const fresh = await run.repository();
    const full = backupOf(await runBounded(fresh, { op: 'backup', request: { source: built.source, options } }, mode, bound, 'a new baseline of the mutated source'), 'a new baseline of the mutated source');
    const fullStored = await fresh.storedBytes();
    const storesLess = incStored < fullStored;
    if (mutation.storesLess !== false && !storesLess) {
      throw new CheckFailed(`the incremental backup stored ${incStored} bytes, not less than the ${fullStored} bytes a new baseline of the mutated source stores`);
    }
    const consulted = incOutcome.treeLoads > 0;
    const readsLess = inc.stats.filesReused > 0 || inc.stats.bytesRead < full.stats.bytesRead;
    if (declared && !consulted) {
      throw new CheckFailed(`the manifest declares 'incremental', but the incremental backup never looked at its parent snapshot (no ctx.previous.lookup)`);
    }
    if (declared && mutation.readsLess !== false && !readsLess) {
      throw new CheckFailed(`the manifest declares 'incremental', but the incremental backup reused no file and read ${inc.stats.bytesRead} bytes, as much as a new baseline (${full.stats.bytesRead})`);
    }
    if (!declared && consulted && readsLess) {
      throw new CheckFailed(`the incremental backup reuses its parent snapshot, but the manifest does not declare 'incremental': add it to "ebm.capabilities"`);
    }
    return { stats: stableStats(inc), storesLess, consultedParent: consulted, readsLess };
  });
}
