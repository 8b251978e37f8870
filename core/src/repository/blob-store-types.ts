/** The options and results of BlobStore (blob-store.ts). */

import type { MasterIndex } from './master-index';

export interface BlobStoreOptions {
  /** Use an already loaded index instead of loading one. */
  readonly index?: MasterIndex;
  /** Write an index once this many finished packs are not yet indexed (default 64), so a long job's work survives a crash. */
  readonly flushEveryPacks?: number;
  /**
   * Also write one once the finished, unindexed packs hold this many blobs
   * (default INDEX_EVERY_BLOBS): many small files make packs of tens of
   * thousands of blobs, and one index of all of them at the end costs a large
   * burst of memory (the JSON of every entry at once).
   */
  readonly flushEveryBlobs?: number;
  /** Packs of one kind being saved at once before saveBlob waits (default 2). Bounds memory. */
  readonly maxPacksInFlightPerKind?: number;
  /** Bytes of verified tree plaintext kept in memory (default 8 MiB). */
  readonly treeCacheBytes?: number;
  /** zstd level for blobs this store compresses (default: the repository's); a backup request may override it. */
  readonly compressionLevel?: number;
  /**
   * Where packs wait until they are saved: by default in spool files, in the
   * backend's staging directory if it has one (a local repository's `data/`:
   * the pack is then written once, in place) or else in the system's
   * temporary directory (TMPDIR); a directory given here instead; or null to
   * keep them in memory. Spooling holds ~no memory per pack (SpooledPackBody).
   */
  readonly spoolDir?: string | null;
}

export interface BlobStoreStats {
  /** Blobs this session stored (not deduplicated). */
  readonly blobsAdded: number;
  /** Stored (compressed, encrypted) bytes of those blobs. */
  readonly bytesAdded: number;
  /** Pack files saved by this session. */
  readonly packsWritten: number;
}

export interface SaveBlobResult {
  /** False when the repository (or this session) already had the blob. */
  readonly stored: boolean;
  readonly storedBytes: number;
}

export interface FlushResult {
  /** The index file written (the last one, if the pending blobs needed several). */
  readonly indexId?: string;
  readonly indexIds: readonly string[];
  /** Packs the written index names. */
  readonly packs: readonly string[];
}
