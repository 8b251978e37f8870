import { decodeTree, EbmError, TreeEntry } from '@ebm/sdk';
import type { BlobStore } from '../repository/blob-store';

export interface WalkedEntry {
  /** Snapshot-relative POSIX path. */
  readonly path: string;
  readonly entry: TreeEntry;
}

/** Loads and decodes one tree blob. */
export async function loadTree(store: BlobStore, id: string): Promise<readonly TreeEntry[]> {
  return decodeTree(await store.loadBlob(id), `tree ${id.slice(0, 12)}`).entries;
}

/** Resolves a snapshot-relative path to its tree id (the directory) or entry. */
export async function resolvePath(store: BlobStore, rootTree: string, relPath: string): Promise<{ tree?: string; entry?: TreeEntry }> {
  const parts = relPath.split('/').filter((p) => p !== '' && p !== '.');
  let tree = rootTree;
  let entry: TreeEntry | undefined;
  for (let i = 0; i < parts.length; i++) {
    const found = (await loadTree(store, tree)).find((e) => e.name === parts[i]);
    if (!found) throw new EbmError('E_PATH_NOT_IN_SNAPSHOT', `path ${relPath} does not exist in the snapshot`, { subject: relPath });
    entry = found;
    if (i < parts.length - 1 || found.kind === 'dir') {
      if (found.kind !== 'dir' || !found.subtree) {
        if (i === parts.length - 1) break;
        throw new EbmError('E_PATH_NOT_IN_SNAPSHOT', `path ${relPath}: ${parts.slice(0, i + 1).join('/')} is not a directory`, { subject: relPath });
      }
      tree = found.subtree;
    }
  }
  return entry && entry.kind !== 'dir' ? { entry } : { tree, ...(entry ? { entry } : {}) };
}

/** Depth-first, pre-order walk of a tree (names in stored order). */
export async function* walkTree(store: BlobStore, treeId: string, prefix = '', recursive = true): AsyncGenerator<WalkedEntry> {
  for (const entry of await loadTree(store, treeId)) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    yield { path, entry };
    if (recursive && entry.kind === 'dir' && entry.subtree) yield* walkTree(store, entry.subtree, path, true);
  }
}
