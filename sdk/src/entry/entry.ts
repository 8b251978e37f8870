/**
 * The normalized entry model: the one storage format every translator writes.
 * A snapshot is a tree of these. Field names are part of the repository format
 * (docs/format.md, "Tree"); add optional fields freely, never rename or re-type.
 *
 * Times are nanoseconds since the Unix epoch as decimal strings (a JSON number
 * cannot hold them exactly). Binary values (xattr values) are base64.
 */
export type EntryKind =
  | 'dir'
  | 'file'
  | 'symlink'
  | 'hardlink'
  | 'fifo'
  | 'chardev'
  | 'blockdev'
  | 'socket'
  /** Reserved for translator-stream: content that arrived as a stream. */
  | 'stream'
  /** Reserved for block-mode files: fixed-size blocks with a block map. */
  | 'block-image'
  /** Reserved for layer providers: a deletion relative to the layers below. */
  | 'whiteout';

export const ENTRY_KINDS: readonly EntryKind[] = [
  'dir', 'file', 'symlink', 'hardlink', 'fifo', 'chardev', 'blockdev', 'socket', 'stream', 'block-image', 'whiteout',
];

/** A blob id: 64 lowercase hex characters (HMAC-SHA-256 of the plaintext under the repository's id key). */
export type BlobId = string;

/** JSON-compatible values for translator metadata. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface EntryMetadata {
  /** Permission and type bits as `lstat` reports them (st_mode & 0o7777 is enough for restore). */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly user?: string;
  readonly group?: string;
  /** Nanoseconds since the epoch, decimal string. */
  readonly mtimeNs?: string;
  readonly ctimeNs?: string;
  readonly atimeNs?: string;
  /** Inode number as a decimal string (for incremental change detection, not restored). */
  readonly inode?: string;
  /** Extended attributes, sorted by name; values base64. */
  readonly xattrs?: readonly Xattr[];
  /** Translator-specific data needed to restore (format, version, …). */
  readonly meta?: { readonly [key: string]: JsonValue };
}

export interface Xattr {
  readonly name: string;
  /** base64 */
  readonly value: string;
}

/** An entry as stored in a tree blob. `name` is one path component. */
export interface TreeEntry extends EntryMetadata {
  readonly name: string;
  readonly kind: EntryKind;
  /** Logical size in bytes (files, hardlinks, streams, block images). */
  readonly size?: number;
  /** Ordered content blobs (file, hardlink, stream). */
  readonly content?: readonly BlobId[];
  /** Subtree blob (dir). */
  readonly subtree?: BlobId;
  /** Symlink target, as stored on disk (may be relative or absolute). */
  readonly target?: string;
  /** Hardlink: snapshot-relative POSIX path of the first entry of the link group. */
  readonly linkTo?: string;
  /** Device number for chardev/blockdev. */
  readonly rdev?: number;
  /** Number of hard links the inode had (informational). */
  readonly links?: number;
  /** Dir: what the subtree holds, counted as a snapshot's summary counts (set by the SDK when it completes the directory). */
  readonly tally?: DirTally;
}

/**
 * Totals of everything below a directory (not the directory itself), in the
 * snapshot summary's terms: `files` are entries of kind 'file', `dirs`
 * directories, `others` every other kind, `bytes` the sizes of the files.
 * Stored with each directory entry so an unchanged subtree can be reused
 * whole (TreeWriter.reuseSubtree) and still be counted.
 */
export interface DirTally {
  readonly files: number;
  readonly dirs: number;
  readonly others: number;
  readonly bytes: number;
}

/** Serialised tree blob: entries sorted by name (byte order of UTF-8), no duplicates. */
export interface TreeDocument {
  readonly v: 1;
  readonly entries: readonly TreeEntry[];
}
