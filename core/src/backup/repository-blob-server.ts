import { BlobCodec, BlobKind, EbmError } from '@ebm/sdk';
import type { BlobServer } from '../plugin-host/blob-server';
import type { BlobStore } from '../repository/blob-store';

/**
 * The storage side of the host↔plugin conversation, served from a BlobStore.
 * `writable` is false for restores: a restoring plugin that tries to store
 * blobs breaks the protocol.
 */
export class RepositoryBlobServer implements BlobServer {
  constructor(
    private readonly store: BlobStore,
    private readonly writable: boolean,
  ) {}

  async missing(ids: readonly string[]): Promise<string[]> {
    this.assertWritable('query-blobs');
    return ids.filter((id) => !this.store.has(id));
  }

  async put(kind: BlobKind, id: string, data: Uint8Array, codec: BlobCodec = 0): Promise<void> {
    this.assertWritable('put-blob');
    await this.store.saveBlob(kind, id, data, codec);
  }

  async loadTree(id: string): Promise<Uint8Array> {
    return this.store.loadBlob(id);
  }

  async loadBlob(id: string): Promise<Uint8Array> {
    return this.store.loadBlob(id);
  }

  async takeBlob(id: string, into?: (length: number) => Uint8Array | undefined): Promise<Uint8Array> {
    return this.store.takeBlob(id, into);
  }

  private assertWritable(what: string): void {
    if (!this.writable) throw new EbmError('E_PROTOCOL', `${what} is not allowed during a restore`);
  }
}
