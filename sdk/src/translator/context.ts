import { BlobId, EntryMetadata, JsonValue, TreeEntry } from '../entry/entry';
import { ErrorCode } from '../errors/catalogue';
import { OptionValue } from '../manifest/manifest';

/** Cumulative counters a plugin reports; the host turns them into a progress display or JSON lines. */
export interface ProgressUpdate {
  readonly files?: number;
  readonly bytes?: number;
  /** Totals, when the plugin knows them (enables an ETA). */
  readonly totalFiles?: number;
  readonly totalBytes?: number;
  readonly currentPath?: string;
}

export interface ProgressReporter {
  /** Cheap to call often: the SDK throttles what it sends to the host. */
  update(progress: ProgressUpdate): void;
}

export interface Logger {
  debug(message: string, fields?: Record<string, JsonValue>): void;
  info(message: string, fields?: Record<string, JsonValue>): void;
  warn(message: string, fields?: Record<string, JsonValue>): void;
  error(message: string, fields?: Record<string, JsonValue>): void;
}

/** A problem with one item that does not fail the job; recorded in the snapshot summary. */
export interface Warning {
  readonly path: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** What every operation's context has. */
export interface OperationContext {
  /** The plugin's own options, validated against its manifest and frozen. */
  readonly options: Readonly<Record<string, OptionValue>>;
  /** Aborted when the job is cancelled; stop promptly and throw E_CANCELLED (see throwIfCancelled). */
  readonly signal: AbortSignal;
  readonly progress: ProgressReporter;
  readonly log: Logger;
  /** Records a per-item problem that does not fail the job. */
  warn(warning: Warning): void;
}

/** Stored content of one file: what `writeContent` returns and what a file entry records. */
export interface StoredContent {
  readonly size: number;
  readonly content: readonly BlobId[];
}

/**
 * Anything that yields bytes: a Node Readable, an async generator, an array of buffers.
 *
 * Buffers may be reused: the SDK copies whatever it keeps. An array's buffers
 * are consumed before `writeContent` returns its promise; a piece an iterator
 * yields is consumed before the SDK asks for the next one. So a translator may
 * read every small file into one scratch buffer, and a large file into two
 * buffers taken in turn (one being read while the other is chunked).
 */
export type ContentSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Builds the snapshot's tree. Paths are POSIX, relative to the snapshot root,
 * without leading './' or '/', e.g. 'etc/hosts'.
 *
 * Contract: entries are added depth-first, pre-order — a directory is added
 * before anything below it, and once an entry outside a directory is added,
 * that directory is complete and nothing more may be added below it. Order
 * among siblings is free (trees are sorted when stored). Calls to `add` must
 * not overlap (await each); `writeContent` calls may run concurrently.
 */
export interface TreeWriter {
  /**
   * Chunks, hashes and stores content; only chunks the repository lacks are
   * shipped. Returns the content reference to put in a file entry.
   */
  writeContent(source: ContentSource): Promise<StoredContent>;
  /** Adds one entry at `path`. For 'dir' entries, `subtree` is filled in by the SDK. */
  add(path: string, entry: Omit<TreeEntry, 'name' | 'subtree'>): Promise<void>;
  /** Metadata of the snapshot root itself (e.g. the source directory's mode and times). Optional. */
  setRoot(meta: EntryMetadata): void;
  /**
   * Adds a directory of the PARENT snapshot (an entry from `previous.list`
   * or `previous.lookup`) at `path` as it is, with its whole subtree, without
   * adding anything below it (the directory is complete at once). For
   * translators that know the directory is unchanged (a trusted change
   * journal). Resolves false — and adds nothing — when the entry cannot be
   * reused this way (a snapshot written before directories carried their
   * tally): add its children instead. Optional, as `previous.list`.
   */
  reuseSubtree?(path: string, entry: TreeEntry): Promise<boolean>;
}

/** Read-only view of the parent snapshot, for incrementals. Lookups load trees lazily and cache them. */
export interface PreviousSnapshot {
  readonly id: string;
  /**
   * The translator metadata the parent recorded (BackupOutcome.meta), e.g.
   * which options it was taken with; undefined when it recorded none or the
   * host predates this field.
   */
  readonly meta?: { readonly [key: string]: JsonValue };
  /** The parent's entry at `path`, or undefined. Cheap when called in depth-first order. */
  lookup(path: string): Promise<TreeEntry | undefined>;
  /**
   * The verified plaintext of a parent entry's content (as `RestoreContext.readContent`),
   * for translators that keep the state their next incremental needs (a page-hash
   * manifest, a log position map) as content of an entry rather than in `meta`.
   * Optional so a plugin can run on a host whose SDK predates it: without it,
   * fall back to a full read.
   */
  readContent?(entry: TreeEntry): AsyncIterable<Uint8Array>;
  /**
   * The parent's entries directly inside the directory at `path` ('' for the
   * root), or undefined when the parent has no directory there. For
   * translators that rebuild unchanged parts of the tree from the parent
   * without looking at the source (a trusted change journal). Optional, as
   * readContent.
   */
  list?(path: string): Promise<readonly TreeEntry[] | undefined>;
}

/**
 * Paths that may have changed since the parent snapshot, from a change
 * journal the host kept without a gap (see docs/runtime.md "Change
 * journals"). Everything not listed, and not below a listed path, is
 * unchanged since the parent was taken: a translator may reuse the parent's
 * entries for it without looking at the source.
 */
export interface ChangedPaths {
  /** The parent snapshot the list is relative to (equals previous.id). */
  readonly since: string;
  /** Snapshot-relative POSIX paths ('' is the root itself), in no particular order. */
  readonly paths: readonly string[];
}

export interface BackupContext extends OperationContext {
  /** What the operator named as the source (a path, a URL, a command — the translator decides). */
  readonly source: string;
  readonly tree: TreeWriter;
  /** The parent snapshot of this dataset, absent for a baseline (or with --full). */
  readonly previous?: PreviousSnapshot;
  /** Present only with `previous`, when the host kept a trusted change journal since the parent was taken. */
  readonly changes?: ChangedPaths;
}

/** One entry to restore, with its snapshot-relative path. */
export interface RestoreItem {
  readonly path: string;
  readonly entry: TreeEntry;
}

export interface SnapshotInfo {
  readonly id: string;
  readonly time: string;
  readonly source: string;
  readonly dataset: string;
  readonly meta?: { readonly [key: string]: JsonValue };
  readonly root?: EntryMetadata;
}

export interface RestoreContext extends OperationContext {
  /** Absolute target directory; the host has checked it is empty unless `overwrite`. */
  readonly target: string;
  readonly overwrite: boolean;
  readonly snapshot: SnapshotInfo;
  /**
   * The entries to restore, depth-first pre-order (a directory before its
   * children), already filtered by the operator's --include paths (ancestors
   * of an included path are yielded too). Names are validated: no entry path
   * contains '..', '.', '' or an absolute component.
   */
  entries(): AsyncIterable<RestoreItem>;
  /**
   * Only the directories `entries()` yields, in the same order, without
   * their other entries and without counting them in the task's result: for
   * a translator that creates the directory skeleton before any file. A file
   * system places a new file's inode near its directory's, and ext4 without
   * a journal then scans past every inode freed in the last minute for each
   * file created: a restore of 20k files after a large deletion measured
   * twice as fast with its 400 directories made first (what restic does);
   * elsewhere the order measured about neutral.
   * Walks the trees a second time (a tree load each, no content).
   * Optional: a host that predates it lacks it, so check it exists.
   */
  directories?(): AsyncIterable<RestoreItem>;
  /**
   * The verified plaintext of an entry's content (file, hardlink, stream), in
   * order. Each piece is yours to keep, unless you ask to borrow them.
   */
  readContent(entry: TreeEntry, options?: ReadContentOptions): AsyncIterable<Uint8Array>;
}

export interface ReadContentOptions {
  /**
   * Borrow the pieces instead of owning them: a piece is valid only until
   * you ask for the next one (or leave the loop); after that its bytes are
   * reused for other content. Use it when each piece is written out before
   * the next is needed (a synchronous write, an awaited write that has
   * completed), and copy anything you keep. In exchange the host hands you
   * its shared memory: no buffer per piece to allocate and collect in your
   * thread, which is most of a large restore's memory. The SDK's test host
   * overwrites a piece once it is given back, so a plugin that keeps one
   * fails its tests. Default false.
   */
  readonly borrow?: boolean;
}

/**
 * Context of a discovery: a read-only look at a source that stores nothing
 * (tables and sizes of a database, the layers of an endpoint). Honour
 * `signal` as in a backup.
 */
export interface DiscoverContext extends OperationContext {
  /** The source as the operator named it (as BackupContext.source). */
  readonly source: string;
}

/**
 * What a discovery returns: a plain JSON object the host prints (`ebm
 * discover`), records in the catalog and hands to whoever asked. Its shape is
 * the plugin's (layer providers return a LayerReport); it must survive
 * JSON serialisation.
 */
export interface DiscoveryReport {
  readonly [key: string]: JsonValue;
}

/** What a translator's backup returns; the SDK adds the root tree and statistics. */
export interface BackupOutcome {
  /** Translator metadata recorded in the snapshot (format, versions, stream info…). */
  readonly meta?: { readonly [key: string]: JsonValue };
}

export interface RestoreOutcome {
  readonly meta?: { readonly [key: string]: JsonValue };
}
