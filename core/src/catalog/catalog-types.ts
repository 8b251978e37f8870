import type { EntryKind, ErrorCode, JsonValue } from '@ebm/sdk';

/** One entry of a snapshot as the catalog knows it (absent fields were absent in the tree). */
export interface CatalogEntry {
  /** Snapshot-relative POSIX path. */
  readonly path: string;
  readonly name: string;
  readonly kind: EntryKind;
  readonly size?: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly user?: string;
  readonly group?: string;
  /** Nanoseconds since the epoch, decimal string (as in the tree). */
  readonly mtimeNs?: string;
  /**
   * Content fingerprint: for entries with content, the sha256 (hex) of their
   * ordered content blob ids, so equal content ⇔ equal fingerprint within a
   * repository; for directories, the subtree blob id.
   */
  readonly fingerprint?: string;
  readonly target?: string;
  readonly linkTo?: string;
  readonly layer?: string;
  /** The code of a warning the snapshot recorded for this path (e.g. E_PERMISSION). */
  readonly errorCode?: ErrorCode;
}

/** A snapshot as the catalog records it. */
export interface CatalogSnapshot {
  readonly snapshotId: string;
  /** The repository's config id. */
  readonly repositoryId: string;
  readonly dataset: string;
  readonly host: string;
  readonly username: string;
  readonly time: string;
  readonly translator: string;
  readonly translatorVersion: string;
  readonly source: string;
  readonly tags: readonly string[];
  readonly parent?: string;
  /** Root tree blob id. */
  readonly tree: string;
  readonly summary: { readonly [key: string]: JsonValue };
}

/** One match of `find`. */
export interface FindHit {
  readonly snapshotId: string;
  readonly dataset: string;
  readonly host: string;
  readonly time: string;
  readonly path: string;
  readonly kind: EntryKind;
  readonly size?: number;
  readonly mtimeNs?: string;
  readonly fingerprint?: string;
}

export interface FindOptions {
  readonly dataset?: string;
  /** A full snapshot id or a unique prefix. */
  readonly snapshot?: string;
  readonly kind?: EntryKind;
  /** At most this many hits (default 1000). */
  readonly limit?: number;
  /** Only snapshots of this repository (config id). */
  readonly repositoryId?: string;
  /** How to search (see find.ts); 'auto' (default) picks by the number of matching names. Both give the same hits. */
  readonly strategy?: 'auto' | 'walk-up' | 'walk-down';
}

export interface CatalogStatus {
  readonly file: string;
  /** Bytes of the database file plus its WAL. */
  readonly sizeBytes: number;
  readonly repositories: number;
  readonly snapshots: number;
  readonly trees: number;
  readonly entries: number;
  readonly names: number;
}
