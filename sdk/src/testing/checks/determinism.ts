import type { CaseRun } from '../case-run';
import { CheckFailed } from '../conformance-failure';
import { backupOf, runBounded } from '../tasks';
import type { TranslatorFixture } from '../tester-options';
import { diffTrees } from '../tree-diff';

/**
 * Determinism: two backups of the same, unchanged source give the same tree
 * id, and so does an incremental backup of it with the first as parent
 * (the reuse path must record exactly what a read records). Both modes back
 * up the same built source, so they must also agree on the id.
 */
export async function determinismCase(run: CaseRun, fixture: TranslatorFixture): Promise<void> {
  const built = await run.build(fixture);
  const bound = run.options.timeouts.taskMs;
  const options = fixture.options ?? {};
  await run.eachMode(async (mode) => {
    const repo = await run.repository();
    const first = backupOf(await runBounded(repo, { op: 'backup', request: { source: built.source, options } }, mode, bound, 'the first backup'), 'the first backup');
    const second = backupOf(await runBounded(repo, { op: 'backup', request: { source: built.source, options } }, mode, bound, 'the second backup'), 'the second backup');
    if (second.tree !== first.tree) {
      throw new CheckFailed(`two backups of the same unchanged source gave different trees (${first.tree.slice(0, 12)} and ${second.tree.slice(0, 12)}):\n${(await diffTrees(repo, first.tree, second.tree)).join('\n')}`);
    }
    const incremental = backupOf(
      await runBounded(repo, { op: 'backup', request: { source: built.source, options, parentTree: first.tree, ...(first.meta !== undefined ? { parentMeta: first.meta } : {}) } }, mode, bound, 'the incremental backup of the unchanged source'),
      'the incremental backup of the unchanged source',
    );
    if (incremental.tree !== first.tree) {
      throw new CheckFailed(`an incremental backup of the unchanged source gave a different tree than a full one (${incremental.tree.slice(0, 12)} instead of ${first.tree.slice(0, 12)}):\n${(await diffTrees(repo, first.tree, incremental.tree)).join('\n')}`);
    }
    return { tree: first.tree };
  });
}
