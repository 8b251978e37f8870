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
  /** Verified plaintext of a data blob (the server may keep and share these bytes). */
  loadBlob(id: string): Promise<Uint8Array>;
  /**
   * Optional: like loadBlob, but the caller owns the bytes outright (nothing
   * else refers to their ArrayBuffer), so the host session moves them to the
   * plugin's thread instead of copying them. A server that keeps what it
   * returns (a cache, a map of blobs) must not offer it.
   *
   * `into`, when given, is asked (synchronously, once the blob's length is
   * known) for an array of exactly that length; when it gives one, the
   * plaintext is written there and that array is returned (the host session
   * lends it to the worker from its restore ring). A server may ignore `into`.
   */
  takeBlob?(id: string, into?: (length: number) => Uint8Array | undefined): Promise<Uint8Array>;
}
