import { decodeTree, EbmError } from '@ebm/sdk';
import type { BlobStore } from '../repository/blob-store';
import type { SnapshotRecord } from '../repository/types';
import { walkTrees } from '../checker/tree-walk';

/**
 * Every blob reachable from the snapshots: their trees and all content the
 * trees reference. Strict: a tree that is missing or fails to load stops the
 * walk with its error, because deleting data on a partial view would destroy
 * what the unread part references. A referenced blob missing from the index
 * is refused too (E_BLOB_NOT_FOUND: run check, forget the damaged snapshot).
 */
export async function markUsedBlobs(
  store: BlobStore,
  snapshots: readonly SnapshotRecord[],
  options: { readonly signal?: AbortSignal; readonly onTree?: (done: number) => void } = {},
): Promise<Set<string>> {
  const used = new Set<string>();
  const require = (id: string, where: string): void => {
    if (!store.index.has(id)) {
      throw new EbmError('E_BLOB_NOT_FOUND', `prune refused: blob ${id} (${where}) is missing from the index; run \`ebm check\` and forget the damaged snapshots first`, { subject: id, op: 'prune' });
    }
    used.add(id);
  };
  for (const s of snapshots) require(s.tree, `root tree of snapshot ${s.id}`);
  let done = 0;
  await walkTrees(
    snapshots.map((s) => s.tree),
    async (treeId) => {
      const tree = decodeTree(await store.loadBlob(treeId), `tree ${treeId}`);
      const children: string[] = [];
      for (const entry of tree.entries) {
        const where = `entry ${JSON.stringify(entry.name)} of tree ${treeId}`;
        if (entry.subtree !== undefined) {
          require(entry.subtree, where);
          children.push(entry.subtree);
        }
        if (entry.content !== undefined) for (const id of entry.content) require(id, where);
      }
      options.onTree?.(++done);
      return children;
    },
    { signal: options.signal },
  );
  return used;
}
