import type { BlobCodec, BlobKind } from '@ebm/sdk';

/**
 * The storage side a host session serves a plugin's requests from. The backup
 * service implements it over the repository; tests use MemoryBlobServer.
 *
 * Contract: a rejection should be an EbmError (any other error is reported to
 * the plugin as E_INTERNAL). `put` resolves only once the blob is accepted
 * (buffered or written): the host acknowledges the plugin after it resolves,
 * which is the backpressure of a backup. `put` must verify that `id` is the id
 * of `data` (never trust an id from a plugin) and may be called again for a
 * blob it already has.
 */
export interface BlobServer {
  /** The subset of `ids` the repository does not have (in any order). */
  missing(ids: readonly string[]): Promise<string[]>;
  put(kind: BlobKind, id: string, data: Uint8Array, codec?: BlobCodec): Promise<void>;
  /** Verified plaintext of a tree blob. */
  loadTree(id: string): Promise<Uint8Array>;
  /** Verified plaintext of a data blob. */
  loadBlob(id: string): Promise<Uint8Array>;
}
