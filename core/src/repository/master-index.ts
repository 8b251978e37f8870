import type { BlobKind } from '@ebm/sdk';
import type { Backend, FileType } from '../backend/backend';
import { readIndexFile } from './index-file';
import type { IndexFile } from './index-file';
import type { PackBlob, RepoAccess } from './pack-format';
import { BlobTable } from './blob-table';

/** Where a blob is stored. */
export interface BlobLocation {
  readonly pack: string;
  readonly kind: BlobKind;
  readonly offset: number;
  readonly length: number;
  readonly rawLength: number;
}


export interface MasterIndexLoadOptions {
  /**
   * Called for an index file that cannot be loaded (E_CORRUPT_OBJECT,
   * E_STORAGE_NOT_FOUND). Without it, the first such error is thrown.
   */
  onCorrupt?: (indexId: string, error: unknown) => void;
  /** Sees every loaded index file (the checker and prune keep per-pack lists). */
  onIndexFile?: (indexId: string, file: IndexFile) => void;
  /** Index files loaded at once. */
  concurrency?: number;
}

/**
 * All index files of a repository merged in memory: blob id → location.
 * When a blob is stored in several packs (two backups raced, or a prune
 * was interrupted), the first location loaded wins; every copy is valid.
 */
export class MasterIndex {
  /** Blob id → its pack (a number into #packNames) and place: compact, see BlobTable. */
  readonly #entries = new BlobTable();
  readonly #packNames: string[] = [];
  readonly #packNumbers = new Map<string, number>();
  /** Per pack number: the end of the last blob any index names in it (offset + length). */
  readonly #packAreaEnds: number[] = [];
  readonly #indexIds: string[] = [];
  readonly #merged = new Set<string>();

  /** Loads every index file of the repository. */
  static async load(repo: Pick<RepoAccess, 'backend' | 'loadJsonFile'>, options: MasterIndexLoadOptions = {}): Promise<MasterIndex> {
    const index = new MasterIndex();
    await index.#loadFiles(repo, await listFileNames(repo.backend, 'index'), options);
    return index;
  }

  /**
   * The repository's index for a backup, kept per repository object between
   * calls (a host process opens a repository once and runs many jobs on it):
   * a later call lists the index files and reads only those written since
   * (by anyone); when one it had merged is gone (prune rewrote the index), it
   * loads everything again. Concurrent calls on one repository are
   * serialised. The instance is shared: its users may only add packs they
   * have stored and indexed (BlobStore does so after writing their index
   * file, and marks that file merged).
   */
  static loadShared(repo: Pick<RepoAccess, 'backend' | 'loadJsonFile'>): Promise<MasterIndex> {
    const previous = sharedLoads.get(repo) ?? Promise.resolve(undefined);
    const next = previous.catch(() => undefined).then(async (have) => {
      const ids = await listFileNames(repo.backend, 'index');
      const present = new Set(ids);
      if (have !== undefined && [...have.#merged].every((id) => present.has(id))) {
        await have.#loadFiles(repo, ids.filter((id) => !have.#merged.has(id)), {});
        return have;
      }
      const fresh = new MasterIndex();
      await fresh.#loadFiles(repo, ids, {});
      return fresh;
    });
    sharedLoads.set(repo, next);
    return next;
  }

  /** Records that index files `ids` (just written by the holder of this index, whose packs it added) are merged. */
  markMerged(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.#merged.has(id)) continue;
      this.#merged.add(id);
      this.#indexIds.push(id);
    }
    this.#indexIds.sort();
  }

  async #loadFiles(repo: Pick<RepoAccess, 'backend' | 'loadJsonFile'>, ids: readonly string[], options: MasterIndexLoadOptions): Promise<void> {
    const index = this;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        let file: IndexFile;
        try {
          file = await readIndexFile(repo, id);
        } catch (err) {
          const code = (err as { code?: unknown } | null)?.code;
          if (options.onCorrupt === undefined || (code !== 'E_CORRUPT_OBJECT' && code !== 'E_STORAGE_NOT_FOUND')) throw err;
          options.onCorrupt(id, err);
          continue;
        }
        if (!index.#merged.has(id)) {
          index.#merged.add(id);
          index.#indexIds.push(id);
        }
        for (const pack of file.packs) index.addPack(pack.id, pack.blobs);
        options.onIndexFile?.(id, file);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 8, ids.length)) }, worker));
    index.#indexIds.sort();
  }

  /** Adds a pack's blobs (from an index file or a just-written pack). Existing locations are kept. */
  addPack(packName: string, blobs: readonly PackBlob[]): void {
    let pack = this.#packNumbers.get(packName);
    if (pack === undefined) {
      pack = this.#packNames.length;
      this.#packNames.push(packName);
      this.#packNumbers.set(packName, pack);
      this.#packAreaEnds.push(0);
    }
    for (const b of blobs) {
      if (b.offset + b.length > this.#packAreaEnds[pack]!) this.#packAreaEnds[pack] = b.offset + b.length;
      this.#entries.add(b.id, { pack, tree: b.kind === 'tree', offset: b.offset, length: b.length, rawLength: b.rawLength });
    }
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  lookup(id: string): BlobLocation | undefined {
    const e = this.#entries.get(id);
    if (e === undefined) return undefined;
    return { pack: this.#packNames[e.pack]!, kind: e.tree ? 'tree' : 'data', offset: e.offset, length: e.length, rawLength: e.rawLength };
  }

  /** Names of all packs any loaded index names. */
  packs(): string[] {
    return [...this.#packNames];
  }

  /**
   * Where the blobs the index names in a pack end (offset + length of the
   * last): bytes up to here are blobs, never past the file's end. Undefined
   * for a pack no index names.
   */
  blobAreaEnd(packName: string): number | undefined {
    const pack = this.#packNumbers.get(packName);
    return pack === undefined ? undefined : this.#packAreaEnds[pack];
  }

  hasPack(packName: string): boolean {
    return this.#packNumbers.has(packName);
  }

  /** Ids of the index files loaded successfully, sorted. */
  indexIds(): readonly string[] {
    return this.#indexIds;
  }

  /** Number of distinct blobs. */
  get size(): number {
    return this.#entries.size;
  }
}

/** The shared index per repository object (loadShared), as the promise of its latest refresh. */
const sharedLoads = new WeakMap<object, Promise<MasterIndex | undefined>>();

/** Names of all complete files of a type. */
export async function listFileNames(backend: Backend, type: FileType): Promise<string[]> {
  const names: string[] = [];
  for await (const info of backend.list(type)) names.push(info.name);
  return names;
}
