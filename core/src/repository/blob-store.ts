import { computeBlobId, EbmError } from '@ebm/sdk';
import type { BlobCodec, BlobKind } from '@ebm/sdk';
import { CODEC_RAW, CODEC_ZSTD } from '../compression/payload-codec';
import { decompressTransient } from '../compression/transient-zstd';
import { LRUCache } from 'lru-cache';
import { writeIndexFiles, MAX_BLOBS_PER_INDEX_FILE } from './index-file';
import { MasterIndex } from './master-index';
import { blobAad, openBlob, sealBlob, sealedLength, sealEncodedBlob } from './pack-format';
import type { RepoAccess } from './pack-format';
import { loadSealedBlob } from './pack-reader';
import { PackWindowReader } from './pack-window-reader';
import { PackSaves } from './pack-saves';
import type { PendingPack } from './pack-saves';
import { PackWriter } from './pack-writer';
import { packBodiesFor } from './pack-body';
import type { FinishedPack } from './pack-writer';
import type { BlobStoreOptions, BlobStoreStats, FlushResult, SaveBlobResult } from './blob-store-types';

export type { BlobStoreOptions, BlobStoreStats, FlushResult, SaveBlobResult } from './blob-store-types';

/** A store waits for its spool writes once this many sealed bytes are not yet written out (a slow spool disk). */
export const MAX_UNWRITTEN_SPOOL_BYTES = 8 * 1024 * 1024;

/** Default of BlobStoreOptions.flushEveryBlobs. */
export const INDEX_EVERY_BLOBS = 25_000;

const NOT_STORED: SaveBlobResult = Object.freeze({ stored: false, storedBytes: 0 });

/**
 * The storage side of the data mover: deduplicates, seals and packs blobs,
 * saves packs, indexes them, and loads verified blobs back.
 *
 * Crash safety: a pack is saved (durably) before any index names it, and an
 * index is saved before the caller writes a snapshot that needs it (call
 * `flush()` first). A crash therefore leaves at most packs no index names;
 * prune removes them. `abort()` removes them right away.
 *
 * saveBlob may be called concurrently; it never trusts the caller's id.
 */
export class BlobStore {
  readonly #repo: RepoAccess;
  readonly #index: MasterIndex;
  readonly #reader: PackWindowReader;
  readonly #writer: PackWriter;
  readonly #flushEveryPacks: number;
  readonly #flushEveryBlobs: number;
  readonly #saves: PackSaves;
  readonly #treeCache: LRUCache<string, Buffer>;
  /** Blob id → its pack, for blobs stored this session and not yet indexed; null while the pack is open. */
  readonly #pending = new Map<string, PendingPack | null>();
  #unindexed: PendingPack[] = [];
  /** Packs and blobs finished since the last index write was requested (so concurrent callers request one, not many). */
  #packsSinceIndexRequest = 0;
  #blobsSinceIndexRequest = 0;
  #indexChain: Promise<unknown> = Promise.resolve();
  readonly #compressionLevel: number;
  #aborted = false;
  #blobsAdded = 0;
  #bytesAdded = 0;

  constructor(repo: RepoAccess, index: MasterIndex, options: BlobStoreOptions = {}) {
    this.#repo = repo;
    this.#index = index;
    this.#writer = new PackWriter(repo.cipher, repo.config.packs.targetSize, packBodiesFor(repo.backend, options.spoolDir));
    this.#reader = new PackWindowReader(repo, (pack) => index.blobAreaEnd(pack));
    this.#compressionLevel = options.compressionLevel ?? repo.compressionLevel;
    this.#flushEveryPacks = Math.max(1, options.flushEveryPacks ?? 64);
    this.#flushEveryBlobs = Math.max(1, Math.min(MAX_BLOBS_PER_INDEX_FILE, options.flushEveryBlobs ?? INDEX_EVERY_BLOBS));
    this.#saves = new PackSaves(repo.backend, Math.max(1, options.maxPacksInFlightPerKind ?? 1));
    this.#treeCache = new LRUCache<string, Buffer>({
      maxSize: Math.max(1, options.treeCacheBytes ?? 8 * 1024 * 1024),
      sizeCalculation: (b) => Math.max(1, b.length),
    });
  }

  /** Opens a store on the repository, loading its index (E_CORRUPT_OBJECT naming a damaged index file). */
  static async open(repo: RepoAccess, options: BlobStoreOptions = {}): Promise<BlobStore> {
    return new BlobStore(repo, options.index ?? (await MasterIndex.loadShared(repo)), options);
  }

  get index(): MasterIndex {
    return this.#index;
  }

  stats(): BlobStoreStats {
    return { blobsAdded: this.#blobsAdded, bytesAdded: this.#bytesAdded, packsWritten: this.#saves.written };
  }

  /** True if the repository's index or this session already holds the blob. */
  has(id: string): boolean {
    return this.#pending.has(id) || this.#index.has(id);
  }

  /**
   * Stores a blob unless it is already there. Verifies `id` against the
   * plaintext first (E_PROTOCOL on a mismatch). May wait while earlier packs
   * are being saved, so memory stays bounded.
   */
  saveBlob(kind: BlobKind, id: string, data: Uint8Array, codec: BlobCodec = 0): Promise<SaveBlobResult> {
    let result: SaveBlobResult;
    try {
      result = this.#store(kind, id, data, codec);
    } catch (err) {
      return Promise.reject(err);
    }
    // Most blobs need no waiting (no pack save to wait for, no index due): no async step for them.
    if (!result.stored || (!this.#saves.mustWait(kind) && !this.#indexDue() && this.#writer.unwrittenBytes <= MAX_UNWRITTEN_SPOOL_BYTES)) return Promise.resolve(result);
    return this.#afterStore(kind, result);
  }

  /** The synchronous part of saveBlob: checks, verification, sealing, packing. */
  #store(kind: BlobKind, id: string, data: Uint8Array, codec: BlobCodec): SaveBlobResult {
    this.#assertUsable();
    if (kind !== 'data' && kind !== 'tree') throw new EbmError('E_PROTOCOL', `unknown blob kind ${JSON.stringify(kind)} for blob ${id}`, { subject: id });
    if (codec !== 0 && codec !== 1 && codec !== 2) throw new EbmError('E_PROTOCOL', `unknown codec ${JSON.stringify(codec)} for blob ${id}`, { subject: id });
    // Nothing is stored for a blob we have, so there is nothing to verify.
    if (this.has(id)) return NOT_STORED;
    // Never trust an id: re-hash the plaintext (decompressing what the plugin compressed).
    const plaintext = codec === 1 ? decompressTransient(data, `blob ${id}`) : data; // valid until the next blob: used only below
    const actual = computeBlobId(this.#repo.keys.id, plaintext);
    if (actual !== id) {
      throw new EbmError('E_PROTOCOL', `blob offered as ${id} has content hashing to ${actual}; refusing to store it`, { subject: id });
    }
    // 1: the plugin's zstd frame as it came; 2: plaintext its encoder found not worth compressing, stored as is; 0: compressed here.
    const aad = blobAad(this.#repo, id);
    const sealed = codec === 1 ? sealEncodedBlob(this.#repo.cipher, { codec: CODEC_ZSTD, body: data }, aad)
      : codec === 2 ? sealEncodedBlob(this.#repo.cipher, { codec: CODEC_RAW, body: data }, aad)
      : sealBlob(this.#repo.cipher, this.#compressionLevel, plaintext, aad);
    this.#pending.set(id, null);
    this.#blobsAdded++;
    const storedBytes = sealedLength(sealed);
    this.#bytesAdded += storedBytes;
    for (const pack of this.#writer.add(kind, id, sealed, plaintext.length)) this.#startSave(pack);
    return { stored: true, storedBytes };
  }

  async #afterStore(kind: BlobKind, result: SaveBlobResult): Promise<SaveBlobResult> {
    if (this.#writer.unwrittenBytes > MAX_UNWRITTEN_SPOOL_BYTES) await this.#writer.flushed();
    await this.#saves.waitForRoom(kind);
    if (this.#indexDue()) await this.#writeIndex();
    return result;
  }

  #indexDue(): boolean {
    return this.#packsSinceIndexRequest >= this.#flushEveryPacks || this.#blobsSinceIndexRequest >= this.#flushEveryBlobs;
  }

  /**
   * The verified plaintext of a blob: decrypted and decompressed, its seal
   * checked against its id (and re-hashed where the repository does not
   * bind ids: see openBlob).
   * E_BLOB_NOT_FOUND if no index (and no pending pack) has it; E_CORRUPT_OBJECT
   * naming blob and pack on any mismatch. Do not modify the returned buffer
   * (tree blobs are cached).
   */
  loadBlob(id: string): Promise<Buffer> {
    return this.#load(id, undefined);
  }

  /**
   * Like loadBlob, but the caller owns the result outright: nothing here
   * keeps or shares its ArrayBuffer (a cached tree is copied; otherwise the
   * buffer openBlob decoded into, or at worst a slice of Node's buffer pool,
   * which Node never lets a transfer detach). A restore's host session moves
   * it to the plugin's thread instead of copying it. `into` (see
   * BlobServer.takeBlob) may supply the array to decode an indexed blob into.
   */
  async takeBlob(id: string, into?: (length: number) => Uint8Array | undefined): Promise<Buffer> {
    const bytes = await this.#load(id, into);
    return this.#treeCache.get(id) === bytes ? Buffer.from(bytes) : bytes;
  }

  async #load(id: string, into: ((length: number) => Uint8Array | undefined) | undefined): Promise<Buffer> {
    const cached = this.#treeCache.get(id);
    if (cached !== undefined) return cached;
    const pending = this.#pending.get(id);
    if (pending !== undefined) return this.#loadPending(id, pending);
    const loc = this.#index.lookup(id);
    if (loc === undefined) {
      throw new EbmError('E_BLOB_NOT_FOUND', `blob ${id} is not in the repository index`, { subject: id });
    }
    // Decrypted while the reader holds the window (its buffer is reused after).
    const plaintext = await this.#reader.read(loc.pack, { id, offset: loc.offset, length: loc.length }, (sealed) => {
      try {
        const region = loc.kind === 'tree' ? undefined : into?.(loc.rawLength);
        return openBlob(this.#repo, sealed, { id, rawLength: loc.rawLength }, loc.pack, region === undefined ? {} : { into: region });
      } catch (err) {
        this.#reader.discard(loc.pack, loc);
        throw err;
      }
    });
    if (loc.kind === 'tree') this.#treeCache.set(id, plaintext);
    return plaintext;
  }

  /**
   * Finishes open packs, waits until every pack is saved, then writes one
   * index file naming all of them. After it resolves, everything stored so
   * far is durable and indexed: a snapshot may now refer to it.
   */
  async flush(): Promise<FlushResult> {
    this.#assertUsable();
    for (const pack of this.#writer.finishAll()) this.#startSave(pack);
    return this.#writeIndex();
  }

  /**
   * For a failed or cancelled job: drops open packs and removes the packs
   * this session saved that no index names, so the repository is left as
   * before (packs already indexed by an intermediate flush stay; prune
   * removes them if no snapshot uses them). The store is unusable afterwards.
   */
  async abort(): Promise<void> {
    this.#aborted = true;
    await this.#writer.discard();
    await this.#indexChain;
    const leftovers = this.#unindexed;
    this.#unindexed = [];
    this.#pending.clear();
    await Promise.allSettled(leftovers.map((p) => p.saved));
    const removed = await Promise.allSettled(leftovers.map((p) => this.#repo.backend.remove({ type: 'data', name: p.name })));
    const failed = removed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  #assertUsable(): void {
    if (this.#aborted) throw new EbmError('E_CANCELLED', 'the blob store was aborted');
    if (this.#saves.failure !== undefined) throw this.#saves.failure;
  }

  #startSave(pack: FinishedPack): void {
    const entry = this.#saves.start(pack);
    for (const b of pack.blobs) this.#pending.set(b.id, entry);
    this.#unindexed.push(entry);
    this.#packsSinceIndexRequest++;
    this.#blobsSinceIndexRequest += pack.blobs.length;
  }

  /** Serialises index writes; each writes every pack finished before it started. */
  #writeIndex(): Promise<FlushResult> {
    this.#packsSinceIndexRequest = 0;
    this.#blobsSinceIndexRequest = 0;
    const run = this.#indexChain.then(() => this.#writeIndexNow());
    this.#indexChain = run.catch(() => undefined);
    return run;
  }

  async #writeIndexNow(): Promise<FlushResult> {
    const batch = [...this.#unindexed];
    if (this.#aborted || batch.length === 0) return { indexIds: [], packs: [] };
    await Promise.all(batch.map((p) => p.saved));
    const indexIds = await writeIndexFiles(this.#repo, batch.map((p) => ({ id: p.name, blobs: p.blobs })));
    const done = new Set(batch);
    this.#index.markMerged(indexIds);
    for (const pack of batch) {
      this.#index.addPack(pack.name, pack.blobs);
      for (const b of pack.blobs) if (this.#pending.get(b.id) === pack) this.#pending.delete(b.id);
    }
    this.#unindexed = this.#unindexed.filter((p) => !done.has(p));
    return { indexId: indexIds[indexIds.length - 1], indexIds, packs: batch.map((p) => p.name) };
  }

  async #loadPending(id: string, pack: PendingPack | null): Promise<Buffer> {
    if (pack === null) {
      const open = await this.#writer.blobInOpenPack(id);
      if (open === undefined) throw new EbmError('E_BLOB_NOT_FOUND', `blob ${id} was discarded (the store was aborted)`, { subject: id });
      return openBlob(this.#repo, open.sealed, open.blob, '(not yet written)');
    }
    await pack.saved;
    const blob = pack.blobs.find((b) => b.id === id)!;
    return openBlob(this.#repo, await loadSealedBlob(this.#repo, pack.name, blob), blob, pack.name);
  }
}
