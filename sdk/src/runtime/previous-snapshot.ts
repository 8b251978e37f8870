import type { TreeEntry } from '../entry/entry';
import { splitSafePath } from '../paths/safe-path';
import type { PreviousSnapshot } from '../translator/context';
import type { TreeLoader } from './tree-loader';

/**
 * The parent snapshot, read lazily: `lookup` walks from the root tree one
 * component at a time, loading trees through the shared TreeLoader, whose
 * cache keeps the trees along the current path hot when lookups come in
 * depth-first order.
 */
export class ParentSnapshot implements PreviousSnapshot {
  readonly id: string;
  readonly #rootTree: string;
  readonly #trees: TreeLoader;

  constructor(id: string, rootTree: string, trees: TreeLoader) {
    this.id = id;
    this.#rootTree = rootTree;
    this.#trees = trees;
  }

  async lookup(path: string): Promise<TreeEntry | undefined> {
    const parts = splitSafePath(path);
    let treeId = this.#rootTree;
    for (let i = 0; ; i++) {
      const entry = (await this.#trees.load(treeId)).get(parts[i]!);
      if (entry === undefined || i === parts.length - 1) return entry;
      if (entry.kind !== 'dir' || typeof entry.subtree !== 'string') return undefined;
      treeId = entry.subtree;
    }
  }
}
