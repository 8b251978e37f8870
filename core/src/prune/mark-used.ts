import { EbmError } from '@ebm/sdk';
import type { BlobStore } from '../repository/blob-store';
import type { SnapshotRecord } from '../repository/types';
import { visitReachableBlobs } from '../browse/reachable-blobs';

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
  await visitReachableBlobs(
    store,
    snapshots.map((s) => ({ id: s.tree, where: `root tree of snapshot ${s.id}` })),
    (ref) => require(ref.id, ref.where),
    options,
  );
  return used;
}
