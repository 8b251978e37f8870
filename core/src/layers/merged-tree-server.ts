import { EbmError } from '@ebm/sdk';
import type { BlobServer } from '../plugin-host/blob-server';

/**
 * Serves a restore from the repository plus trees computed on the host (a
 * flattened endpoint's merged view): those trees are never written to the
 * repository; every data blob still comes, verified, from `inner`.
 * Read-only like any restore's blob server.
 */
export class MergedTreeServer implements BlobServer {
  constructor(
    private readonly trees: ReadonlyMap<string, Buffer>,
    private readonly inner: BlobServer,
  ) {}

  missing(): Promise<string[]> {
    return Promise.reject(new EbmError('E_PROTOCOL', 'query-blobs is not allowed during a restore'));
  }

  put(): Promise<void> {
    return Promise.reject(new EbmError('E_PROTOCOL', 'put-blob is not allowed during a restore'));
  }

  async loadTree(id: string): Promise<Uint8Array> {
    return this.trees.get(id) ?? this.inner.loadTree(id);
  }

  loadBlob(id: string): Promise<Uint8Array> {
    return this.inner.loadBlob(id);
  }

  /** The inner server's, or a copy of what it loads (what it loads may be bytes it keeps). */
  async takeBlob(id: string, into?: (length: number) => Uint8Array | undefined): Promise<Uint8Array> {
    if (this.inner.takeBlob !== undefined) return this.inner.takeBlob(id, into);
    return Buffer.from(await this.inner.loadBlob(id));
  }
}
