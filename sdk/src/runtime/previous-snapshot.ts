import type { JsonValue, TreeEntry } from '../entry/entry';
import { readEntryContent } from './content-reader';
import { splitSafePath } from '../paths/safe-path';
import type { PreviousSnapshot } from '../translator/context';
import type { PortChannel } from './port-channel';
import type { LoadedTree, TreeLoader } from './tree-loader';


/**
 * The parent snapshot, read lazily: `lookup` walks from the root tree one
 * component at a time, loading trees through the shared TreeLoader, whose
 * cache keeps the trees along the current path hot when lookups come in
 * depth-first order. `readContent` streams a parent entry's content blobs
 * (verified by the host) for translators that keep incremental state as content.
 */
export class ParentSnapshot implements PreviousSnapshot {
  readonly id: string;
  readonly meta?: { readonly [key: string]: JsonValue };
  readonly #rootTree: string;
  readonly #trees: TreeLoader;
  readonly #channel: PortChannel;
  /** The directory of the last lookup and its tree (undefined: the parent has no such directory). */
  #lastDir: { readonly path: string; readonly tree: LoadedTree | undefined } | undefined;

  constructor(id: string, rootTree: string, trees: TreeLoader, channel: PortChannel, meta?: { readonly [key: string]: JsonValue }) {
    this.id = id;
    if (meta !== undefined) this.meta = meta;
    this.#rootTree = rootTree;
    this.#trees = trees;
    this.#channel = channel;
  }

  async lookup(path: string): Promise<TreeEntry | undefined> {
    const parts = splitSafePath(path);
    const slash = path.lastIndexOf('/');
    const dirPath = slash < 0 ? '' : path.slice(0, slash);
    // Lookups come in walk order: most ask for another entry of the directory asked last.
    if (this.#lastDir !== undefined && this.#lastDir.path === dirPath) return this.#lastDir.tree?.get(parts[parts.length - 1]!);
    let treeId = this.#rootTree;
    for (let i = 0; ; i++) {
      const tree = await this.#trees.load(treeId);
      if (i === parts.length - 1) this.#lastDir = { path: dirPath, tree };
      const entry = tree.get(parts[i]!);
      if (entry === undefined || i === parts.length - 1) {
        if (i < parts.length - 1) this.#lastDir = { path: dirPath, tree: undefined };
        return entry;
      }
      if (entry.kind !== 'dir' || typeof entry.subtree !== 'string') {
        this.#lastDir = { path: dirPath, tree: undefined };
        return undefined;
      }
      treeId = entry.subtree;
    }
  }

  async list(path: string): Promise<readonly TreeEntry[] | undefined> {
    let treeId = this.#rootTree;
    if (path !== '') {
      const dir = await this.lookup(path);
      if (dir === undefined || dir.kind !== 'dir' || typeof dir.subtree !== 'string') return undefined;
      treeId = dir.subtree;
    }
    return (await this.#trees.load(treeId)).entries;
  }

  readContent(entry: TreeEntry): AsyncGenerator<Uint8Array> {
    return readEntryContent(this.#channel, entry, { what: 'parent entry', op: 'backup', signal: this.#channel.signal, checkSize: true });
  }
}
