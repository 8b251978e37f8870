import { computeBlobId, decodeTree, encodeTree } from '@ebm/sdk';
import type { DirTally, TreeEntry, Warning } from '@ebm/sdk';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { Snapshot, SnapshotRecord } from '../repository/types';
import { removeSnapshot, saveSnapshot } from '../snapshots/snapshot-store';
import { whiteoutEntry } from './diff-layer-trees';

/** Deleted paths as a tree of names: a `deleted` node gets a whiteout, the others are directories on the way. */
interface DeletionNode {
  deleted: boolean;
  readonly children: Map<string, DeletionNode>;
}

export interface WhiteoutResult {
  /** The layer snapshot with the whiteouts (the given one when nothing was added). */
  readonly snapshot: SnapshotRecord;
  readonly whiteouts: number;
}

/**
 * Adds whiteouts (0/0 character devices, overlay's deletion mark, which
 * mergeLayerTrees applies) for `deleted` paths to a layer snapshot just
 * written by the filesystem translator, and replaces that snapshot by the
 * result. The snapshot must already hold each deleted path's parent
 * directory (the caller lists it); a deletion whose parent is missing, or
 * whose name the snapshot holds (it was re-created meanwhile: the live entry
 * wins), is skipped with a warning.
 *
 * Only the trees on the way to a deletion are read and rewritten; every
 * other subtree keeps its id. Write order: tree blobs, index, the new
 * snapshot file, then the old file is removed — a crash in between leaves
 * both, and the newer one (with the whiteouts) is the layer's latest.
 * Call it under a shared lock.
 */
export async function addWhiteouts(repo: Repository, snapshot: SnapshotRecord, deleted: readonly string[], onWarning?: (w: Warning) => void): Promise<WhiteoutResult> {
  if (deleted.length === 0) return { snapshot, whiteouts: 0 };
  const root: DeletionNode = { deleted: false, children: new Map() };
  for (const p of deleted) {
    let node = root;
    for (const name of p.split('/')) {
      let child = node.children.get(name);
      if (child === undefined) node.children.set(name, (child = { deleted: false, children: new Map() }));
      node = child;
    }
    node.deleted = true;
  }
  const store = await BlobStore.open(repo);
  const load = async (id: string): Promise<readonly TreeEntry[]> => decodeTree(await store.loadBlob(id), `tree ${id.slice(0, 12)}`).entries;
  let whiteouts = 0;
  const skip = (path: string, why: string): void => onWarning?.({ path, code: 'E_SOURCE_CHANGED', message: `${path}: deleted relative to the base, but ${why}; no whiteout recorded (the next backup looks again)` });

  const rewrite = async (treeId: string, marks: DeletionNode, dir: string): Promise<{ tree: string; tally: DirTally }> => {
    const entries = new Map((await load(treeId)).map((e) => [e.name, e]));
    for (const [name, mark] of marks.children) {
      const here = dir === '' ? name : `${dir}/${name}`;
      const entry = entries.get(name);
      if (mark.deleted) {
        if (entry !== undefined) skip(here, 'it exists again');
        else {
          entries.set(name, whiteoutEntry(name));
          whiteouts++;
        }
        continue;
      }
      if (entry?.kind !== 'dir' || entry.subtree === undefined) {
        skip(here, 'its directory was not stored with the layer (it changed during the backup)');
        continue;
      }
      const sub = await rewrite(entry.subtree, mark, here);
      entries.set(name, { ...entry, subtree: sub.tree, tally: sub.tally });
    }
    const list = [...entries.values()];
    const bytes = encodeTree(list);
    const tree = computeBlobId(repo.keys.id, bytes);
    if (!store.has(tree)) await store.saveBlob('tree', tree, bytes);
    return { tree, tally: await tallyOf(list, (id) => rewrite(id, { deleted: false, children: new Map() }, dir)) };
  };

  const { tree } = await rewrite(snapshot.tree, root, '');
  if (whiteouts === 0) return { snapshot, whiteouts };
  await store.flush();
  const { id: oldId, ...rest } = snapshot;
  const next: Snapshot = {
    ...rest,
    time: new Date().toISOString(),
    tree,
    summary: { ...snapshot.summary, others: snapshot.summary.others + whiteouts },
  };
  const id = await saveSnapshot(repo, next);
  await removeSnapshot(repo, oldId);
  return { snapshot: { ...next, id }, whiteouts };
}

/** What a directory's entries hold, as the snapshot summary counts it; a subdirectory without a tally (an old tree) is counted by walking it. */
async function tallyOf(entries: readonly TreeEntry[], walk: (subtree: string) => Promise<{ tally: DirTally }>): Promise<DirTally> {
  const t = { files: 0, dirs: 0, others: 0, bytes: 0 };
  for (const e of entries) {
    if (e.kind === 'dir') {
      const sub = e.tally ?? (e.subtree !== undefined ? (await walk(e.subtree)).tally : { files: 0, dirs: 0, others: 0, bytes: 0 });
      t.dirs += 1 + sub.dirs;
      t.files += sub.files;
      t.others += sub.others;
      t.bytes += sub.bytes;
    } else if (e.kind === 'file') {
      t.files++;
      t.bytes += e.size ?? 0;
    } else t.others++;
  }
  return t;
}
