import { computeBlobId, encodeTree } from '@ebm/sdk';
import type { DirTally, TreeEntry } from '@ebm/sdk';

/**
 * A directory tree held in memory: name → node. The one shape the tree
 * algebra (merge, diff, collapse) works on; trees are loaded into it from
 * tree blobs and encoded back with `encodeView`. A directory node's
 * `entry.subtree`/`entry.tally` are stale until encoded: `children` is the truth.
 */
export type ViewDir = ReadonlyMap<string, ViewNode>;
export interface ViewNode {
  readonly entry: TreeEntry;
  /** Children of a directory. */
  readonly children?: ViewDir;
}

/** Loads tree `id` and everything below it (only trees are read, never content). */
export async function loadView(id: string, load: (id: string) => Promise<readonly TreeEntry[]>): Promise<ViewDir> {
  const out = new Map<string, ViewNode>();
  for (const entry of await load(id)) {
    out.set(entry.name, entry.kind === 'dir' && entry.subtree !== undefined ? { entry, children: await loadView(entry.subtree, load) } : { entry });
  }
  return out;
}

export interface EncodedView {
  /** Root tree id. */
  readonly tree: string;
  /** What the root holds (the snapshot summary's files/dirs/others/bytes). */
  readonly tally: DirTally;
}

/**
 * Encodes a view as tree blobs (ids keyed with the repository's id key),
 * adding each to `blobs`; every directory gets its `subtree` and a `tally`
 * recomputed from its children, so a written view is a tree like any
 * translator writes. The same view always gives the same ids.
 */
export function encodeView(dir: ViewDir, idKey: Uint8Array, blobs: Map<string, Buffer>): EncodedView {
  const tally = { files: 0, dirs: 0, others: 0, bytes: 0 };
  const entries = [...dir.values()].map(({ entry, children }): TreeEntry => {
    if (entry.kind === 'dir') {
      const sub = encodeView(children ?? new Map(), idKey, blobs);
      tally.dirs += 1 + sub.tally.dirs;
      tally.files += sub.tally.files;
      tally.others += sub.tally.others;
      tally.bytes += sub.tally.bytes;
      return { ...entry, subtree: sub.tree, tally: sub.tally };
    }
    if (entry.kind === 'file') {
      tally.files++;
      tally.bytes += entry.size ?? 0;
    } else tally.others++;
    return entry;
  });
  const bytes = encodeTree(entries);
  const tree = computeBlobId(idKey, bytes);
  blobs.set(tree, bytes);
  return { tree, tally };
}
