import type { EncryptionAlgorithm } from '../crypto/object-cipher';
import type { BlobId, JsonValue, EntryMetadata, Warning, BackupStats } from '@ebm/sdk';

/**
 * Current repository format version. A repository with a higher version is
 * refused (E_UNSUPPORTED_FORMAT); every lower one is read and written in its
 * own version. Version 2 seals every blob with its id as associated data
 * (BLOB_IDS_BOUND_SINCE); version 1 does not.
 */
export const REPOSITORY_FORMAT_VERSION = 2;

/** The first format version whose blobs are sealed with their id as associated data (docs/format.md, "Blobs"). */
export const BLOB_IDS_BOUND_SINCE = 2;

/** Secrets unwrapped from a key file. Never written anywhere in plaintext. */
export interface MasterKeys {
  /** Object key: AES-256-GCM key for every repository object (or their HMAC key with encryption 'none'). */
  readonly encryption: Buffer;
  /** HMAC-SHA-256 key for blob ids. */
  readonly id: Buffer;
  /** Key the chunker's gear table is derived from. */
  readonly chunker: Buffer;
}

/** The plaintext `config` file (authenticated with an HMAC under the id key, see docs/format.md). */
export interface RepositoryConfig {
  readonly format: 'ebm-repository';
  readonly version: number;
  /** Random 32-byte hex id of the repository. */
  readonly id: string;
  readonly created: string;
  readonly chunker: { readonly algorithm: 'fastcdc-gear32-v1'; readonly minSize: number; readonly avgSize: number; readonly maxSize: number; readonly normalization: number };
  readonly compression: { readonly algorithm: 'zstd'; readonly level: number };
  readonly encryption: { readonly algorithm: EncryptionAlgorithm };
  readonly packs: { readonly targetSize: number };
}

export interface SnapshotSummary extends BackupStats {
  /** Bytes the backup added to the repository (packed, compressed, encrypted). */
  readonly bytesAdded: number;
  readonly blobsAdded: number;
  readonly durationMs: number;
  readonly warnings: readonly Warning[];
  readonly warningsDropped: number;
  /**
   * For a dataset whose host keeps a change journal: whether this backup used
   * it (and how many paths it named) or why it scanned everything.
   */
  readonly changeJournal?: { readonly used: true; readonly paths: number } | { readonly used: false; readonly reason: string };
}

/** A snapshot file's content (encrypted JSON under snapshots/<sha256 of the file>). */
export interface Snapshot {
  readonly v: 1;
  readonly time: string;
  readonly host: string;
  readonly username: string;
  readonly dataset: string;
  readonly translator: { readonly id: string; readonly version: string };
  readonly source: string;
  readonly tags: readonly string[];
  /** Parent snapshot id (the one the incremental was taken against). */
  readonly parent?: string;
  /** Root tree blob id. */
  readonly tree: BlobId;
  /** Metadata of the snapshot root (e.g. the source directory's mode and times). */
  readonly root?: EntryMetadata;
  readonly summary: SnapshotSummary;
  /** Translator metadata. */
  readonly meta?: { readonly [key: string]: JsonValue };
}

/** A snapshot with its id (the sha256 of its file). */
export interface SnapshotRecord extends Snapshot {
  readonly id: string;
}
