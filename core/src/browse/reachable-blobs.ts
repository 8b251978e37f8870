import type { BlobStore } from '../repository/blob-store';
import { loadTree } from './tree-walker';
import { walkTrees } from './walk-trees';

/** A blob referenced from somewhere, with a description of where (for error messages). */
export interface BlobReference {
  readonly id: string;
  readonly where: string;
}

/**
 * Visits every blob reachable from the root trees: each root, then every
 * subtree and content blob the trees reference; each tree is loaded once.
 * Strict, for operations that must not act on a partial view (prune marking
 * what is used, verification choosing the packs to re-read): a tree that
 * fails to load stops the walk with its error, and so does an error `onBlob`
 * throws (e.g. a reference missing from the index). `check` walks with
 * walkTrees itself because it reports damage and carries on.
 */
export async function visitReachableBlobs(
  store: BlobStore,
  roots: readonly BlobReference[],
  onBlob: (ref: BlobReference) => void,
  options: { readonly signal?: AbortSignal; readonly onTree?: (done: number) => void } = {},
): Promise<{ readonly trees: number }> {
  for (const root of roots) onBlob(root);
  let done = 0;
  return walkTrees(
    roots.map((r) => r.id),
    async (treeId) => {
      const children: string[] = [];
      for (const entry of await loadTree(store, treeId)) {
        const where = `entry ${JSON.stringify(entry.name)} of tree ${treeId}`;
        if (entry.subtree !== undefined) {
          onBlob({ id: entry.subtree, where });
          children.push(entry.subtree);
        }
        if (entry.content !== undefined) for (const id of entry.content) onBlob({ id, where });
      }
      options.onTree?.(++done);
      return children;
    },
    options.signal ? { signal: options.signal } : {},
  );
}
