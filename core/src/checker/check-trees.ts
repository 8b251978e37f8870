import { loadTree } from '../browse/tree-walker';
import type { BlobKind } from '@ebm/sdk';
import type { BlobStore } from '../repository/blob-store';
import type { SnapshotRecord } from '../repository/types';
import type { CheckProblem } from './check-report';
import { describeError } from './check-report';
import { walkTrees } from '../browse/walk-trees';

/**
 * Walks every snapshot's trees: each tree must load (verified) and decode,
 * and every blob a tree references — subtrees and file content — must be in
 * the index with the right kind. Each missing blob is reported once.
 */
export async function checkSnapshotTrees(
  store: BlobStore,
  snapshots: readonly SnapshotRecord[],
  report: (problem: CheckProblem) => void,
  options: { readonly signal?: AbortSignal; readonly onTree?: (done: number) => void } = {},
): Promise<number> {
  const index = store.index;
  const reported = new Set<string>();
  const requireBlob = (id: string, kind: BlobKind, where: string): boolean => {
    const loc = index.lookup(id);
    if (loc !== undefined && loc.kind === kind) return true;
    if (!reported.has(id)) {
      reported.add(id);
      report({
        kind: 'blob',
        subject: id,
        message: loc === undefined
          ? `${kind} blob ${id} (${where}) is missing from the index`
          : `blob ${id} (${where}) is indexed as ${loc.kind}, expected ${kind}`,
      });
    }
    return false;
  };

  const roots: string[] = [];
  for (const s of snapshots) {
    if (requireBlob(s.tree, 'tree', `root tree of snapshot ${s.id}`)) roots.push(s.tree);
    else report({ kind: 'snapshot', subject: s.id, message: `snapshot ${s.id}: its root tree ${s.tree} is not in the index` });
  }

  let done = 0;
  const { trees } = await walkTrees(
    roots,
    async (treeId) => {
      const children: string[] = [];
      try {
        for (const entry of await loadTree(store, treeId)) {
          const where = `entry ${JSON.stringify(entry.name)} of tree ${treeId}`;
          if (entry.subtree !== undefined && requireBlob(entry.subtree, 'tree', where)) children.push(entry.subtree);
          if (entry.content !== undefined) for (const id of entry.content) requireBlob(id, 'data', where);
        }
      } catch (err) {
        report({ kind: 'tree', subject: treeId, message: `tree ${treeId}: ${describeError(err)}` });
      }
      options.onTree?.(++done);
      return children;
    },
    { signal: options.signal },
  );
  return trees;
}
