import { decompressIncoming } from '../compression/payload-codec';
import { EbmError, computeBlobId } from '@ebm/sdk';
import type { BlobCodec, BlobKind } from '@ebm/sdk';
import type { BlobServer } from './blob-server';

/**
 * An in-memory BlobServer that verifies ids like the repository does. For
 * tests and the conformance harness; not for real backups.
 */
export class MemoryBlobServer implements BlobServer {
  readonly #idKey: Uint8Array;
  readonly #blobs = new Map<string, { kind: BlobKind; data: Uint8Array }>();

  constructor(idKey: Uint8Array) {
    this.#idKey = idKey;
  }

  get size(): number {
    return this.#blobs.size;
  }

  has(id: string): boolean {
    return this.#blobs.has(id);
  }

  async missing(ids: readonly string[]): Promise<string[]> {
    return ids.filter((id) => !this.#blobs.has(id));
  }

  async put(kind: BlobKind, id: string, data: Uint8Array, codec: BlobCodec = 0): Promise<void> {
    if (codec === 1) data = decompressIncoming(data, `blob ${id}`);
    const actual = computeBlobId(this.#idKey, data);
    if (actual !== id) throw new EbmError('E_CORRUPT_OBJECT', `blob ${id} sent by the plugin has id ${actual}; refusing to store it`, { subject: id });
    if (!this.#blobs.has(id)) this.#blobs.set(id, { kind, data: Uint8Array.from(data) });
  }

  async loadTree(id: string): Promise<Uint8Array> {
    return this.#load('tree', id);
  }

  async loadBlob(id: string): Promise<Uint8Array> {
    return this.#load('data', id);
  }

  #load(kind: BlobKind, id: string): Uint8Array {
    const blob = this.#blobs.get(id);
    if (blob === undefined || blob.kind !== kind) throw new EbmError('E_BLOB_NOT_FOUND', `${kind} blob ${id} is not stored`, { subject: id });
    return Uint8Array.from(blob.data);
  }
}
