import type { BlobKind } from '@ebm/sdk';
import { EbmError } from '@ebm/sdk';
import type { ObjectCipher } from '../crypto/object-cipher';
import { createHash } from 'node:crypto';
import { encodePackHeader, joinSealed, MAX_PACK_BYTES, PACK_TRAILER_BYTES, sealedHeaderSize, sealedLength } from './pack-format';
import type { PackBlob, SealedPieces } from './pack-format';

/** A complete pack file, ready to be saved under `data/<name>`. */
export interface FinishedPack {
  /** sha256 hex of the file (the concatenation of `parts`). */
  readonly name: string;
  /** The file's bytes in order: sealed blobs (a few pieces each), sealed header, trailer. Save these (Backend.save takes parts). */
  readonly parts: readonly Uint8Array[];
  readonly size: number;
  /** The whole file as one buffer; copies, so meant for tests and tools, not the backup path. */
  readonly data: Buffer;
  readonly blobs: readonly PackBlob[];
}

/** One pack being filled: sealed blobs kept as their pieces until finish. */
class OpenPack {
  readonly parts: Uint8Array[] = [];
  readonly blobs: PackBlob[] = [];
  /** id → its blob's index in `blobs` and its first piece in `parts`, for reading back a blob before its pack is saved. */
  readonly positions = new Map<string, { readonly blob: number; readonly firstPart: number; readonly parts: number }>();
  size = 0;

  add(kind: BlobKind, id: string, sealed: SealedPieces, rawLength: number): void {
    const length = sealedLength(sealed);
    this.positions.set(id, { blob: this.blobs.length, firstPart: this.parts.length, parts: sealed.length });
    for (const piece of sealed) this.parts.push(piece);
    this.blobs.push({ id, kind, offset: this.size, length, rawLength });
    this.size += length;
  }

  finish(cipher: ObjectCipher): FinishedPack {
    const header = cipher.seal([encodePackHeader(this.blobs)]);
    const trailer = Buffer.allocUnsafe(PACK_TRAILER_BYTES);
    trailer.writeUInt32LE(header.length, 0);
    const parts = [...this.parts, header, trailer];
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    const size = this.size + header.length + trailer.length;
    return {
      name: hash.digest('hex'),
      parts,
      size,
      get data() {
        return Buffer.concat(parts, size);
      },
      blobs: this.blobs,
    };
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

  constructor(cipher: ObjectCipher, targetSize: number) {
    if (!Number.isSafeInteger(targetSize) || targetSize < 1) throw new RangeError(`pack target size must be a positive integer, got ${targetSize}`);
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
      open = new OpenPack();
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

  /** A blob still in an open pack (sealed bytes, joined, and its header entry), or undefined. */
  blobInOpenPack(id: string): { readonly sealed: Buffer; readonly blob: PackBlob } | undefined {
    for (const open of this.#open.values()) {
      const at = open.positions.get(id);
      if (at !== undefined) return { sealed: joinSealed(open.parts.slice(at.firstPart, at.firstPart + at.parts)), blob: open.blobs[at.blob]! };
    }
    return undefined;
  }

  /** Drops every open pack without writing it. */
  discard(): void {
    this.#open.clear();
  }

  /** Sealed bytes buffered in open packs. */
  get bufferedBytes(): number {
    let n = 0;
    for (const open of this.#open.values()) n += open.size;
    return n;
  }
}
