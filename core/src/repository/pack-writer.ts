import type { BlobKind } from '@ebm/sdk';
import { EbmError } from '@ebm/sdk';
import type { ObjectCipher } from '../crypto/object-cipher';
import { createHash } from 'node:crypto';
import { encodePackHeader, MAX_PACK_BYTES, PACK_TRAILER_BYTES, sealedHeaderSize, sealedLength } from './pack-format';
import { MemoryPackBody } from './pack-body';
import type { PackBody, PackBodyFactory } from './pack-body';
import type { SaveData } from '../backend/backend';
import type { PackBlob, SealedPieces } from './pack-format';

/** A complete pack file, ready to be saved under `data/<name>`. */
export interface FinishedPack {
  /** sha256 hex of the file's bytes. */
  readonly name: string;
  /** The file's bytes (sealed blobs, sealed header, trailer), as Backend.save takes them: in memory or spooled. */
  readonly contents: SaveData;
  readonly size: number;
  readonly blobs: readonly PackBlob[];
  /** Frees what holds the bytes (a spool file); call once the save settled. */
  release(): Promise<void>;
}

/** One pack being filled: sealed blobs go to its body as they come, hashed on the way. */
class OpenPack {
  readonly blobs: PackBlob[] = [];
  /** id → its blob's index in `blobs`, for reading back a blob before its pack is saved. */
  readonly positions = new Map<string, number>();
  readonly #hash = createHash('sha256');
  size = 0;

  constructor(readonly body: PackBody) {}

  add(kind: BlobKind, id: string, sealed: SealedPieces, rawLength: number): void {
    const length = sealedLength(sealed);
    this.positions.set(id, this.blobs.length);
    for (const piece of sealed) this.#hash.update(piece);
    this.body.append(sealed);
    this.blobs.push({ id, kind, offset: this.size, length, rawLength });
    this.size += length;
  }

  finish(cipher: ObjectCipher): FinishedPack {
    const header = cipher.seal([encodePackHeader(this.blobs)]);
    const trailer = Buffer.allocUnsafe(PACK_TRAILER_BYTES);
    trailer.writeUInt32LE(header.length, 0);
    this.#hash.update(header).update(trailer);
    this.body.append([header, trailer]);
    const body = this.body;
    return { name: this.#hash.digest('hex'), contents: body.contents, size: this.size + header.length + trailer.length, blobs: this.blobs, release: () => body.release() };
  }
}

/**
 * Groups sealed blobs into pack files, one open pack per kind (data and tree
 * blobs never share a pack, so tree walks read small packs only).
 *
 * A pack is finished when adding a blob would take it past the target size;
 * a blob larger than the target gets a pack of its own. The writer only
 * builds buffers: saving finished packs is the caller's job.
 */
export class PackWriter {
  readonly #targetSize: number;
  readonly #cipher: ObjectCipher;
  readonly #open = new Map<BlobKind, OpenPack>();
  readonly #newBody: PackBodyFactory;

  /** `newBody`: where packs wait until saved (default: in memory; BlobStore spools them). */
  constructor(cipher: ObjectCipher, targetSize: number, newBody: PackBodyFactory = () => new MemoryPackBody()) {
    if (!Number.isSafeInteger(targetSize) || targetSize < 1) throw new RangeError(`pack target size must be a positive integer, got ${targetSize}`);
    this.#newBody = newBody;
    this.#cipher = cipher;
    this.#targetSize = Math.min(targetSize, MAX_PACK_BYTES / 2);
  }

  /**
   * Adds a sealed blob (see sealBlob: its pieces, or one buffer). Returns the
   * packs this add finished (zero, one or two), in the order they must be saved.
   */
  add(kind: BlobKind, id: string, sealed: SealedPieces | Uint8Array, rawLength: number): FinishedPack[] {
    const pieces = sealed instanceof Uint8Array ? [sealed] : sealed;
    const length = sealedLength(pieces);
    if (length + sealedHeaderSize(1) + PACK_TRAILER_BYTES > MAX_PACK_BYTES) {
      throw new EbmError('E_INTERNAL', `blob ${id} is too large for a pack (${length} bytes)`);
    }
    const finished: FinishedPack[] = [];
    let open = this.#open.get(kind);
    if (open !== undefined && open.size + length > this.#targetSize) {
      finished.push(open.finish(this.#cipher));
      open = undefined;
    }
    if (open === undefined) {
      open = new OpenPack(this.#newBody());
      this.#open.set(kind, open);
    }
    open.add(kind, id, pieces, rawLength);
    if (open.size >= this.#targetSize) {
      finished.push(open.finish(this.#cipher));
      this.#open.delete(kind);
    }
    return finished;
  }

  /** Finishes every open pack (data first, then tree). */
  finishAll(): FinishedPack[] {
    const finished: FinishedPack[] = [];
    for (const kind of ['data', 'tree'] as const) {
      const open = this.#open.get(kind);
      if (open !== undefined && open.blobs.length > 0) finished.push(open.finish(this.#cipher));
    }
    this.#open.clear();
    return finished;
  }

  /** A blob still in an open pack (its sealed bytes, read back, and its header entry), or undefined. */
  async blobInOpenPack(id: string): Promise<{ readonly sealed: Buffer; readonly blob: PackBlob } | undefined> {
    for (const open of this.#open.values()) {
      const at = open.positions.get(id);
      if (at === undefined) continue;
      const blob = open.blobs[at]!;
      return { sealed: await open.body.read(blob.offset, blob.length), blob };
    }
    return undefined;
  }

  /** Drops every open pack without writing it (freeing their bodies). */
  async discard(): Promise<void> {
    const open = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(open.map((p) => p.body.release()));
  }

  /** Sealed bytes appended to open packs and not yet written out (a spool's backlog). */
  get unwrittenBytes(): number {
    let n = 0;
    for (const open of this.#open.values()) n += open.body.unwritten;
    return n;
  }

  /** Resolves once every open pack's appended bytes are written out (rejects with a write failure). */
  async flushed(): Promise<void> {
    await Promise.all([...this.#open.values()].map((p) => p.body.flushed()));
  }

  /** Sealed bytes buffered in open packs. */
  get bufferedBytes(): number {
    let n = 0;
    for (const open of this.#open.values()) n += open.size;
    return n;
  }
}
