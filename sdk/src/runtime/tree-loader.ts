import type { BlobId, TreeDocument, TreeEntry } from '../entry/entry';
import { decodeTree } from '../entry/tree-codec';
import { deepFreezeJson } from './deep-freeze';
import type { PortChannel } from './port-channel';

/** A decoded tree with a by-name index built on first use. */
export class LoadedTree {
  readonly id: BlobId;
  readonly entries: readonly TreeEntry[];
  #byName: Map<string, TreeEntry> | undefined;

  constructor(id: BlobId, doc: TreeDocument) {
    this.id = id;
    this.entries = deepFreezeJson(doc.entries); // handed to plugins: mutation must fail, not corrupt the cache
  }

  get(name: string): TreeEntry | undefined {
    if (this.#byName === undefined) this.#byName = new Map(this.entries.map((e) => [e.name, e]));
    return this.#byName.get(name);
  }
}

/**
 * Trees kept per job, counted in entries (a tree of a huge directory counts
 * for its size). Lookups come in depth-first order, so the trees along the
 * current path are what is reused; a larger cache mostly makes the worker's
 * heap (and its garbage collections) bigger.
 */
export const TREE_CACHE_ENTRIES = 20_000;

/**
 * Loads trees through `load-tree`, decodes and validates them (names that
 * could escape a directory fail with E_UNSAFE_PATH, malformed trees with
 * E_CORRUPT_OBJECT), and keeps the recently used ones. Concurrent loads of
 * one id share one request.
 */
export class TreeLoader {
  readonly #channel: PortChannel;
  readonly #limit: number;
  /** Insertion-ordered: the first key is the least recently used. */
  readonly #cache = new Map<BlobId, Promise<LoadedTree>>();
  readonly #sizes = new Map<BlobId, number>();
  #cachedEntries = 0;

  constructor(channel: PortChannel, limit = TREE_CACHE_ENTRIES) {
    this.#channel = channel;
    this.#limit = limit;
  }

  load(id: BlobId): Promise<LoadedTree> {
    const cached = this.#cache.get(id);
    if (cached !== undefined) {
      this.#cache.delete(id);
      this.#cache.set(id, cached);
      return cached;
    }
    const loading = this.#channel.request({ t: 'load-tree', id }).then((reply) => new LoadedTree(id, decodeTree(reply.data, `tree ${id}`)));
    this.#cache.set(id, loading);
    loading.then(
      (tree) => this.#account(id, tree.entries.length),
      () => this.#cache.delete(id),
    );
    return loading;
  }

  #account(id: BlobId, entries: number): void {
    if (!this.#cache.has(id)) return;
    this.#sizes.set(id, entries);
    this.#cachedEntries += entries;
    for (const oldest of this.#cache.keys()) {
      if (this.#cachedEntries <= this.#limit || oldest === id) break;
      const size = this.#sizes.get(oldest);
      if (size === undefined) continue; // still loading
      this.#cache.delete(oldest);
      this.#sizes.delete(oldest);
      this.#cachedEntries -= size;
    }
  }
}
